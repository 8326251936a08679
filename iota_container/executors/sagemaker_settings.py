"""The sagemaker executor's settings, checked as they are made (CLI > environment > default):

IOTA_SAGEMAKER_INSTANCE_TYPES   ACU_1=ml.m5.xlarge,ACU_2=ml.m5.2xlarge (the default: the
                                same vCPUs and memory as the service's compute types);
                                each type must be one of SageMaker's training instance
                                types, as botocore's service model lists them
IOTA_SAGEMAKER_MAX_RUNTIME_SECONDS  the training job's MaxRuntimeInSeconds (default 86400,
                                SageMaker's own; at most 28 days)
IOTA_SAGEMAKER_POLL_SECONDS     seconds between DescribeTrainingJob calls (default 15)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from iota_container.errors import IotaError

INSTANCE_TYPES_ENV = "IOTA_SAGEMAKER_INSTANCE_TYPES"
MAX_RUNTIME_ENV = "IOTA_SAGEMAKER_MAX_RUNTIME_SECONDS"
POLL_SECONDS_ENV = "IOTA_SAGEMAKER_POLL_SECONDS"

DEFAULT_INSTANCE_TYPES = {"ACU_1": "ml.m5.xlarge", "ACU_2": "ml.m5.2xlarge"}
DEFAULT_MAX_RUNTIME_SECONDS = 86_400
LONGEST_RUNTIME_SECONDS = 28 * 86_400  # SageMaker refuses a longer MaxRuntimeInSeconds
DEFAULT_POLL_SECONDS = 15.0


class SageMakerSettingError(IotaError):
    """A sagemaker executor setting SageMaker would refuse."""


@dataclass(frozen=True)
class SageMakerSettings:
    instance_types: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_INSTANCE_TYPES))
    max_runtime_seconds: int = DEFAULT_MAX_RUNTIME_SECONDS
    poll_seconds: float = DEFAULT_POLL_SECONDS

    def __post_init__(self) -> None:
        accepted = training_instance_types()
        for compute_type, instance_type in self.instance_types.items():
            if compute_type not in DEFAULT_INSTANCE_TYPES:
                raise SageMakerSettingError(
                    f"{INSTANCE_TYPES_ENV}: {compute_type!r} is not a compute type: use "
                    f"{' or '.join(DEFAULT_INSTANCE_TYPES)}"
                )
            if instance_type not in accepted:
                raise SageMakerSettingError(
                    f"instance type {instance_type!r} for {compute_type} is not one SageMaker "
                    f"trains on: fix {INSTANCE_TYPES_ENV} (e.g. {compute_type}="
                    f"{DEFAULT_INSTANCE_TYPES[compute_type]})"
                )
        if not 1 <= self.max_runtime_seconds <= LONGEST_RUNTIME_SECONDS:
            raise SageMakerSettingError(
                f"{MAX_RUNTIME_ENV}={self.max_runtime_seconds} is not between 1 and "
                f"{LONGEST_RUNTIME_SECONDS} seconds (28 days): fix or unset it"
            )
        if not (math.isfinite(self.poll_seconds) and self.poll_seconds > 0):
            raise SageMakerSettingError(
                f"{POLL_SECONDS_ENV}={self.poll_seconds} is not a number of seconds greater "
                "than 0: fix or unset it"
            )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SageMakerSettings:
        source = os.environ if environ is None else environ
        instance_types = dict(DEFAULT_INSTANCE_TYPES)
        instance_types.update(_instance_types(source.get(INSTANCE_TYPES_ENV, "")))
        return cls(
            instance_types=instance_types,
            max_runtime_seconds=int(
                _number(source, MAX_RUNTIME_ENV, DEFAULT_MAX_RUNTIME_SECONDS, whole=True)
            ),
            poll_seconds=_number(source, POLL_SECONDS_ENV, DEFAULT_POLL_SECONDS, whole=False),
        )

    def instance_type_for(self, compute_type: str) -> str:
        try:
            return self.instance_types[compute_type]
        except KeyError:
            raise SageMakerSettingError(
                f"computeType {compute_type!r} has no SageMaker instance type: use ACU_1 or "
                f"ACU_2, or add {compute_type}=ml.… to {INSTANCE_TYPES_ENV}"
            ) from None


@cache
def training_instance_types() -> frozenset[str]:
    """The TrainingInstanceType enum of the SageMaker service model botocore ships."""
    from botocore.loaders import create_loader

    model = create_loader().load_service_model("sagemaker", "service-2")
    return frozenset(model["shapes"]["TrainingInstanceType"]["enum"])


def _instance_types(raw: str) -> dict[str, str]:
    """`ACU_1=ml.m5.xlarge,ACU_2=ml.m5.2xlarge` (either may be left out: its default)."""
    pairs = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        compute_type, sep, instance_type = item.partition("=")
        if not sep or not compute_type.strip() or not instance_type.strip():
            raise SageMakerSettingError(
                f"{INSTANCE_TYPES_ENV}: {item!r} is not COMPUTE_TYPE=INSTANCE_TYPE: write e.g. "
                "ACU_1=ml.m5.xlarge,ACU_2=ml.m5.2xlarge"
            )
        pairs[compute_type.strip()] = instance_type.strip()
    return pairs


def _number(source: Mapping[str, str], name: str, default: float, *, whole: bool) -> float:
    raw = source.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw) if whole else float(raw)
    except ValueError:
        kind = "a whole number of seconds" if whole else "a number of seconds"
        raise SageMakerSettingError(f"{name}={raw!r} is not {kind}: fix or unset it") from None
