"""Which versions a dataset keeps: versioningConfiguration and retentionPeriod.

The service's documented rules (CreateDataset):
- no versioningConfiguration: the latest version, plus the latest succeeded one when
  they differ; `unlimited: true`: every version; `maxVersions: N`: the newest N.
- retentionPeriod `numberOfDays: N`: versions older than N days go; `unlimited: true`:
  kept for ever; none given: 90 days.

One choice of this project's: `maxVersions` also keeps the latest succeeded version, as
the default does. Otherwise N failed runs in a row would delete the only content that
datasetContentVersionValue variables of other datasets read, and every run downstream
would fail with it. Age is not bent that way: a retentionPeriod is an explicit promise
about how long data is kept. A CREATING version is never pruned.

Pruning removes the version's row, its folder in the home and, for a file:// output
root, its outputs. Objects under an s3:// output root stay: give that prefix an S3
lifecycle rule.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from iota_container.definitions.model import RetentionPeriod, VersioningConfiguration
from iota_container.engine.records import CREATING, SUCCEEDED, Version
from iota_container.storage.uri import parse_output_uri

DEFAULT_RETENTION_DAYS = 90


def versions_to_prune(
    newest_first: Sequence[Version],
    versioning: VersioningConfiguration | None,
    retention: RetentionPeriod | None,
    now: datetime,
) -> list[Version]:
    """The versions the two settings no longer keep, newest first."""
    kept_by_count = _kept_by_count(newest_first, versioning)
    days = retention_days(retention)
    oldest_kept = now - timedelta(days=days) if days is not None else None
    return [
        version
        for version in newest_first
        if version.status != CREATING
        and (
            version.id not in kept_by_count
            or (oldest_kept is not None and version.created_at < oldest_kept)
        )
    ]


def retention_days(retention: RetentionPeriod | None) -> int | None:
    """How many days versions are kept; None for ever."""
    if retention is None:
        return DEFAULT_RETENTION_DAYS
    if retention.unlimited:
        return None
    return retention.number_of_days or DEFAULT_RETENTION_DAYS


def _kept_by_count(
    newest_first: Sequence[Version], versioning: VersioningConfiguration | None
) -> set[str]:
    if versioning is not None and versioning.unlimited:
        return {v.id for v in newest_first}
    count = versioning.max_versions if versioning and versioning.max_versions else 1
    kept = {v.id for v in newest_first[:count]}
    latest_succeeded = next((v for v in newest_first if v.status == SUCCEEDED), None)
    if latest_succeeded is not None:
        kept.add(latest_succeeded.id)
    return kept


def remove_version_files(version: Version, version_dir: Path) -> None:
    """The version's folder in the home, and its outputs when they are local files."""
    shutil.rmtree(version_dir, ignore_errors=True)
    if version.output_prefix.startswith("file:"):
        folder = parse_output_uri(version.output_prefix + "/_").path
        if folder is not None:
            shutil.rmtree(folder.parent, ignore_errors=True)
