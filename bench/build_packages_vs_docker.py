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
import functools
import itertools
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _builds import (
    ANALYSIS_DIR,
    BASE_IMAGE,
    DOCKER,
    IMAGE_UID,
    IOTA,
    LoggedSteps,
    RegistryBench,
    bytes_table,
    check_engine,
    checks_text,
    docker_env,
    experiment_json,
    iota_build,
    median_of,
    pushes,
    registry_bench,
    remove_engine_images,
    time_table,
)
from _builds import push_base as push_base_image
from _common import (
    BenchArgs,
    Measured,
    Samples,
    alternate,
    parse_args,
    progress,
    report,
    require_executable,
    run_command,
    seconds_text,
    temp_dir,
)
from _packages import (
    KERNEL,
    NOTEBOOK_NAME,
    PushCount,
    docker_build_steps,
    docker_lines,
    imports_in_image,
    installed_size_in_kernel,
    layer_sizes,
    lock_of,
    notebook_bytes,
    package_layer_has,
    pip_layer_size,
    sizes_text,
    write_analysis,
)
from _registry import PushTally, file_in_top_layer, image_layout

FIRST_BUILD_TARGET = 0.3  # wall time iota / docker
CACHED_SECONDS_TARGET = 1.0
CACHED_BYTES_OVER_FILES = 20_000  # what iota may upload beyond the notebook's own files
FIRST, NEW, EDIT = "first", "new", "edit"

# --- the bench --------------------------------------------------------------------------


@dataclass(kw_only=True)
class Bench(RegistryBench):
    requirements: str  # the lock, as requirements.txt
    pins: list[str]
    base_layers: frozenset[str] = frozenset()

    def pushed(self, mark: int, repository: str, own_files: int) -> PushCount:
        """The push the proxy saw since `mark`, counted against the image it made."""
        tally = PushTally.of(self.proxy.since(mark))
        return PushCount.of(self.registry_url, self.base_layers, tally, repository, own_files)


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


# --- the iota side ----------------------------------------------------------------------

# The lines `iota-container build` logs and the step each one starts; a step ends where the
# next line found begins.
IOTA_STEPS = LoggedSteps(
    "start-up, imports, notebook read and inspected",
    (
        ("building ", "base image read (https probe, ping, manifest, config)"),
        ("detecting the notebook's packages", "packages detected in the kernel's Python"),
        ("resolving ", "pip download: resolve and fetch the wheels"),
        ("installing ", "wheels installed, compiled, packed; imports checked"),
        ("dependency layer from the cache", "layer read from the cache; imports checked"),
        ("pushing blobs", "blobs: HEAD, mount, upload"),
        ("pushing manifest", "manifest PUT, JSON printed, exit"),
    ),
)


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
        notebook = folder / NOTEBOOK_NAME
        seconds, result, steps = iota_build(bench.registry, notebook, repository, env, IOTA_STEPS)
        count = bench.pushed(mark, repository, own_files)
        extra = {"push": count, "result": result, "steps": steps, "repository": repository}
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
        count = bench.pushed(mark, repository, own_files)
        steps = docker_build_steps(started, lines, built) | {"docker push": pushed - built}
        extra = {"push": count, "steps": steps, "repository": repository, "image": image_id}
        extra["notebook"] = notebook_bytes(analysis, revision)
        extra["pip_layer_uncompressed"] = pip_layer_size(image_id)
        if experiment.nothing_cached:  # untimed: each first build's image is 500 MB in the engine
            remove_engine_images(previous)
            previous[:] = [tag, image_id]
        return Measured(pushed - started, extra)

    return run


# --- set-up -----------------------------------------------------------------------------


def push_base(bench: Bench) -> None:
    push_base_image(bench)
    repository, _, tag = bench.base.split("/", 1)[1].rpartition(":")
    layout = image_layout(bench.registry_url, repository, tag)
    bench.base_layers = frozenset(layout.base_layers) | {layout.top_layer[0]}


@contextmanager
def bench_setup(workdir: Path) -> Iterator[Bench]:
    probe = workdir / "lock"
    write_analysis(probe, "lock", "lock")
    requirements, pins = lock_of(probe / NOTEBOOK_NAME)
    progress(f"the notebook's lock: {' '.join(pins)}")
    with registry_bench(
        workdir, functools.partial(Bench, requirements=requirements, pins=pins)
    ) as bench:
        yield bench


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
            package_layer_has(bench.registry_url, extra["repository"], package)
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


BYTE_COLUMNS = {
    "total": "bytes_sent",
    "package layer": "package_layer_bytes",
    "notebook layer": "notebook_layer_bytes",
    "config": "config_bytes",
    "manifest": "manifest_bytes",
    "base layers": "base_layer_bytes",
    "other": "other_bytes",
}


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
    values: list[PushCount] = pushes(iota)
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
    docker: list[PushCount] = pushes(samples[DOCKER])
    docker_over = max(v.bytes_sent - v.own_files for v in docker)
    lines.append(
        f"(docker: median {seconds_text(samples[DOCKER].median)}, "
        f"at most {docker_over:+,} B over its files)"
    )
    return {"time": time_met, "bytes": bytes_met}, "\n".join(lines)


def experiment_json_with_rounds(samples: Mapping[str, Samples]) -> dict[str, Any]:
    document = experiment_json(samples)
    document["ratio_by_round"] = round_ratios(samples)
    docker = document["sides"][DOCKER]
    docker["pip_layer_uncompressed"] = [e["pip_layer_uncompressed"] for e in samples[DOCKER].extras]
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
        parts += [verdicts[experiment.key], bytes_table(samples, BYTE_COLUMNS)]
    parts.append(sizes_text(sizes))
    parts.append(checks_text(found))
    document = {
        "registry": bench.registry,
        "base": bench.base,
        "lock": bench.pins,
        "bytes_measured_at": "counting reverse proxy in front of the registry (request bodies)",
        "first_build": experiment_json_with_rounds(results[FIRST])
        | {"target_ratio": FIRST_BUILD_TARGET, "target_met": first_met},
        "new_notebook": experiment_json_with_rounds(results[NEW])
        | {"targets_met": new_met, "target_seconds": CACHED_SECONDS_TARGET},
        "cell_edit": experiment_json_with_rounds(results[EDIT])
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
        sizes = layer_sizes(bench.pins, results[FIRST], kernel_installed)
        build_report(bench, results, sizes, found, args)


if __name__ == "__main__":
    main()
