"""The CreateDatastore request of the AWS IoT Analytics API, as the service defined it,
and the checks its shapes make on a data store definition.

The shapes reachable from `CreateDatastoreRequest` in botocore's model of the service
(`botocore/data/iotanalytics/2017-11-27/service-2.json`, botocore 1.42.50, the last release
that ships it), Copyright Amazon.com, Inc. or its affiliates, licensed under the Apache
License, Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0); botocore's NOTICE:
"Botocore / Copyright 2012-2022 Amazon.com, Inc. or its affiliates. All Rights Reserved."
Changes: only these shapes are kept, without their `documentation`, written as a Python
literal so that they ship inside this package (those CreateDataset shares, once). A test
checks them against the model.

A template's resource is checked against the same shapes (its CloudFormation schema,
`AWS::IoTAnalytics::Datastore`, says the same of every field read here but allows longer
retention and shorter tag keys, which nothing here depends on). What shapes cannot say:
one storage kind, one file format, one kind of each partition, a key prefix ending in /.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from iota_container.definitions.model_rules import java_pattern
from iota_container.definitions.problems import Problem
from iota_container.definitions.schema import child_path, specs_of
from iota_container.definitions.service_model import SHAPES as DATASET_SHAPES

CREATE_DATASTORE_REQUEST = "CreateDatastoreRequest"
_SHARED = (
    "BucketName",
    "RetentionPeriod",
    "RetentionPeriodInDays",
    "RoleArn",
    "Tag",
    "TagKey",
    "TagList",
    "TagValue",
    "UnlimitedRetentionPeriod",
)
_NAME_PATTERN = "(^(?!_{2}))(^[a-zA-Z0-9_]+$)"
_KEY_PATTERN = "^[a-zA-Z0-9!_.*'()/{}:-]*/$"
_TEXT = "^[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*$"

SHAPES: dict[str, dict[str, Any]] = {
    # Shapes CreateDataset uses as well: one copy (definitions/service_model.py).
    **{name: DATASET_SHAPES[name] for name in _SHARED},
    "Column": {
        "type": "structure",
        "required": ["name", "type"],
        "members": {"name": {"shape": "ColumnName"}, "type": {"shape": "ColumnDataType"}},
    },
    "ColumnDataType": {"type": "string", "max": 131072, "min": 1, "pattern": _TEXT},
    "ColumnName": {
        "type": "string",
        "max": 255,
        "min": 1,
        "pattern": "^[A-Za-z_]([A-Za-z0-9]*|[A-Za-z0-9][A-Za-z0-9_]*)$",
    },
    "Columns": {"type": "list", "member": {"shape": "Column"}},
    "CreateDatastoreRequest": {
        "type": "structure",
        "required": ["datastoreName"],
        "members": {
            "datastoreName": {"shape": "DatastoreName"},
            "datastoreStorage": {"shape": "DatastoreStorage"},
            "retentionPeriod": {"shape": "RetentionPeriod"},
            "tags": {"shape": "TagList"},
            "fileFormatConfiguration": {"shape": "FileFormatConfiguration"},
            "datastorePartitions": {"shape": "DatastorePartitions"},
        },
    },
    "CustomerManagedDatastoreS3Storage": {
        "type": "structure",
        "required": ["bucket", "roleArn"],
        "members": {
            "bucket": {"shape": "BucketName"},
            "keyPrefix": {"shape": "S3KeyPrefix"},
            "roleArn": {"shape": "RoleArn"},
        },
    },
    "DatastoreIotSiteWiseMultiLayerStorage": {
        "type": "structure",
        "required": ["customerManagedS3Storage"],
        "members": {
            "customerManagedS3Storage": {"shape": "IotSiteWiseCustomerManagedDatastoreS3Storage"}
        },
    },
    "DatastoreName": {"type": "string", "max": 128, "min": 1, "pattern": _NAME_PATTERN},
    "DatastorePartition": {
        "type": "structure",
        "members": {
            "attributePartition": {"shape": "Partition"},
            "timestampPartition": {"shape": "TimestampPartition"},
        },
    },
    "DatastorePartitions": {
        "type": "structure",
        "members": {"partitions": {"shape": "Partitions"}},
    },
    "DatastoreStorage": {
        "type": "structure",
        "members": {
            "serviceManagedS3": {"shape": "ServiceManagedDatastoreS3Storage"},
            "customerManagedS3": {"shape": "CustomerManagedDatastoreS3Storage"},
            "iotSiteWiseMultiLayerStorage": {"shape": "DatastoreIotSiteWiseMultiLayerStorage"},
        },
    },
    "FileFormatConfiguration": {
        "type": "structure",
        "members": {
            "jsonConfiguration": {"shape": "JsonConfiguration"},
            "parquetConfiguration": {"shape": "ParquetConfiguration"},
        },
    },
    "IotSiteWiseCustomerManagedDatastoreS3Storage": {
        "type": "structure",
        "required": ["bucket"],
        "members": {"bucket": {"shape": "BucketName"}, "keyPrefix": {"shape": "S3KeyPrefix"}},
    },
    "JsonConfiguration": {"type": "structure", "members": {}},
    "ParquetConfiguration": {
        "type": "structure",
        "members": {"schemaDefinition": {"shape": "SchemaDefinition"}},
    },
    "Partition": {
        "type": "structure",
        "required": ["attributeName"],
        "members": {"attributeName": {"shape": "PartitionAttributeName"}},
    },
    "PartitionAttributeName": {
        "type": "string",
        "max": 128,
        "min": 1,
        "pattern": "^[a-zA-Z0-9_]+$",
    },
    "Partitions": {"type": "list", "member": {"shape": "DatastorePartition"}, "max": 25, "min": 0},
    "S3KeyPrefix": {"type": "string", "max": 255, "min": 1, "pattern": _KEY_PATTERN},
    "SchemaDefinition": {"type": "structure", "members": {"columns": {"shape": "Columns"}}},
    "ServiceManagedDatastoreS3Storage": {"type": "structure", "members": {}},
    "TimestampFormat": {
        "type": "string",
        "max": 50,
        "min": 1,
        "pattern": "^[a-zA-Z0-9\\s\\[\\]_,.'/:-]*$",
    },
    "TimestampPartition": {
        "type": "structure",
        "required": ["attributeName"],
        "members": {
            "attributeName": {"shape": "PartitionAttributeName"},
            "timestampFormat": {"shape": "TimestampFormat"},
        },
    },
}
# Pairs that must have exactly one member given (the service refused the others).
_ONE_OF = {
    "DatastoreStorage": "one storage: serviceManagedS3, customerManagedS3 or "
    "iotSiteWiseMultiLayerStorage",
    "FileFormatConfiguration": "one format: jsonConfiguration or parquetConfiguration",
    "DatastorePartition": "one partition kind: attributePartition or timestampPartition",
}


class _Checker:
    def __init__(self, file: str, cloudformation: bool) -> None:
        self.file, self.cloudformation = file, cloudformation
        self.problems: list[Problem] = []

    def add(self, path: str, rule: str, message: str, fix: str) -> None:
        self.problems.append(Problem(self.file, path, rule, message, fix))

    def structure(self, obj: Any, shape_name: str, path: str) -> None:
        shape = SHAPES[shape_name]
        given = []
        for spec in specs_of(type(obj)):
            member = shape["members"].get(spec.api)
            value = getattr(obj, spec.attr)
            if member is None or value is None or value == ():
                continue
            given.append(spec.key(self.cloudformation))
            here = child_path(path, spec.key(self.cloudformation))
            self.value(value, member["shape"], here)
        if shape_name in _ONE_OF and len(given) != 1:
            what = "none" if not given else " and ".join(given)
            self.add(path, "one-of", f"{what} given", f"give {_ONE_OF[shape_name]}")

    def value(self, value: Any, shape_name: str, path: str) -> None:
        shape = SHAPES[shape_name]
        if dataclasses.is_dataclass(value):
            self.structure(value, shape_name, path)
        elif isinstance(value, tuple):
            low, high = shape.get("min"), shape.get("max")
            if (low is not None and len(value) < low) or (high is not None and len(value) > high):
                bounds = f"{low or 0}..{high}" if high is not None else f"at least {low}"
                self.add(path, "count", f"{len(value)} items, not {bounds}", "drop some")
            for index, item in enumerate(value):
                self.value(item, shape["member"]["shape"], child_path(path, index))
        elif isinstance(value, str):
            self.text(value, shape, path)
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value < shape.get("min", value)
        ):
            self.add(path, "range", f"{value} is below {shape['min']}", "give a larger number")

    def text(self, value: str, shape: dict[str, Any], path: str) -> None:
        low, high, pattern = shape.get("min"), shape.get("max"), shape.get("pattern")
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            self.add(path, "length", f"{value!r} is not {low}..{high} characters long", "fix it")
        elif pattern and not java_pattern(pattern).search(value):
            fix = "end it with /" if pattern == _KEY_PATTERN else "use letters, digits and _"
            self.add(path, "pattern", f"{value!r} does not match {pattern}", fix)


def check_datastore(definition: Any, file: str, root: str, cloudformation: bool) -> list[Problem]:
    """Every problem the CreateDatastore shapes find in `definition`."""
    checker = _Checker(file, cloudformation)
    checker.structure(definition, CREATE_DATASTORE_REQUEST, root)
    return checker.problems
