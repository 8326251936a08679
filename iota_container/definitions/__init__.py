"""Dataset definitions: the CreateDataset request's shape (or CloudFormation's), read,
checked and written.

  model.py          the typed, immutable model; load (JSON/YAML) and export
  schema.py         the field table behind loading, export and problem paths
  documents.py      JSON and YAML text, read without YAML 1.1's type guessing
  strict_yaml.py    the YAML reader (PyYAML is imported only when a YAML file is read)
  problems.py       Problem (one finding a line), DefinitionError, a document's syntax and
                    limit problems
  validate.py       the documented CreateDataset limits; validate_files / validate_definitions
  rules.py          the findings of one definition, the generic checks behind the rules,
                    the trigger rules (the service's messages) and the rules across them
  model_rules.py    limits read from the service model (service_model.py: the model itself)
  cloudformation.py, cloudformation_schema.py   templates: resources, what resolves
  new.py            `dataset new`: a definition written and registered
  from_image.py     containerAction.variables from an image's variables

Schedules (cron()/rate()) are `iota_container.schedule`; running definitions is
`iota_container.engine`.
"""
