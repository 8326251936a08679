"""What the two build benchmarks (build_vs_docker.py, build_packages_vs_docker.py) share.

The set-up: a `docker-registry` behind a counting proxy, the base image pushed to it
untimed, and the engine's images of the run removed afterwards. The iota side: one
`iota-container build --backend oci --json` process, its steps timed by when each logged
line arrived on stderr. The report: time and bytes tables over each round's push
figures (`extra["push"]`: _registry.PushFigures, or the packages bench's PushCount).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from _common import Samples, format_table, progress, require_executable, run_command, seconds_text
from _registry import CountingProxy, counting_proxy, registry_server

BASE_IMAGE = "iota-container/base:test"
IMAGE_UID = 1000  # the base image's user, owner of the analysis folder
ANALYSIS_DIR = "/home/iota/analysis"
IOTA, DOCKER = "iota-container build --backend oci", "docker build + docker push"
COUNT_COLUMNS = ("blobs_uploaded", "blobs_mounted", "blobs_present")


@dataclass(kw_only=True)
class RegistryBench:
    workdir: Path
    registry_url: str  # the registry itself, for untimed reads
    proxy: CountingProxy  # what both sides push to
    version: str
    engine_images: list[str] = field(default_factory=list)  # tags and image IDs to remove

    @property
    def registry(self) -> str:
        return self.proxy.address

    @property
    def base(self) -> str:
        return f"{self.registry}/iota-container/base:{self.version}"


B = TypeVar("B", bound=RegistryBench)


# --- set-up and clean-up ----------------------------------------------------------------


def docker_env() -> dict[str, str]:
    # No buildx here: the legacy builder, chosen explicitly rather than by fallback.
    return {**os.environ, "DOCKER_BUILDKIT": "0"}


def check_engine() -> None:
    docker = require_executable("docker")
    if subprocess.run([docker, "info"], capture_output=True).returncode != 0:
        raise SystemExit("bench: no Docker engine answers: bash scripts/start-docker-engine.sh")
    if subprocess.run([docker, "image", "inspect", BASE_IMAGE], capture_output=True).returncode:
        raise SystemExit(
            f"bench: the engine has no {BASE_IMAGE}: "
            f"bash scripts/build-base-image.sh --tag {BASE_IMAGE}"
        )


def push_base(bench: RegistryBench) -> None:
    docker = require_executable("docker")
    run_command([docker, "tag", BASE_IMAGE, bench.base])
    bench.engine_images.append(bench.base)
    progress(f"pushing {BASE_IMAGE} as {bench.base} (untimed)")
    run_command([docker, "push", "-q", bench.base])


def remove_engine_images(names: Sequence[str]) -> None:
    """The tags, then the image IDs, this run made (never the base image's own tags)."""
    if not names:
        return
    docker = require_executable("docker")
    unique = list(dict.fromkeys(names))
    tags = [name for name in unique if not name.startswith("sha256:")]
    image_ids = [name for name in unique if name.startswith("sha256:")]
    for group in (tags, image_ids):
        if group:
            subprocess.run([docker, "rmi", *group], capture_output=True, text=True)
    left = [
        n
        for n in unique
        if not subprocess.run([docker, "image", "inspect", n], capture_output=True).returncode
    ]
    progress(
        f"removed {len(tags)} tags and {len(image_ids)} images from the engine"
        + (f"; still there: {', '.join(left)}" if left else "")
    )


@contextmanager
def registry_bench(workdir: Path, make: Callable[..., B]) -> Iterator[B]:
    """The bench `make` (a RegistryBench class, or a partial of one) makes over a new
    registry and its counting proxy; the engine's images it recorded are removed at the end."""
    from iota_container import __version__

    with registry_server(workdir) as registry, counting_proxy(registry.port) as proxy:
        bench = make(workdir=workdir, registry_url=registry.url, proxy=proxy, version=__version__)
        try:
            yield bench
        finally:
            remove_engine_images(bench.engine_images)


# --- the iota side ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedSteps:
    """The step before the first logged line, and (line prefix, step it starts) pairs;
    a step ends where the next line found begins."""

    first: str
    lines: tuple[tuple[str, str], ...]

    def durations(
        self, started: float, lines: Sequence[tuple[float, str]], ended: float
    ) -> dict[str, float]:
        marks = [(started, self.first)]
        for marker, step in self.lines:
            at = next(
                (t for t, line in lines if line.startswith(f"iota-container: {marker}")), None
            )
            if at is not None:
                marks.append((at, step))
        marks.sort()
        ends = [t for t, _ in marks[1:]] + [ended]
        return {step: end - at for (at, step), end in zip(marks, ends)}


def iota_build(
    registry: str, notebook: Path, repository: str, env: Mapping[str, str], steps: LoggedSteps
) -> tuple[float, dict[str, Any], dict[str, float]]:
    """Wall time, the --json result, and the steps, from when each stderr line arrived."""
    command = [require_executable("iota-container"), "build", str(notebook)]
    command += ["--repository", f"{registry}/{repository}:latest", "--backend", "oci"]
    command.append("--json")
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # stdout (one small JSON object) is read after stderr: it cannot fill its pipe first.
    lines = [(time.perf_counter(), line) for line in process.stderr or ()]
    stdout = process.stdout.read() if process.stdout else ""
    process.wait()
    ended = time.perf_counter()
    if process.returncode != 0:
        raise SystemExit(
            f"bench: {' '.join(command)} exited {process.returncode}\n"
            + "".join(line for _, line in lines)[-3000:]
        )
    return ended - started, json.loads(stdout), steps.durations(started, lines, ended)


# --- report -----------------------------------------------------------------------------


def pushes(samples: Samples) -> list[Any]:
    return [extra["push"] for extra in samples.extras]


def median_of(values: Sequence[Any], name: str) -> float:
    return float(statistics.median(getattr(v, name) for v in values))


def spread(samples: Samples) -> str:
    return f"{seconds_text(min(samples.seconds))} .. {seconds_text(max(samples.seconds))}"


def step_rows(samples: Samples) -> list[list[object]]:
    names = list(dict.fromkeys(name for extra in samples.extras for name in extra["steps"]))
    rows: list[list[object]] = []
    for name in names:
        values = [extra["steps"][name] for extra in samples.extras if name in extra["steps"]]
        rows.append([f"  {name}", seconds_text(statistics.median(values)), "", ""])
    return rows


def time_table(samples: Mapping[str, Samples]) -> str:
    iota, docker = samples[IOTA], samples[DOCKER]
    inside = [extra["result"]["seconds"] for extra in iota.extras]
    rows: list[list[object]] = [
        [iota.name, seconds_text(iota.median), seconds_text(iota.best), spread(iota)]
    ]
    rows += step_rows(iota)
    rows.append(
        ["  (its --json seconds: build_and_push)", seconds_text(statistics.median(inside)), "", ""]
    )
    rows.append(
        [docker.name, seconds_text(docker.median), seconds_text(docker.best), spread(docker)]
    )
    rows += step_rows(docker)
    rows.append(
        [
            "ratio iota / docker",
            f"{iota.median / docker.median:.2f}",
            f"{iota.best / docker.best:.2f}",
            "",
        ]
    )
    return format_table(
        ["wall time (steps: medians, from output line times)", "median", "min", "spread"], rows
    )


def mount_sources(values: Sequence[Any]) -> str:
    sources = sorted({source for v in values for source in v.mounted_from})
    if len(sources) > 3:
        return f"{sources[0]}, ... ({len(sources)} repositories)"
    return ", ".join(sources) or "-"


def bytes_table(samples: Mapping[str, Samples], byte_columns: Mapping[str, str]) -> str:
    """`byte_columns`: heading → attribute of the push figures."""
    rows: list[list[object]] = []
    for name, s in samples.items():
        values = pushes(s)
        row: list[object] = [name]
        row += [f"{median_of(values, column):,.0f}" for column in byte_columns.values()]
        row.append("/".join(f"{median_of(values, column):.0f}" for column in COUNT_COLUMNS))
        row.append(mount_sources(values))
        rows.append(row)
    headers = ["bytes sent (median, at the proxy)", *byte_columns]
    headers += ["blobs up/mounted/HEAD 200", "mounted from"]
    return format_table(headers, rows)


def experiment_json(samples: Mapping[str, Samples]) -> dict[str, Any]:
    """Ratios, and each side's times, pushes, steps (and iota's --json results)."""
    iota, docker = samples[IOTA], samples[DOCKER]
    document: dict[str, Any] = {
        "ratio_median": iota.median / docker.median,
        "ratio_min": iota.best / docker.best,
        "sides": {},
    }
    for name, s in samples.items():
        side = s.to_json()
        side["pushes"] = [asdict(push) for push in pushes(s)]
        side["steps_s"] = [extra["steps"] for extra in s.extras]
        if name == IOTA:
            side["iota_json"] = [extra["result"] for extra in s.extras]
        document["sides"][name] = side
    return document


def checks_text(found: Mapping[str, bool]) -> str:
    return "checks: " + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in found.items())
