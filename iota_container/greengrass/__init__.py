"""Run an analysis image on AWS IoT Greengrass core devices, next to the data.

    identity.py       component names, strict semantic versions, npm-style version ranges
    lifecycle.py      the lifecycle scripts: params file from the configuration, docker run
    recipe.py         RecipeSpec (checked when made), build_recipe, dump_recipe (JSON/YAML)
    policy.py         the device role's IAM statements for a recipe
    recipe_schema.py  the Greengrass Development Kit's recipe schema (Apache-2.0)
    documents.py      reading recipe files (JSON, YAML as common loaders read it)
    rules.py          the device's rules beyond the schema
    validate.py       schema + rules, one Problem per finding
    publish.py        CreateComponentVersion, and a deployment that keeps other components
    local_deploy.py   the folders `greengrass-cli deployment create` reads
    image_archive.py  images shipped through S3: docker save, upload
    compose.py        Greengrass v1: compose file and Docker application deployment connector

Nothing here imports boto3, docker, jsonschema or yaml at module level.
"""
