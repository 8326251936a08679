"""The Greengrass Development Kit's component recipe schema (JSON Schema draft-07).

Copied from aws-greengrass/aws-greengrass-gdk-cli, tag v1.6.2, gdk/static/recipe_schema.json,
Copyright Amazon.com, Inc. or its affiliates, licensed under the Apache License, Version 2.0
(http://www.apache.org/licenses/LICENSE-2.0). Changes: the annotation keywords (title,
description, default, examples) are removed and the document is written as a Python literal,
so that it ships inside this package; every validation keyword is unchanged.

The GDK lowercases every key of a recipe before it validates it against this schema.
"""

from __future__ import annotations

from typing import Any

RECIPE_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema",
    "type": "object",
    "required": ["recipeformatversion", "componentname", "componentversion", "manifests"],
    "additionalProperties": False,
    "definitions": {
        "permissions": {"type": "string", "pattern": "(?i)^(NONE|OWNER|ALL)$"},
        "lifecycle": {
            "type": "object",
            "properties": {
                "setenv": {"$ref": "#/definitions/setenv"},
                "bootstrap": {"$ref": "#/definitions/lifecycleElement"},
                "install": {"$ref": "#/definitions/lifecycleElement"},
                "startup": {"$ref": "#/definitions/lifecycleElement"},
                "run": {"$ref": "#/definitions/lifecycleElement"},
                "shutdown": {"$ref": "#/definitions/lifecycleElement"},
                "recover": {"$ref": "#/definitions/lifecycleElement"},
            },
        },
        "baseLifecycle": {
            "type": "object",
            "properties": {
                "setenv": {"$ref": "#/definitions/setenv"},
                "bootstrap": {"$ref": "#/definitions/baseLifecycleElement"},
                "install": {"$ref": "#/definitions/baseLifecycleElement"},
                "startup": {"$ref": "#/definitions/baseLifecycleElement"},
                "run": {"$ref": "#/definitions/baseLifecycleElement"},
                "shutdown": {"$ref": "#/definitions/baseLifecycleElement"},
                "recover": {"$ref": "#/definitions/baseLifecycleElement"},
            },
        },
        "globalLifecycle": {
            "type": "object",
            "properties": {
                "setenv": {"$ref": "#/definitions/setenv"},
                "bootstrap": {"$ref": "#/definitions/globalLifecycleElement"},
                "install": {"$ref": "#/definitions/globalLifecycleElement"},
                "startup": {"$ref": "#/definitions/globalLifecycleElement"},
                "run": {"$ref": "#/definitions/globalLifecycleElement"},
                "shutdown": {"$ref": "#/definitions/globalLifecycleElement"},
                "recover": {"$ref": "#/definitions/globalLifecycleElement"},
            },
        },
        "globalLifecycleElement": {
            "$ref": "#/definitions/lifecycleElement",
            "properties": {"script": {"$ref": "#/definitions/selections"}},
        },
        "lifecycleElement": {
            "anyOf": [
                {
                    "allOf": [
                        {"$ref": "#/definitions/baseLifecycleElement"},
                        {"required": ["script"]},
                    ]
                },
                {"type": "string"},
            ]
        },
        "baseLifecycleElement": {
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {
                        "skipif": {"type": "string", "pattern": "(onpath|exists)\\s+.*"},
                        "script": {"type": "string"},
                        "requiresprivilege": {"oneOf": [{"type": "boolean"}, {"type": "string"}]},
                        "setenv": {"$ref": "#/definitions/setenv"},
                        "timeout": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                    },
                },
            ]
        },
        "setenv": {
            "oneOf": [
                {
                    "type": "object",
                    "additionalProperties": {
                        "anyof": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}]
                    },
                },
                {"type": "string"},
            ]
        },
        "selections": {
            "oneOf": [
                {
                    "type": "array",
                    "items": {"anyOf": [{"type": "string", "const": "all"}, {"type": "string"}]},
                },
                {"type": "string"},
            ]
        },
        "topLevelSelections": {
            "properties": {"all": {"$ref": "#/definitions/lifecycle"}},
            "patternProperties": {".*": {"$ref": "#/definitions/lifecycle"}},
        },
        "multiLevelSelections": {
            "properties": {"all": {"$ref": "#/definitions/globalLifecycle"}},
            "patternProperties": {".*": {"$ref": "#/definitions/globalLifecycle"}},
        },
    },
    "properties": {
        "recipeformatversion": {
            "$id": "#/properties/RecipeFormatVersion",
            "type": "string",
            "enum": ["2020-01-25"],
        },
        "componentname": {
            "$id": "#/properties/ComponentName",
            "type": "string",
            "pattern": "^[a-zA-Z0-9-_.]+$",
            "maxLength": 128,
        },
        "componentdescription": {"$id": "#/properties/ComponentDescription", "type": "string"},
        "componentpublisher": {"$id": "#/properties/ComponentPublisher", "type": "string"},
        "componentversion": {
            "$id": "#/properties/ComponentVersion",
            "type": "string",
            "maxLength": 64,
        },
        "componentconfiguration": {
            "$id": "#/properties/ComponentConfiguration",
            "type": "object",
            "properties": {"defaultconfiguration": {}},
        },
        "componenttype": {
            "$id": "#/properties/ComponentType",
            "type": "string",
            "pattern": "(?i)^(aws\\.greengrass\\.(nucleus|generic|plugin|lambda))$",
        },
        "componentsource": {
            "$id": "#/properties/ComponentSource",
            "type": "string",
            "pattern": "^arn:aws(-(cn|us-gov|iso(-[a-z])?))?:lambda:.*$",
        },
        "componentdependencies": {
            "$id": "#/properties/ComponentDependencies",
            "type": "object",
            "patternProperties": {
                "^[a-zA-Z0-9-_.]+$": {
                    "type": "object",
                    "required": ["versionrequirement"],
                    "properties": {
                        "versionrequirement": {"type": "string"},
                        "dependencytype": {"type": "string", "pattern": "(?i)^(SOFT|HARD)$"},
                    },
                    "additionalProperties": True,
                }
            },
        },
        "manifests": {
            "$id": "#/properties/Manifests",
            "type": "array",
            "items": {
                "$id": "#/properties/Manifests/items",
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "platform": {
                        "type": "object",
                        "properties": {
                            "os": {"type": "string"},
                            "architecture": {"type": "string"},
                        },
                        "patternProperties": {".*": {"type": "string"}},
                    },
                    "lifecycle": {"$ref": "#/definitions/baseLifecycle"},
                    "selections": {"$ref": "#/definitions/selections"},
                    "artifacts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["uri"],
                            "properties": {
                                "uri": {"type": "string"},
                                "unarchive": {"type": "string", "pattern": "(?i)^(ZIP|NONE)$"},
                                "permission": {
                                    "type": "object",
                                    "properties": {
                                        "read": {"$ref": "#/definitions/permissions"},
                                        "execute": {"$ref": "#/definitions/permissions"},
                                    },
                                },
                                "digest": {"type": "string", "readOnly": True},
                                "algorithm": {"type": "string", "readOnly": True},
                            },
                        },
                    },
                },
            },
        },
        "lifecycle": {
            "anyOf": [
                {"$ref": "#/definitions/topLevelSelections"},
                {"$ref": "#/definitions/globalLifecycle"},
                {"$ref": "#/definitions/multiLevelSelections"},
            ]
        },
    },
    "if": {"not": {"properties": {"componenttype": {"const": "aws.greengrass.plugin"}}}},
    "then": {
        "properties": {
            "manifests": {
                "items": {"properties": {"lifecycle": {"$ref": "#/definitions/lifecycle"}}}
            }
        }
    },
}
