"""The CreateDataset request of the AWS IoT Analytics API, as the service defined it.

The shapes reachable from `CreateDatasetRequest` in botocore's model of the service
(`botocore/data/iotanalytics/2017-11-27/service-2.json`, botocore 1.42.50, the last release
that ships it), Copyright Amazon.com, Inc. or its affiliates, licensed under the Apache
License, Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0); botocore's NOTICE:
"Botocore / Copyright 2012-2022 Amazon.com, Inc. or its affiliates. All Rights Reserved."
Changes: only the shapes CreateDataset uses are kept, their `documentation` is removed, and
the document is written as a Python literal, so that it ships inside this package (botocore
no longer does); every other key is unchanged. A test checks it against the model.
"""

from __future__ import annotations

from typing import Any

API_VERSION = "2017-11-27"
CREATE_DATASET_REQUEST = "CreateDatasetRequest"

SHAPES: dict[str, dict[str, Any]] = {
    "BucketKeyExpression": {
        "type": "string",
        "max": 255,
        "min": 1,
        "pattern": "^[a-zA-Z0-9!_.*'()/{}:-]*$",
    },
    "BucketName": {"type": "string", "max": 255, "min": 3, "pattern": "^[a-zA-Z0-9.\\-_]*$"},
    "ComputeType": {"type": "string", "enum": ["ACU_1", "ACU_2"]},
    "ContainerDatasetAction": {
        "type": "structure",
        "required": ["image", "executionRoleArn", "resourceConfiguration"],
        "members": {
            "image": {"shape": "Image"},
            "executionRoleArn": {"shape": "RoleArn"},
            "resourceConfiguration": {"shape": "ResourceConfiguration"},
            "variables": {"shape": "Variables"},
        },
    },
    "CreateDatasetRequest": {
        "type": "structure",
        "required": ["datasetName", "actions"],
        "members": {
            "datasetName": {"shape": "DatasetName"},
            "actions": {"shape": "DatasetActions"},
            "triggers": {"shape": "DatasetTriggers"},
            "contentDeliveryRules": {"shape": "DatasetContentDeliveryRules"},
            "retentionPeriod": {"shape": "RetentionPeriod"},
            "versioningConfiguration": {"shape": "VersioningConfiguration"},
            "tags": {"shape": "TagList"},
            "lateDataRules": {"shape": "LateDataRules"},
        },
    },
    "DatasetAction": {
        "type": "structure",
        "members": {
            "actionName": {"shape": "DatasetActionName"},
            "queryAction": {"shape": "SqlQueryDatasetAction"},
            "containerAction": {"shape": "ContainerDatasetAction"},
        },
    },
    "DatasetActionName": {"type": "string", "max": 128, "min": 1, "pattern": "^[a-zA-Z0-9_]+$"},
    "DatasetActions": {"type": "list", "member": {"shape": "DatasetAction"}, "max": 1, "min": 1},
    "DatasetContentDeliveryDestination": {
        "type": "structure",
        "members": {
            "iotEventsDestinationConfiguration": {"shape": "IotEventsDestinationConfiguration"},
            "s3DestinationConfiguration": {"shape": "S3DestinationConfiguration"},
        },
    },
    "DatasetContentDeliveryRule": {
        "type": "structure",
        "required": ["destination"],
        "members": {
            "entryName": {"shape": "EntryName"},
            "destination": {"shape": "DatasetContentDeliveryDestination"},
        },
    },
    "DatasetContentDeliveryRules": {
        "type": "list",
        "member": {"shape": "DatasetContentDeliveryRule"},
        "max": 20,
        "min": 0,
    },
    "DatasetContentVersionValue": {
        "type": "structure",
        "required": ["datasetName"],
        "members": {"datasetName": {"shape": "DatasetName"}},
    },
    "DatasetName": {
        "type": "string",
        "max": 128,
        "min": 1,
        "pattern": "(^(?!_{2}))(^[a-zA-Z0-9_]+$)",
    },
    "DatasetTrigger": {
        "type": "structure",
        "members": {"schedule": {"shape": "Schedule"}, "dataset": {"shape": "TriggeringDataset"}},
    },
    "DatasetTriggers": {"type": "list", "member": {"shape": "DatasetTrigger"}, "max": 5, "min": 0},
    "DeltaTime": {
        "type": "structure",
        "required": ["offsetSeconds", "timeExpression"],
        "members": {
            "offsetSeconds": {"shape": "OffsetSeconds"},
            "timeExpression": {"shape": "TimeExpression"},
        },
    },
    "DeltaTimeSessionWindowConfiguration": {
        "type": "structure",
        "required": ["timeoutInMinutes"],
        "members": {"timeoutInMinutes": {"shape": "SessionTimeoutInMinutes"}},
    },
    "DoubleValue": {"type": "double"},
    "EntryName": {"type": "string"},
    "GlueConfiguration": {
        "type": "structure",
        "required": ["tableName", "databaseName"],
        "members": {
            "tableName": {"shape": "GlueTableName"},
            "databaseName": {"shape": "GlueDatabaseName"},
        },
    },
    "GlueDatabaseName": {
        "type": "string",
        "max": 150,
        "min": 1,
        "pattern": "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*",
    },
    "GlueTableName": {
        "type": "string",
        "max": 150,
        "min": 1,
        "pattern": "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*",
    },
    "Image": {"type": "string", "max": 255},
    "IotEventsDestinationConfiguration": {
        "type": "structure",
        "required": ["inputName", "roleArn"],
        "members": {"inputName": {"shape": "IotEventsInputName"}, "roleArn": {"shape": "RoleArn"}},
    },
    "IotEventsInputName": {
        "type": "string",
        "max": 128,
        "min": 1,
        "pattern": "^[a-zA-Z][a-zA-Z0-9_]*$",
    },
    "LateDataRule": {
        "type": "structure",
        "required": ["ruleConfiguration"],
        "members": {
            "ruleName": {"shape": "LateDataRuleName"},
            "ruleConfiguration": {"shape": "LateDataRuleConfiguration"},
        },
    },
    "LateDataRuleConfiguration": {
        "type": "structure",
        "members": {
            "deltaTimeSessionWindowConfiguration": {"shape": "DeltaTimeSessionWindowConfiguration"}
        },
    },
    "LateDataRuleName": {"type": "string", "max": 128, "min": 1, "pattern": "^[a-zA-Z0-9_]+$"},
    "LateDataRules": {"type": "list", "member": {"shape": "LateDataRule"}, "max": 1, "min": 1},
    "MaxVersions": {"type": "integer", "max": 1000, "min": 1},
    "OffsetSeconds": {"type": "integer"},
    "OutputFileName": {"type": "string", "pattern": "[\\w\\.-]{1,255}"},
    "OutputFileUriValue": {
        "type": "structure",
        "required": ["fileName"],
        "members": {"fileName": {"shape": "OutputFileName"}},
    },
    "QueryFilter": {"type": "structure", "members": {"deltaTime": {"shape": "DeltaTime"}}},
    "QueryFilters": {"type": "list", "member": {"shape": "QueryFilter"}, "max": 1, "min": 0},
    "ResourceConfiguration": {
        "type": "structure",
        "required": ["computeType", "volumeSizeInGB"],
        "members": {
            "computeType": {"shape": "ComputeType"},
            "volumeSizeInGB": {"shape": "VolumeSizeInGB"},
        },
    },
    "RetentionPeriod": {
        "type": "structure",
        "members": {
            "unlimited": {"shape": "UnlimitedRetentionPeriod"},
            "numberOfDays": {"shape": "RetentionPeriodInDays"},
        },
    },
    "RetentionPeriodInDays": {"type": "integer", "min": 1},
    "RoleArn": {"type": "string", "max": 2048, "min": 20},
    "S3DestinationConfiguration": {
        "type": "structure",
        "required": ["bucket", "key", "roleArn"],
        "members": {
            "bucket": {"shape": "BucketName"},
            "key": {"shape": "BucketKeyExpression"},
            "glueConfiguration": {"shape": "GlueConfiguration"},
            "roleArn": {"shape": "RoleArn"},
        },
    },
    "Schedule": {"type": "structure", "members": {"expression": {"shape": "ScheduleExpression"}}},
    "ScheduleExpression": {"type": "string"},
    "SessionTimeoutInMinutes": {"type": "integer", "max": 60, "min": 1},
    "SqlQuery": {"type": "string"},
    "SqlQueryDatasetAction": {
        "type": "structure",
        "required": ["sqlQuery"],
        "members": {"sqlQuery": {"shape": "SqlQuery"}, "filters": {"shape": "QueryFilters"}},
    },
    "StringValue": {"type": "string", "max": 1024, "min": 0},
    "Tag": {
        "type": "structure",
        "required": ["key", "value"],
        "members": {"key": {"shape": "TagKey"}, "value": {"shape": "TagValue"}},
    },
    "TagKey": {"type": "string", "max": 256, "min": 1},
    "TagList": {"type": "list", "member": {"shape": "Tag"}, "max": 50, "min": 1},
    "TagValue": {"type": "string", "max": 256, "min": 1},
    "TimeExpression": {"type": "string"},
    "TriggeringDataset": {
        "type": "structure",
        "required": ["name"],
        "members": {"name": {"shape": "DatasetName"}},
    },
    "UnlimitedRetentionPeriod": {"type": "boolean"},
    "UnlimitedVersioning": {"type": "boolean"},
    "Variable": {
        "type": "structure",
        "required": ["name"],
        "members": {
            "name": {"shape": "VariableName"},
            "stringValue": {"shape": "StringValue"},
            "doubleValue": {"shape": "DoubleValue", "box": True},
            "datasetContentVersionValue": {"shape": "DatasetContentVersionValue"},
            "outputFileUriValue": {"shape": "OutputFileUriValue"},
        },
    },
    "VariableName": {"type": "string", "max": 256, "min": 1},
    "Variables": {"type": "list", "member": {"shape": "Variable"}, "max": 50, "min": 0},
    "VersioningConfiguration": {
        "type": "structure",
        "members": {
            "unlimited": {"shape": "UnlimitedVersioning"},
            "maxVersions": {"shape": "MaxVersions"},
        },
    },
    "VolumeSizeInGB": {"type": "integer", "max": 50, "min": 1},
}
