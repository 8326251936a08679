"""`iota-container build --backend oci` versus `docker build` + `docker push`, one registry.

A `docker-registry` on a free loopback port holds the base image (pushed untimed as
REGISTRY/iota-container/base:VERSION); both sides push through the same counting proxy
in front of it, so the bytes each side uploads are counted on the wire, alike.

1. Edit one cell, rebuild and push: each round changes one cell of the sensor-report
   example, then `iota-container build NB --repository REGISTRY/bench/oci:latest
   --backend oci --json` versus a Dockerfile (FROM the base, the same ENV and labels,
   COPY of the notebook) built with `docker build` and pushed with `docker push` to
   REGISTRY/bench/docker:latest. Targets: wall time iota / docker <= 0.2; iota uploads
   nothing but the notebook layer, the image config and the manifest.
2. First push of a new notebook to a new repository (REGISTRY/bench/oci-new-N, and
   bench/docker-new-N for docker) of a registry that already holds the base. Target: no
   base layer uploaded again (mounted or found), so again layer + config + manifest.

    python bench/build_vs_docker.py [--quick] [--json] [--repetitions N]
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import time
from collections.abc import Callable, Mapping
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
    push_base,
    pushes,
    registry_bench,
    time_table,
)
from _common import (
    BENCH_DIR,
    BenchArgs,
    Measured,
    Samples,
    alternate,
    parse_args,
    progress,
    report,
    require_executable,
    run_command,
    temp_dir,
)
from _registry import PushFigures, PushTally, file_in_top_layer, image_config, image_layout

TARGET_RATIO = 0.2
EXAMPLE = BENCH_DIR.parent / "examples" / "sensor-report" / "sensor-report.ipynb"
EDITED_CELL = 4  # a code cell after the `parameters` cell: the image's variables stay put


# --- the notebook -----------------------------------------------------------------------


def notebook_bytes(value: str) -> bytes:
    """The example notebook with `value` written into one code cell: the edit of a round."""
    notebook = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    notebook["cells"][EDITED_CELL]["source"].insert(0, f'report_revision = "{value}"\n')
    return (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode()


# --- the two sides ----------------------------------------------------------------------


Bench = RegistryBench  # this benchmark needs nothing more


def iota_env() -> dict[str, str]:
    # The default base, REGISTRY/iota-container/base:VERSION, is the one under test.
    return {k: v for k, v in os.environ.items() if k != "IOTA_BASE_IMAGE"}


# The lines `iota-container build` logs, and the step each one starts.
IOTA_STEPS = LoggedSteps(
    "start-up, imports, notebook read and inspected",
    (
        ("building ", "base image read (https probe, ping, manifest, config)"),
        ("pushing blobs", "blobs: HEAD, mount, upload"),
        ("pushing manifest", "manifest PUT, JSON printed, exit"),
    ),
)


def iota_side(
    bench: Bench, repository_of: Callable[[int], str], value_of: Callable[[int], str]
) -> Callable[[], Measured]:
    folder = bench.workdir / "iota"
    folder.mkdir(exist_ok=True)
    notebook = folder / EXAMPLE.name
    counter = itertools.count()

    def run() -> Measured:
        index = next(counter)
        value, repository = value_of(index), repository_of(index)
        notebook.write_bytes(notebook_bytes(value))
        mark = bench.proxy.mark()
        seconds, result, steps = iota_build(
            bench.registry, notebook, repository, iota_env(), IOTA_STEPS
        )
        tally = PushTally.of(bench.proxy.since(mark))
        layout = image_layout(bench.registry_url, repository, "latest")
        figures = PushFigures.of(tally, layout, notebook.stat().st_size)
        extra = {"push": figures, "result": result, "steps": steps}
        extra |= {"value": value, "repository": repository}
        return Measured(seconds, extra)

    return run


def write_dockerfile(
    folder: Path, base: str, env: Mapping[str, str], labels: Mapping[str, str]
) -> None:
    """What someone would write by hand for the same image: FROM the base, the runtime's
    environment and the same labels, then COPY of the notebook owned by the image user."""

    def quoted(value: str) -> str:  # Dockerfile double quotes expand `$` and read `\\`
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'

    def instruction(keyword: str, pairs: Mapping[str, str]) -> str:
        return f"{keyword} " + " \\\n    ".join(f"{k}={quoted(v)}" for k, v in pairs.items())

    lines = [f"FROM {base}", instruction("ENV", env), instruction("LABEL", labels)]
    lines.append(f"COPY --chown={IMAGE_UID}:{IMAGE_UID} {EXAMPLE.name} {ANALYSIS_DIR}/")
    (folder / "Dockerfile").write_text("\n".join(lines) + "\n", encoding="utf-8")


def docker_side(
    bench: Bench, context: Path, repository_of: Callable[[int], str], value_of: Callable[[int], str]
) -> Callable[[], Measured]:
    notebook = context / EXAMPLE.name
    counter = itertools.count()
    docker = require_executable("docker")

    def run() -> Measured:
        index = next(counter)
        value, repository = value_of(index), repository_of(index)
        tag = f"{bench.registry}/{repository}:latest"
        notebook.write_bytes(notebook_bytes(value))
        image_id_file = context.parent / f"image-id-{repository.replace('/', '-')}-{index}"
        bench.engine_images.append(tag)
        mark = bench.proxy.mark()
        started = time.perf_counter()
        run_command(
            [docker, "build", "-q", "--iidfile", str(image_id_file), "-t", tag, str(context)],
            docker_env(),
        )
        built = time.perf_counter()
        run_command([docker, "push", "-q", tag], docker_env())
        pushed = time.perf_counter()
        bench.engine_images.append(image_id_file.read_text().strip())
        tally = PushTally.of(bench.proxy.since(mark))
        layout = image_layout(bench.registry_url, repository, "latest")
        figures = PushFigures.of(tally, layout, notebook.stat().st_size)
        steps = {"docker build": built - started, "docker push": pushed - built}
        extra = {"push": figures, "steps": steps, "value": value, "repository": repository}
        return Measured(pushed - started, extra)

    return run


# --- set-up and clean-up ----------------------------------------------------------------


def reference_metadata(bench: Bench) -> tuple[dict[str, str], dict[str, str]]:
    """The environment and labels of an image iota-container built from the same notebook,
    for the Dockerfile of the other side (untimed; the edits leave them unchanged)."""
    folder = bench.workdir / "reference"
    folder.mkdir()
    notebook = folder / EXAMPLE.name
    notebook.write_bytes(notebook_bytes("reference"))
    iota_build(bench.registry, notebook, "bench/reference", iota_env(), IOTA_STEPS)
    layout = image_layout(bench.registry_url, "bench/reference", "latest")
    config = image_config(bench.registry_url, "bench/reference", layout)
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    ours = {name: env[name] for name in ("NOTEBOOK_PATH", "KERNEL_NAME") if name in env}
    base_repository, _, base_tag = bench.base.split("/", 1)[1].rpartition(":")
    base_layout = image_layout(bench.registry_url, base_repository, base_tag)
    inherited = image_config(bench.registry_url, base_repository, base_layout).get("Labels") or {}
    labels = config.get("Labels") or {}
    return ours, {k: v for k, v in labels.items() if inherited.get(k) != v}


# --- the two experiments ----------------------------------------------------------------


def edit_and_rebuild(bench: Bench, context: Path, args: BenchArgs) -> dict[str, Samples]:
    progress("1. edit one cell, rebuild and push (the warm-up round makes both repositories)")

    def value(index: int) -> str:
        return f"edit-{index}"

    return alternate(
        {
            IOTA: iota_side(bench, lambda _: "bench/oci", value),
            DOCKER: docker_side(bench, context, lambda _: "bench/docker", value),
        },
        args.repetitions,
    )


def first_push(bench: Bench, context: Path, args: BenchArgs) -> dict[str, Samples]:
    progress("2. first push of a new notebook to a new repository")

    def value(index: int) -> str:
        return f"new-{index}"

    return alternate(
        {
            IOTA: iota_side(bench, lambda i: f"bench/oci-new-{i}", value),
            DOCKER: docker_side(bench, context, lambda i: f"bench/docker-new-{i}", value),
        },
        args.repetitions,
    )


def same_content(bench: Bench, samples: Mapping[str, Samples]) -> dict[str, bool]:
    """Both last images carry the same labels, and each the notebook of its last round (a
    side that skipped its work would look fast). Untimed."""
    last = {name: s.extras[-1] for name, s in samples.items()}
    configs, notebooks_ok = [], {}
    for name, extra in last.items():
        layout = image_layout(bench.registry_url, extra["repository"], "latest")
        configs.append(image_config(bench.registry_url, extra["repository"], layout))
        found = file_in_top_layer(bench.registry_url, extra["repository"], layout, EXAMPLE.name)
        notebooks_ok[f"{name}: top layer holds the edited notebook"] = found == notebook_bytes(
            extra["value"]
        )
    return {
        "same labels in both images": configs[0].get("Labels") == configs[1].get("Labels"),
        **notebooks_ok,
    }


# --- report -----------------------------------------------------------------------------


BYTE_COLUMNS = {
    "total": "bytes_sent",
    "top layer": "top_layer_bytes",
    "config": "config_bytes",
    "manifest": "manifest_bytes",
    "base layers": "base_layer_bytes",
    "other": "other_bytes",
}


def upload_target(samples: Samples) -> tuple[bool, str]:
    """iota sent only what the image lacks: the top layer, the config, the manifest."""
    figures: list[PushFigures] = pushes(samples)
    met = all(f.base_layers_uploaded == 0 and f.bytes_sent <= f.needed for f in figures)
    own = statistics.median(extra["result"]["bytes_uploaded"] for extra in samples.extras)
    sent, notebook = median_of(figures, "bytes_sent"), median_of(figures, "notebook_bytes")
    text = (
        f"target: iota uploads only top layer + config + manifest, no base layer "
        f"({'met' if met else 'not met'}): median {sent:,.0f} B sent, "
        f"{median_of(figures, 'needed'):,.0f} B needed; notebook {notebook:,.0f} B, "
        f"so {sent - notebook:+,.0f} B over the notebook; iota's own --json bytes_uploaded "
        f"median {own:,.0f} B"
    )
    return met, text


def experiment_json_with_targets(
    samples: Mapping[str, Samples], upload_met: bool, ratio_target: float | None
) -> dict[str, Any]:
    iota, docker = samples[IOTA], samples[DOCKER]
    document = experiment_json(samples)
    document |= {"target_ratio": ratio_target, "iota_upload_target_met": upload_met}
    if ratio_target is not None:
        document["ratio_target_met"] = iota.median / docker.median <= ratio_target
    return document


def experiment_text(
    title: str, samples: Mapping[str, Samples], ratio_target: float | None
) -> tuple[str, bool]:
    iota, docker = samples[IOTA], samples[DOCKER]
    ratio = iota.median / docker.median
    if ratio_target is None:
        verdict = "no target for the time"
    else:
        met = "met" if ratio <= ratio_target else "not met"
        verdict = f"target: median ratio <= {ratio_target} ({met})"
    upload_met, upload_text = upload_target(iota)
    tables = [time_table(samples), verdict, bytes_table(samples, BYTE_COLUMNS), upload_text]
    text = "\n\n".join([title, *tables])
    return text, upload_met


def build_report(
    bench: Bench,
    edit: Mapping[str, Samples],
    new: Mapping[str, Samples],
    checks: dict[str, bool],
    args: BenchArgs,
) -> None:
    text_1, met_1 = experiment_text("1. edit one cell, rebuild and push", edit, TARGET_RATIO)
    text_2, met_2 = experiment_text(
        "2. first push of a new notebook to a new repository (registry holds the base)", new, None
    )
    header = (
        f"registry: docker-registry behind a counting proxy at {bench.registry}; "
        f"base {BASE_IMAGE} pushed as {bench.base}"
    )
    check_text = checks_text(checks)
    document = {
        "registry": bench.registry,
        "base": bench.base,
        "bytes_measured_at": "counting reverse proxy in front of the registry (request bodies)",
        "edit_rebuild_push": experiment_json_with_targets(edit, met_1, TARGET_RATIO),
        "first_push_new_repository": experiment_json_with_targets(new, met_2, None),
        "checks": checks,
    }
    report(
        "iota-container build (oci) vs docker build + push",
        "\n\n".join([header, text_1, text_2, check_text]),
        document,
        args,
    )


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], repetitions=8, quick_repetitions=2)
    check_engine()
    with temp_dir("build") as workdir, registry_bench(workdir, Bench) as bench:
        push_base(bench)
        env, labels = reference_metadata(bench)
        context = workdir / "docker-context"
        context.mkdir()
        write_dockerfile(context, bench.base, env, labels)
        edit = edit_and_rebuild(bench, context, args)
        checks = same_content(bench, edit)
        new = first_push(bench, context, args)
        build_report(bench, edit, new, checks, args)


if __name__ == "__main__":
    main()
