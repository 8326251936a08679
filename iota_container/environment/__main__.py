"""`python -m iota_container.environment`: this interpreter's environment as the compact
JSON of the base image's `io.iota-container.environment` label (scripts/build-base-image.sh
runs it inside the base it builds)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

from iota_container.environment.probe import describe
from iota_container.environment.python_env import InstalledDistribution, PythonEnvironment


def label_environment(environment: PythonEnvironment) -> PythonEnvironment:
    """The environment without what only extras require: an image holds what its
    distributions need without extras (what `pip check` checks), and extras' lists are
    most of the metadata (boto3-stubs alone has hundreds)."""
    return replace(
        environment,
        distributions={key: _without_extras(d) for key, d in environment.distributions.items()},
    )


def _without_extras(distribution: InstalledDistribution) -> InstalledDistribution:
    kept = tuple(r for r in distribution.requires if "extra" not in r.partition(";")[2])
    return replace(distribution, requires=kept)


def main() -> None:
    environment = label_environment(PythonEnvironment.from_json(describe()))
    sys.stdout.write(json.dumps(environment.to_json(), separators=(",", ":"), sort_keys=True))


if __name__ == "__main__":
    main()
