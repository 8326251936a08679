"""`iota-container build --backend oci` of a pandas + matplotlib notebook, with its packages
in a dependency layer, versus `docker build` + `docker push` of the obvious Dockerfile.

The notebook imports pandas and matplotlib, draws a plot and imports `helpers.py` beside
it. Its lock is what `iota-container requirements NB --json` detects in the `python3`
kernel's environment; the docker side installs the same pins from a requirements.txt:

    FROM REGISTRY/iota-container/base:VERSION
    USER root
    COPY requirements.txt /tmp/requirements.txt
    RUN pip install --no-cache-dir -r /tmp/requirements.txt
    USER iota
    ENV NOTEBOOK_PATH=... KERNEL_NAME=python3
    COPY --chown=1000:1000 analysis/ /home/iota/analysis/

A `docker-registry` on loopback holds the base (pushed untimed); both sides push through
the same counting proxy in front of it, so the bytes each uploads are counted on the wire.
Both fetch the wheels from the same index (pypi.org): the iota side runs pip without this
machine's pip configuration (no local find-links or file:// indexes), as pip does in the
container.

1. First build with a new lock, nothing cached: iota with a new, empty IOTA_CACHE_DIR and
   PIP_NO_CACHE_DIR=1; docker with `docker build --no-cache` (and pip's --no-cache-dir).
   Each round pushes to a new repository. Target: wall time iota / docker <= 0.3.
2. A new notebook with an already-built lock (the layer cache, the builder cache and the
   registry hold the packages from the warm-up round), pushed to a new repository.
   Targets: iota <= 1 s, and uploads <= its own files + 20 KB.
3. A one-cell edit of the notebook, rebuilt and pushed to the same repository. The same
   targets.

The dependency layer's size is set against the installed size of the same files (the
build's --json), the same distributions' files in the kernel's environment, and docker's
pip layer (compressed in its manifest, uncompressed in `docker history`).

    python bench/build_packages_vs_docker.py [--quick] [--json] [--repetitions N]
                                             [--first-builds N]

--repetitions: timed rounds of experiments 2 and 3 [default 8, 3 with --quick];
--first-builds: timed rounds of experiment 1 [default 3, 1 with --quick]. Every
experiment has one untimed warm-up round first.
"""

from __future__ import annotations

import argparse
import gzip
import io
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    BenchArgs,
    Measured,
    Samples,
    alternate,
    format_table,
    parse_args,
    progress,
    report,
    require_executable,
    run_command,
    seconds_text,
    temp_dir,
)
from _registry import (
    MANIFEST_TYPES,
    CountingProxy,
    PushTally,
    counting_proxy,
    file_in_top_layer,
    image_layout,
    registry_get,
    registry_server,
)
from build_vs_docker import BASE_IMAGE, check_engine, docker_env, remove_engine_images

FIRST_BUILD_TARGET = 0.3  # wall time iota / docker
CACHED_SECONDS_TARGET = 1.0
CACHED_BYTES_OVER_FILES = 20_000  # what iota may upload beyond the notebook's own files
NOTEBOOK_NAME = "sensors.ipynb"
KERNEL = "python3"
IMAGE_UID = 1000
ANALYSIS_DIR = "/home/iota/analysis"
IOTA, DOCKER = "iota-container build --backend oci", "docker build + docker push"
FIRST, NEW, EDIT = "first", "new", "edit"

HELPERS = '''\
def above(frame, threshold):
    """The rows of `frame` hotter than `threshold`."""
    return frame[frame.temp > threshold]
'''


# --- the notebook -----------------------------------------------------------------------


def notebook_bytes(analysis: str, revision: str) -> bytes:
    """The notebook of one round: `analysis` names a notebook (a new one for each round of
    experiment 2), `revision` is the edit of its plot cell (experiment 3)."""

    def code(source: str, tags: Sequence[str] = ()) -> dict[str, Any]:
        metadata = {"tags": list(tags)} if tags else {}
        return {
            "cell_type": "code",
            "execution_count": None,
            "metadata": metadata,
            "outputs": [],
            "source": source,
        }

    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": f"# Hot hours ({analysis})"},
        code("threshold = 27.5", ["parameters"]),
        code(
            "import pandas as pd\nimport matplotlib.pyplot as plt\nfrom helpers import above\n\n"
            "readings = pd.DataFrame({'hour': range(6), "
            "'temp': [21.5, 26.0, 31.5, 29.0, 27.0, 24.5]})\n"
            f"hot = above(readings, threshold)  # {analysis}\nprint('hot hours', list(hot.hour))"
        ),
        code(
            "fig, ax = plt.subplots()\nax.plot(readings.hour, readings.temp)\n"
            f"ax.axhline(threshold, color='red')\nax.set_title('{revision}')\nplt.show()"
        ),
    ]
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": KERNEL, "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(notebook, indent=1) + "\n").encode()


def write_analysis(folder: Path, analysis: str, revision: str) -> int:
    """The notebook and helpers.py in `folder`; returns their size (the round's own files)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "helpers.py").write_text(HELPERS, encoding="utf-8")
    (folder / NOTEBOOK_NAME).write_bytes(notebook_bytes(analysis, revision))
    return sum(path.stat().st_size for path in folder.iterdir())


# --- the bench --------------------------------------------------------------------------


@dataclass
class Bench:
    workdir: Path
    registry_url: str  # the registry itself, for untimed reads
    proxy: CountingProxy  # what both sides push to
    version: str
    requirements: str  # the lock, as requirements.txt
    pins: list[str]
    base_layers: frozenset[str] = frozenset()
    engine_images: list[str] = field(default_factory=list)  # tags and image IDs to remove

    @property
    def registry(self) -> str:
        return self.proxy.address

    @property
    def base(self) -> str:
        return f"{self.registry}/iota-container/base:{self.version}"


def pip_env() -> dict[str, str]:
    """Pip as in a container: none of this machine's pip configuration (files, and the
    PIP_FIND_LINKS of its environment), so both sides fetch from the same index."""
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_FIND_LINKS", "PIP_CONSTRAINT")}
    return {**env, "PIP_CONFIG_FILE": os.devnull}


def iota_env(cache_dir: Path, pip_cache: bool) -> dict[str, str]:
    # The default base, REGISTRY/iota-container/base:VERSION, is the one under test.
    env = {k: v for k, v in pip_env().items() if k != "IOTA_BASE_IMAGE"}
    env["IOTA_CACHE_DIR"] = str(cache_dir)
    if not pip_cache:
        env["PIP_NO_CACHE_DIR"] = "1"
    return env


def lock_of(notebook: Path) -> tuple[str, list[str]]:
    """`iota-container requirements NB --json`: (requirements.txt text, NAME==VERSION)."""
    command = [require_executable("iota-container"), "requirements", str(notebook), "--json"]
    found = json.loads(run_command(command).stdout)
    if found.get("unresolved") or found.get("problems"):
        raise SystemExit(f"bench: the notebook's lock has problems: {found}")
    pins = [f"{d['distribution']}=={d['version']}" for d in found["distributions"]]
    return "".join(f"{pin}\n" for pin in pins), pins


# --- counting one push ------------------------------------------------------------------


@dataclass(frozen=True)
class PushCount:
    """One push against the image it made: [base layers] + [added ...] + package layer +
    notebook layer. The package layer is the second to last on both sides."""

    bytes_sent: int
    package_layer_bytes: int
    notebook_layer_bytes: int
    config_bytes: int
    manifest_bytes: int
    base_layer_bytes: int
    other_bytes: int  # anything else: docker's requirements.txt layer, retried uploads
    blobs_uploaded: int
    blobs_mounted: int
    blobs_present: int
    package_layer_size: int  # compressed, as the manifest lists it
    package_layer_digest: str
    own_files: int  # the notebook and helpers.py
    mounted_from: tuple[str, ...]

    @classmethod
    def of(cls, bench: Bench, tally: PushTally, repository: str, own_files: int) -> PushCount:
        raw = registry_get(f"{bench.registry_url}/v2/{repository}/manifests/latest", MANIFEST_TYPES)
        manifest = json.loads(raw)
        layers = [str(layer["digest"]) for layer in manifest["layers"]]
        sizes = {str(layer["digest"]): int(layer["size"]) for layer in manifest["layers"]}
        package, notebook = layers[-2], layers[-1]
        config = str(manifest["config"]["digest"])

        def sent(digest: str) -> int:
            return tally.uploaded.get(digest, 0)

        base = sum(v for d, v in tally.uploaded.items() if d in bench.base_layers)
        named = sent(package) + sent(notebook) + sent(config) + base
        return cls(
            bytes_sent=tally.bytes_sent,
            package_layer_bytes=sent(package),
            notebook_layer_bytes=sent(notebook),
            config_bytes=sent(config),
            manifest_bytes=tally.manifest_bytes,
            base_layer_bytes=base,
            other_bytes=tally.bytes_sent - tally.manifest_bytes - named,
            blobs_uploaded=len(tally.uploaded),
            blobs_mounted=tally.mounted,
            blobs_present=tally.present,
            package_layer_size=sizes[package],
            package_layer_digest=package,
            own_files=own_files,
            mounted_from=tuple(sorted(set(tally.mount_sources))),
        )


# --- the iota side ----------------------------------------------------------------------

# The lines `iota-container build` logs and the step each one starts; a step ends where the
# next line found begins.
IOTA_STEP_LINES = (
    ("building ", "base image read (https probe, ping, manifest, config)"),
    ("detecting the notebook's packages", "packages detected in the kernel's Python"),
    ("resolving ", "pip download: resolve and fetch the wheels"),
    ("installing ", "wheels installed, compiled, packed; imports checked"),
    ("dependency layer from the cache", "layer read from the cache; imports checked"),
    ("pushing blobs", "blobs: HEAD, mount, upload"),
    ("pushing manifest", "manifest PUT, JSON printed, exit"),
)
IOTA_FIRST_STEP = "start-up, imports, notebook read and inspected"


def iota_build(
    bench: Bench, notebook: Path, repository: str, env: Mapping[str, str]
) -> tuple[float, dict[str, Any], dict[str, float]]:
    """Wall time, the --json result, and the steps, from when each stderr line arrived."""
    command = [require_executable("iota-container"), "build", str(notebook)]
    command += ["--repository", f"{bench.registry}/{repository}:latest", "--backend", "oci"]
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
    return ended - started, json.loads(stdout), iota_steps(started, lines, ended)


def iota_steps(
    started: float, lines: Sequence[tuple[float, str]], ended: float
) -> dict[str, float]:
    marks = [(started, IOTA_FIRST_STEP)]
    for marker, step in IOTA_STEP_LINES:
        at = next((t for t, line in lines if line.startswith(f"iota-container: {marker}")), None)
        if at is not None:
            marks.append((at, step))
    marks.sort()
    ends = [t for t, _ in marks[1:]] + [ended]
    return {step: end - at for (at, step), end in zip(marks, ends)}


def iota_side(bench: Bench, experiment: Experiment) -> Callable[[], Measured]:
    folder = bench.workdir / f"iota-{experiment.key}"
    fresh_caches = bench.workdir / "fresh-caches"
    counter = itertools.count()

    def cache_of(index: int) -> Path:
        if not experiment.nothing_cached:
            return bench.workdir / "layer-cache"
        shutil.rmtree(fresh_caches, ignore_errors=True)  # the previous round's, untimed
        return fresh_caches / f"cache-{index}"

    def run() -> Measured:
        index = next(counter)
        repository, cache = experiment.repository("oci", index), cache_of(index)
        analysis, revision = experiment.texts(index)
        own_files = write_analysis(folder, analysis, revision)
        env = iota_env(cache, pip_cache=not experiment.nothing_cached)
        mark = bench.proxy.mark()
        seconds, result, steps = iota_build(bench, folder / NOTEBOOK_NAME, repository, env)
        count = PushCount.of(bench, PushTally.of(bench.proxy.since(mark)), repository, own_files)
        extra = {"count": count, "result": result, "steps": steps, "repository": repository}
        extra["notebook"] = notebook_bytes(analysis, revision)
        return Measured(seconds, extra)

    return run


# --- the docker side --------------------------------------------------------------------


def write_docker_context(context: Path, bench: Bench) -> None:
    """The Dockerfile a user would write: the lock installed before the notebook is copied,
    so an edit reinstalls nothing. pip runs as root (the base's venv is root-owned); the
    base image trusts this machine's CA bundle (scripts/build-base-image.sh), so pip
    reaches the index through the TLS-intercepting proxy."""
    context.mkdir(parents=True, exist_ok=True)
    (context / "requirements.txt").write_text(bench.requirements, encoding="utf-8")
    lines = [
        f"FROM {bench.base}",
        "USER root",
        "COPY requirements.txt /tmp/requirements.txt",
        "RUN pip install --no-cache-dir -r /tmp/requirements.txt",
        "USER iota",
        f"ENV NOTEBOOK_PATH={ANALYSIS_DIR}/{NOTEBOOK_NAME} KERNEL_NAME={KERNEL}",
        f"COPY --chown={IMAGE_UID}:{IMAGE_UID} analysis/ {ANALYSIS_DIR}/",
    ]
    (context / "Dockerfile").write_text("\n".join(lines) + "\n", encoding="utf-8")


def docker_lines(command: Sequence[str]) -> tuple[float, list[tuple[float, str]]]:
    """Run a docker command, its output lines with their arrival times."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        env=docker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = [(time.perf_counter(), line) for line in process.stdout or ()]
    if process.wait() != 0:
        raise SystemExit(
            f"bench: {' '.join(command)} exited {process.returncode}\n"
            + "".join(line for _, line in lines)[-3000:]
        )
    return started, lines


def docker_build_steps(
    started: float, lines: Sequence[tuple[float, str]], ended: float
) -> dict[str, float]:
    """The legacy builder's `Step N/M : INSTRUCTION` lines: the pip step, and the rest."""
    marks = [(t, line.split(" : ", 1)[1].strip()) for t, line in lines if line.startswith("Step ")]
    ends = [t for t, _ in marks[1:]] + [ended]
    pip = sum(end - t for (t, text), end in zip(marks, ends) if text.startswith("RUN pip"))
    return {"docker build: RUN pip install": pip, "docker build: the rest": ended - started - pip}


def docker_side(bench: Bench, experiment: Experiment) -> Callable[[], Measured]:
    context = bench.workdir / f"docker-{experiment.key}"
    write_docker_context(context, bench)
    docker = require_executable("docker")
    counter = itertools.count()
    previous: list[str] = []  # experiment 1: the image of the round before, removed

    def run() -> Measured:
        index = next(counter)
        repository = experiment.repository("docker", index)
        analysis, revision = experiment.texts(index)
        own_files = write_analysis(context / "analysis", analysis, revision)
        tag = f"{bench.registry}/{repository}:latest"
        image_id_file = bench.workdir / f"image-id-{experiment.key}-{index}"
        bench.engine_images.append(tag)
        build = [docker, "build", "--iidfile", str(image_id_file), "-t", tag, str(context)]
        if experiment.nothing_cached:
            build.insert(2, "--no-cache")
        mark = bench.proxy.mark()
        started, lines = docker_lines(build)
        built = time.perf_counter()
        run_command([docker, "push", "-q", tag], docker_env())
        pushed = time.perf_counter()
        image_id = image_id_file.read_text().strip()
        bench.engine_images.append(image_id)
        count = PushCount.of(bench, PushTally.of(bench.proxy.since(mark)), repository, own_files)
        steps = docker_build_steps(started, lines, built) | {"docker push": pushed - built}
        extra = {"count": count, "steps": steps, "repository": repository, "image": image_id}
        extra["notebook"] = notebook_bytes(analysis, revision)
        extra["pip_layer_uncompressed"] = pip_layer_size(image_id)
        if experiment.nothing_cached:  # untimed: each first build's image is 500 MB in the engine
            remove_engine_images(previous)
            previous[:] = [tag, image_id]
        return Measured(pushed - started, extra)

    return run


def pip_layer_size(image: str) -> int:
    """The uncompressed size of the image's `RUN pip install` layer, from `docker history`."""
    history = run_command(
        [
            require_executable("docker"),
            "history",
            "--no-trunc",
            "--human=false",
            "--format",
            "{{.Size}}\t{{.CreatedBy}}",
            image,
        ]
    ).stdout
    for line in history.splitlines():
        size, _, created_by = line.partition("\t")
        if "pip install --no-cache-dir -r /tmp/requirements.txt" in created_by:
            return int(size)
    return 0


# --- set-up -----------------------------------------------------------------------------


def installed_size_in_kernel(pins: Sequence[str]) -> int:
    """The files of the same distributions as installed in the kernel's environment (its
    RECORD files, sizes on disk: pip's pycs included)."""
    from iota_container.environment.kernel_python import kernel_python

    python = kernel_python(KERNEL).argv  # the interpreter `requirements` reads, as it finds it
    names = [pin.split("==")[0] for pin in pins]
    script = (
        "import importlib.metadata as m, json, os, sys\n"
        "total = 0\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    for f in m.distribution(name).files or ():\n"
        "        path = f.locate()\n"
        "        total += os.path.getsize(path) if os.path.isfile(path) else 0\n"
        "print(total)\n"
    )
    return int(run_command([*python, "-c", script, json.dumps(names)]).stdout)


def push_base(bench: Bench) -> None:
    docker = require_executable("docker")
    run_command([docker, "tag", BASE_IMAGE, bench.base])
    bench.engine_images.append(bench.base)
    progress(f"pushing {BASE_IMAGE} as {bench.base} (untimed)")
    run_command([docker, "push", "-q", bench.base])
    repository, _, tag = bench.base.split("/", 1)[1].rpartition(":")
    layout = image_layout(bench.registry_url, repository, tag)
    bench.base_layers = frozenset(layout.base_layers) | {layout.top_layer[0]}


@contextmanager
def bench_setup(workdir: Path) -> Iterator[Bench]:
    from iota_container import __version__

    probe = workdir / "lock"
    write_analysis(probe, "lock", "lock")
    requirements, pins = lock_of(probe / NOTEBOOK_NAME)
    progress(f"the notebook's lock: {' '.join(pins)}")
    with registry_server(workdir) as registry, counting_proxy(registry.port) as proxy:
        bench = Bench(workdir, registry.url, proxy, __version__, requirements, pins)
        try:
            yield bench
        finally:
            remove_engine_images(bench.engine_images)


# --- the three experiments --------------------------------------------------------------


@dataclass(frozen=True)
class Experiment:
    key: str
    title: str
    repository: Callable[[str, int], str]  # (side, round) -> repository
    texts: Callable[[int], tuple[str, str]]  # round -> (analysis, revision) of its notebook
    nothing_cached: bool  # a new layer cache and no pip cache, docker build --no-cache


EXPERIMENTS = (
    Experiment(
        FIRST,
        "1. first build with a new lock, nothing cached, to a new repository",
        lambda side, i: f"bench/{side}-first-{i}",
        lambda i: ("first", f"revision {i}"),
        nothing_cached=True,
    ),
    Experiment(
        NEW,
        "2. a new notebook with an already-built lock, to a new repository",
        lambda side, i: f"bench/{side}-new-{i}",
        lambda i: (f"notebook {i}", "revision 0"),
        nothing_cached=False,
    ),
    Experiment(
        EDIT,
        "3. a one-cell edit, rebuilt and pushed to the same repository",
        lambda side, _: f"bench/{side}-edit",
        lambda i: ("edited", f"revision {i}"),
        nothing_cached=False,
    ),
)


def run_experiment(bench: Bench, experiment: Experiment, rounds: int) -> dict[str, Samples]:
    """Experiments 2 and 3 share one layer cache, filled by experiment 2's warm-up round (as
    docker's builder cache and the registry are, by the same round)."""
    progress(f"{experiment.title} ({rounds} rounds after a warm-up round)")
    return alternate(
        {
            IOTA: iota_side(bench, experiment),
            DOCKER: docker_side(bench, experiment),
        },
        rounds,
    )


# --- checks (untimed) -------------------------------------------------------------------


def top_layer_notebook(bench: Bench, extra: Mapping[str, Any]) -> bool:
    layout = image_layout(bench.registry_url, extra["repository"], "latest")
    found = file_in_top_layer(bench.registry_url, extra["repository"], layout, NOTEBOOK_NAME)
    return found == bytes(extra["notebook"])


def imports_in_image(image: str) -> str:
    """pandas, matplotlib and helpers import in the image, in its analysis folder."""
    code = "import pandas, matplotlib, helpers; print(pandas.__version__, matplotlib.__version__)"
    completed = subprocess.run(
        [
            require_executable("docker"),
            "run",
            "--rm",
            "--entrypoint",
            "python",
            "-w",
            ANALYSIS_DIR,
            image,
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
    )
    return completed.stdout.strip() if completed.returncode == 0 else ""


def package_layer_has(bench: Bench, repository: str, name: str) -> bool:
    raw = registry_get(f"{bench.registry_url}/v2/{repository}/manifests/latest", MANIFEST_TYPES)
    digest = json.loads(raw)["layers"][-2]["digest"]
    blob = registry_get(f"{bench.registry_url}/v2/{repository}/blobs/{digest}")
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as archive:
        return any(member.name.endswith(f"site-packages/{name}/__init__.py") for member in archive)


def checks(bench: Bench, results: Mapping[str, Mapping[str, Samples]]) -> dict[str, bool]:
    """Each side did its work: the last image of each experiment holds its round's notebook
    and the packages; the last first-build images import them when run."""
    found: dict[str, bool] = {}
    for experiment, samples in results.items():
        for name, s in samples.items():
            extra = s.extras[-1]
            found[f"{experiment}, {name}: top layer holds the round's notebook"] = (
                top_layer_notebook(bench, extra)
            )
    for name, s in results[FIRST].items():
        extra = s.extras[-1]
        found[f"first build, {name}: package layer holds pandas and matplotlib"] = all(
            package_layer_has(bench, extra["repository"], package)
            for package in ("pandas", "matplotlib")
        )
        image = extra["result"]["reference"] if name == IOTA else extra["image"]
        if name == IOTA:
            run_command([require_executable("docker"), "pull", "-q", image])
            bench.engine_images.append(image)
        versions = imports_in_image(image)
        progress(f"{name}: the image imports pandas, matplotlib, helpers: {versions or 'NO'}")
        found[f"first build, {name}: pandas, matplotlib and helpers import in the image"] = bool(
            versions
        )
    return found


# --- report -----------------------------------------------------------------------------


def counts(samples: Samples) -> list[PushCount]:
    return [extra["count"] for extra in samples.extras]


def median_of(values: Sequence[PushCount], name: str) -> float:
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


BYTE_COLUMNS = {
    "total": "bytes_sent",
    "package layer": "package_layer_bytes",
    "notebook layer": "notebook_layer_bytes",
    "config": "config_bytes",
    "manifest": "manifest_bytes",
    "base layers": "base_layer_bytes",
    "other": "other_bytes",
}
COUNT_COLUMNS = ("blobs_uploaded", "blobs_mounted", "blobs_present")


def mount_sources(values: Sequence[PushCount]) -> str:
    sources = sorted({source for v in values for source in v.mounted_from})
    if len(sources) > 3:
        return f"{sources[0]}, ... ({len(sources)} repositories)"
    return ", ".join(sources) or "-"


def bytes_table(samples: Mapping[str, Samples]) -> str:
    rows: list[list[object]] = []
    for name, s in samples.items():
        values = counts(s)
        row: list[object] = [name]
        row += [f"{median_of(values, column):,.0f}" for column in BYTE_COLUMNS.values()]
        row.append("/".join(f"{median_of(values, column):.0f}" for column in COUNT_COLUMNS))
        row.append(mount_sources(values))
        rows.append(row)
    headers = ["bytes sent (median, at the proxy)", *BYTE_COLUMNS]
    headers += ["blobs up/mounted/HEAD 200", "mounted from"]
    return format_table(headers, rows)


def layer_sizes(
    bench: Bench, first: Mapping[str, Samples], kernel_installed: int
) -> dict[str, Any]:
    iota, docker = first[IOTA].extras, first[DOCKER].extras
    return {
        "distributions": bench.pins,
        "installed_in_kernel_env": kernel_installed,
        "iota_dependency_layer": statistics.median(
            e["result"]["dependency_layer_size"] for e in iota
        ),
        "iota_installed": statistics.median(e["result"]["dependency_installed_size"] for e in iota),
        "iota_layer_digests": sorted({e["count"].package_layer_digest for e in iota}),
        "docker_layer_digests": sorted({e["count"].package_layer_digest for e in docker}),
        "docker_pip_layer": statistics.median(e["count"].package_layer_size for e in docker),
        "docker_pip_layer_uncompressed": statistics.median(
            e["pip_layer_uncompressed"] for e in docker
        ),
    }


def sizes_text(sizes: Mapping[str, Any]) -> str:
    def mb(value: float) -> str:
        return f"{value / 1e6:.1f} MB"

    rows = [
        [
            "iota dependency layer (--json)",
            mb(sizes["iota_dependency_layer"]),
            mb(sizes["iota_installed"]),
            f"{sizes['iota_dependency_layer'] / sizes['iota_installed']:.2f}",
        ],
        [
            "docker pip layer (manifest; docker history)",
            mb(sizes["docker_pip_layer"]),
            mb(sizes["docker_pip_layer_uncompressed"]),
            f"{sizes['docker_pip_layer'] / max(1, sizes['docker_pip_layer_uncompressed']):.2f}",
        ],
        [
            "the same distributions in the kernel's env",
            "",
            mb(sizes["installed_in_kernel_env"]),
            "",
        ],
    ]
    table = format_table(["package layer (first build)", "compressed", "installed", "ratio"], rows)
    names = sizes["distributions"]
    return f"{table}\n({len(names)} distributions: {' '.join(names)})"


def round_ratios(samples: Mapping[str, Samples]) -> list[float]:
    """iota / docker of each round: the two ran back to back, under the same load."""
    return [i / d for i, d in zip(samples[IOTA].seconds, samples[DOCKER].seconds)]


def first_verdict(samples: Mapping[str, Samples]) -> tuple[bool, str]:
    ratio = samples[IOTA].median / samples[DOCKER].median
    met = ratio <= FIRST_BUILD_TARGET
    rounds = ", ".join(f"{r:.2f}" for r in round_ratios(samples))
    return (
        met,
        f"target: median iota / docker <= {FIRST_BUILD_TARGET} "
        f"({'met' if met else 'not met'}): {ratio:.2f}; round by round {rounds}",
    )


def cached_verdict(samples: Mapping[str, Samples]) -> tuple[dict[str, bool], str]:
    iota = samples[IOTA]
    values = counts(iota)
    time_met = iota.median <= CACHED_SECONDS_TARGET
    over = [v.bytes_sent - v.own_files for v in values]
    bytes_met = all(o <= CACHED_BYTES_OVER_FILES for o in over)
    own = [extra["result"]["bytes_uploaded"] for extra in iota.extras]
    lines = [
        f"target: iota <= {CACHED_SECONDS_TARGET:.0f} s ({'met' if time_met else 'not met'}): "
        f"median {seconds_text(iota.median)}",
        f"target: iota uploads <= its own files + {CACHED_BYTES_OVER_FILES:,} B in every round "
        f"({'met' if bytes_met else 'not met'}): "
        f"own files {median_of(values, 'own_files'):,.0f} B, "
        f"sent {median_of(values, 'bytes_sent'):,.0f} B (median), at most {max(over):+,} B over "
        f"its files; its --json bytes_uploaded median {statistics.median(own):,.0f} B",
    ]
    docker = counts(samples[DOCKER])
    docker_over = max(v.bytes_sent - v.own_files for v in docker)
    lines.append(
        f"(docker: median {seconds_text(samples[DOCKER].median)}, "
        f"at most {docker_over:+,} B over its files)"
    )
    return {"time": time_met, "bytes": bytes_met}, "\n".join(lines)


def experiment_json(samples: Mapping[str, Samples]) -> dict[str, Any]:
    iota, docker = samples[IOTA], samples[DOCKER]
    document: dict[str, Any] = {
        "ratio_median": iota.median / docker.median,
        "ratio_min": iota.best / docker.best,
        "ratio_by_round": round_ratios(samples),
        "sides": {},
    }
    for name, s in samples.items():
        side = s.to_json()
        side["pushes"] = [asdict(c) for c in counts(s)]
        side["steps_s"] = [extra["steps"] for extra in s.extras]
        if name == IOTA:
            side["iota_json"] = [extra["result"] for extra in s.extras]
        else:
            side["pip_layer_uncompressed"] = [extra["pip_layer_uncompressed"] for extra in s.extras]
        document["sides"][name] = side
    return document


def build_report(
    bench: Bench,
    results: Mapping[str, Mapping[str, Samples]],
    sizes: Mapping[str, Any],
    found: Mapping[str, bool],
    args: BenchArgs,
) -> None:
    first_met, first_text = first_verdict(results[FIRST])
    new_met, new_text = cached_verdict(results[NEW])
    edit_met, edit_text = cached_verdict(results[EDIT])
    verdicts = {FIRST: first_text, NEW: new_text, EDIT: edit_text}
    parts = [
        f"registry: docker-registry behind a counting proxy at {bench.registry}; base "
        f"{BASE_IMAGE} pushed as {bench.base}; pip on both sides from the same index"
    ]
    for experiment in EXPERIMENTS:
        samples = results[experiment.key]
        rounds = len(samples[IOTA].seconds)
        parts += [f"{experiment.title} ({rounds} timed rounds)", time_table(samples)]
        parts += [verdicts[experiment.key], bytes_table(samples)]
    parts.append(sizes_text(sizes))
    parts.append("checks: " + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in found.items()))
    document = {
        "registry": bench.registry,
        "base": bench.base,
        "lock": bench.pins,
        "bytes_measured_at": "counting reverse proxy in front of the registry (request bodies)",
        "first_build": experiment_json(results[FIRST])
        | {"target_ratio": FIRST_BUILD_TARGET, "target_met": first_met},
        "new_notebook": experiment_json(results[NEW])
        | {"targets_met": new_met, "target_seconds": CACHED_SECONDS_TARGET},
        "cell_edit": experiment_json(results[EDIT])
        | {"targets_met": edit_met, "target_seconds": CACHED_SECONDS_TARGET},
        "target_bytes_over_own_files": CACHED_BYTES_OVER_FILES,
        "package_layer_sizes": dict(sizes),
        "checks": dict(found),
    }
    report(
        "iota-container build (oci, with packages) vs docker build (pip install) + push",
        "\n\n".join(parts),
        document,
        args,
    )


# --- command line -----------------------------------------------------------------------


def first_build_rounds() -> int:
    """--first-builds N, taken out of the command line before the common options are read."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--first-builds", type=int)
    known, rest = parser.parse_known_args()
    sys.argv[1:] = rest
    if known.first_builds:
        return int(known.first_builds)
    return 1 if "--quick" in rest else 3


def main() -> None:
    first_rounds = first_build_rounds()
    args = parse_args(
        "iota-container build --backend oci with a notebook's packages vs docker build "
        "(pip install -r the same lock) + docker push. --first-builds N: timed rounds of "
        "the first build [default 3, 1 with --quick]",
        repetitions=8,
        quick_repetitions=3,
    )
    check_engine()
    with temp_dir("packages") as workdir, bench_setup(workdir) as bench:
        push_base(bench)
        kernel_installed = installed_size_in_kernel(bench.pins)
        results = {
            experiment.key: run_experiment(
                bench, experiment, first_rounds if experiment.key == FIRST else args.repetitions
            )
            for experiment in EXPERIMENTS
        }
        found = checks(bench, results)
        sizes = layer_sizes(bench, results[FIRST], kernel_installed)
        build_report(bench, results, sizes, found, args)


if __name__ == "__main__":
    main()
