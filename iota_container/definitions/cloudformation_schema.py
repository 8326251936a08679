"""The CloudFormation resource schema of `AWS::IoTAnalytics::Dataset` (JSON Schema).

From the cfn-lint 1.20.0 wheel (`cfnlint/data/schemas/providers/us_east_1/
aws-iotanalytics-dataset.json`), licensed under the MIT No Attribution license. Written as
a Python literal, unchanged, so that it ships inside this package. Where it differs from
the API model (service_model.py), templates follow it: `DatasetName` is optional (the
stack generates one), tag keys are at most 128 characters, `NumberOfDays` at most
2147483647. A test checks it against cfn-lint's file.
"""

from __future__ import annotations

from typing import Any

DATASET_RESOURCE_SCHEMA: dict[str, Any] = {
    "additionalProperties": False,
    "createOnlyProperties": ["/properties/DatasetName"],
    "definitions": {
        "Action": {
            "additionalProperties": False,
            "properties": {
                "ActionName": {
                    "maxLength": 128,
                    "minLength": 1,
                    "pattern": "^[a-zA-Z0-9_]+$",
                    "type": "string",
                },
                "ContainerAction": {"$ref": "#/definitions/ContainerAction"},
                "QueryAction": {"$ref": "#/definitions/QueryAction"},
            },
            "required": ["ActionName"],
            "type": "object",
        },
        "ContainerAction": {
            "additionalProperties": False,
            "properties": {
                "ExecutionRoleArn": {"maxLength": 2048, "minLength": 20, "type": "string"},
                "Image": {"maxLength": 255, "type": "string"},
                "ResourceConfiguration": {"$ref": "#/definitions/ResourceConfiguration"},
                "Variables": {
                    "insertionOrder": False,
                    "items": {"$ref": "#/definitions/Variable"},
                    "maxItems": 50,
                    "minItems": 0,
                    "type": "array",
                    "uniqueItems": False,
                },
            },
            "required": ["ExecutionRoleArn", "Image", "ResourceConfiguration"],
            "type": "object",
        },
        "DatasetContentDeliveryRule": {
            "additionalProperties": False,
            "properties": {
                "Destination": {"$ref": "#/definitions/DatasetContentDeliveryRuleDestination"},
                "EntryName": {"type": "string"},
            },
            "required": ["Destination"],
            "type": "object",
        },
        "DatasetContentDeliveryRuleDestination": {
            "additionalProperties": False,
            "properties": {
                "IotEventsDestinationConfiguration": {
                    "$ref": "#/definitions/IotEventsDestinationConfiguration"
                },
                "S3DestinationConfiguration": {"$ref": "#/definitions/S3DestinationConfiguration"},
            },
            "type": "object",
        },
        "DatasetContentVersionValue": {
            "additionalProperties": False,
            "properties": {
                "DatasetName": {
                    "maxLength": 128,
                    "minLength": 1,
                    "pattern": "(^(?!_{2}))(^[a-zA-Z0-9_]+$)",
                    "type": "string",
                }
            },
            "required": ["DatasetName"],
            "type": "object",
        },
        "DeltaTime": {
            "additionalProperties": False,
            "properties": {
                "OffsetSeconds": {"type": "integer"},
                "TimeExpression": {"type": "string"},
            },
            "required": ["TimeExpression", "OffsetSeconds"],
            "type": "object",
        },
        "DeltaTimeSessionWindowConfiguration": {
            "additionalProperties": False,
            "properties": {"TimeoutInMinutes": {"maximum": 60, "minimum": 1, "type": "integer"}},
            "required": ["TimeoutInMinutes"],
            "type": "object",
        },
        "Filter": {
            "additionalProperties": False,
            "properties": {"DeltaTime": {"$ref": "#/definitions/DeltaTime"}},
            "type": "object",
        },
        "GlueConfiguration": {
            "additionalProperties": False,
            "properties": {
                "DatabaseName": {"maxLength": 150, "minLength": 1, "type": "string"},
                "TableName": {"maxLength": 150, "minLength": 1, "type": "string"},
            },
            "required": ["TableName", "DatabaseName"],
            "type": "object",
        },
        "IotEventsDestinationConfiguration": {
            "additionalProperties": False,
            "properties": {
                "InputName": {
                    "maxLength": 128,
                    "minLength": 1,
                    "pattern": "^[a-zA-Z][a-zA-Z0-9_]*$",
                    "type": "string",
                },
                "RoleArn": {"maxLength": 2048, "minLength": 20, "type": "string"},
            },
            "required": ["InputName", "RoleArn"],
            "type": "object",
        },
        "LateDataRule": {
            "additionalProperties": False,
            "properties": {
                "RuleConfiguration": {"$ref": "#/definitions/LateDataRuleConfiguration"},
                "RuleName": {
                    "maxLength": 128,
                    "minLength": 1,
                    "pattern": "^[a-zA-Z0-9_]+$",
                    "type": "string",
                },
            },
            "required": ["RuleConfiguration"],
            "type": "object",
        },
        "LateDataRuleConfiguration": {
            "additionalProperties": False,
            "properties": {
                "DeltaTimeSessionWindowConfiguration": {
                    "$ref": "#/definitions/DeltaTimeSessionWindowConfiguration"
                }
            },
            "type": "object",
        },
        "OutputFileUriValue": {
            "additionalProperties": False,
            "properties": {"FileName": {"pattern": "^[\\w\\.-]{1,255}$", "type": "string"}},
            "required": ["FileName"],
            "type": "object",
        },
        "QueryAction": {
            "additionalProperties": False,
            "properties": {
                "Filters": {
                    "insertionOrder": False,
                    "items": {"$ref": "#/definitions/Filter"},
                    "maxItems": 1,
                    "minItems": 0,
                    "type": "array",
                    "uniqueItems": False,
                },
                "SqlQuery": {"type": "string"},
            },
            "required": ["SqlQuery"],
            "type": "object",
        },
        "ResourceConfiguration": {
            "additionalProperties": False,
            "properties": {
                "ComputeType": {"enum": ["ACU_1", "ACU_2"], "type": "string"},
                "VolumeSizeInGB": {"maximum": 50, "minimum": 1, "type": "integer"},
            },
            "required": ["VolumeSizeInGB", "ComputeType"],
            "type": "object",
        },
        "RetentionPeriod": {
            "additionalProperties": False,
            "properties": {
                "NumberOfDays": {"maximum": 2147483647, "minimum": 1, "type": "integer"},
                "Unlimited": {"type": "boolean"},
            },
            "type": "object",
        },
        "S3DestinationConfiguration": {
            "additionalProperties": False,
            "properties": {
                "Bucket": {
                    "maxLength": 255,
                    "minLength": 3,
                    "pattern": "^[a-zA-Z0-9.\\-_]*$",
                    "type": "string",
                },
                "GlueConfiguration": {"$ref": "#/definitions/GlueConfiguration"},
                "Key": {
                    "maxLength": 255,
                    "minLength": 1,
                    "pattern": "^[a-zA-Z0-9!_.*'()/{}:-]*$",
                    "type": "string",
                },
                "RoleArn": {"maxLength": 2048, "minLength": 20, "type": "string"},
            },
            "required": ["Bucket", "Key", "RoleArn"],
            "type": "object",
        },
        "Schedule": {
            "additionalProperties": False,
            "properties": {"ScheduleExpression": {"type": "string"}},
            "required": ["ScheduleExpression"],
            "type": "object",
        },
        "Tag": {
            "additionalProperties": False,
            "properties": {
                "Key": {"maxLength": 128, "minLength": 1, "type": "string"},
                "Value": {"maxLength": 256, "minLength": 1, "type": "string"},
            },
            "required": ["Value", "Key"],
            "type": "object",
        },
        "Trigger": {
            "additionalProperties": False,
            "properties": {
                "Schedule": {"$ref": "#/definitions/Schedule"},
                "TriggeringDataset": {"$ref": "#/definitions/TriggeringDataset"},
            },
            "type": "object",
        },
        "TriggeringDataset": {
            "additionalProperties": False,
            "properties": {
                "DatasetName": {
                    "maxLength": 128,
                    "minLength": 1,
                    "pattern": "(^(?!_{2}))(^[a-zA-Z0-9_]+$)",
                    "type": "string",
                }
            },
            "required": ["DatasetName"],
            "type": "object",
        },
        "Variable": {
            "additionalProperties": False,
            "properties": {
                "DatasetContentVersionValue": {"$ref": "#/definitions/DatasetContentVersionValue"},
                "DoubleValue": {"type": "number"},
                "OutputFileUriValue": {"$ref": "#/definitions/OutputFileUriValue"},
                "StringValue": {"maxLength": 1024, "minLength": 0, "type": "string"},
                "VariableName": {"maxLength": 256, "minLength": 1, "type": "string"},
            },
            "required": ["VariableName"],
            "type": "object",
        },
        "VersioningConfiguration": {
            "additionalProperties": False,
            "properties": {
                "MaxVersions": {"maximum": 1000, "minimum": 1, "type": "integer"},
                "Unlimited": {"type": "boolean"},
            },
            "type": "object",
        },
    },
    "primaryIdentifier": ["/properties/DatasetName"],
    "properties": {
        "Actions": {
            "insertionOrder": False,
            "items": {"$ref": "#/definitions/Action"},
            "maxItems": 1,
            "minItems": 1,
            "type": "array",
            "uniqueItems": False,
        },
        "ContentDeliveryRules": {
            "insertionOrder": False,
            "items": {"$ref": "#/definitions/DatasetContentDeliveryRule"},
            "maxItems": 20,
            "minItems": 0,
            "type": "array",
            "uniqueItems": False,
        },
        "DatasetName": {
            "maxLength": 128,
            "minLength": 1,
            "pattern": "(^(?!_{2}))(^[a-zA-Z0-9_]+$)",
            "type": "string",
        },
        "Id": {"type": "string"},
        "LateDataRules": {
            "insertionOrder": False,
            "items": {"$ref": "#/definitions/LateDataRule"},
            "maxItems": 1,
            "minItems": 1,
            "type": "array",
            "uniqueItems": False,
        },
        "RetentionPeriod": {"$ref": "#/definitions/RetentionPeriod"},
        "Tags": {
            "insertionOrder": False,
            "items": {"$ref": "#/definitions/Tag"},
            "maxItems": 50,
            "minItems": 1,
            "type": "array",
            "uniqueItems": False,
        },
        "Triggers": {
            "insertionOrder": False,
            "items": {"$ref": "#/definitions/Trigger"},
            "maxItems": 5,
            "minItems": 0,
            "type": "array",
            "uniqueItems": False,
        },
        "VersioningConfiguration": {"$ref": "#/definitions/VersioningConfiguration"},
    },
    "readOnlyProperties": ["/properties/Id"],
    "required": ["Actions"],
    "taggable": True,
    "typeName": "AWS::IoTAnalytics::Dataset",
}
