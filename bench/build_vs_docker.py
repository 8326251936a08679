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
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
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
    CountingProxy,
    PushFigures,
    PushTally,
    counting_proxy,
    file_in_top_layer,
    image_config,
    image_layout,
    registry_server,
)

TARGET_RATIO = 0.2
BASE_IMAGE = "iota-container/base:test"
EXAMPLE = BENCH_DIR.parent / "examples" / "sensor-report" / "sensor-report.ipynb"
EDITED_CELL = 4  # a code cell after the `parameters` cell: the image's variables stay put
IMAGE_UID = 1000  # the base image's user, owner of the analysis folder
ANALYSIS_DIR = "/home/iota/analysis"
IOTA, DOCKER = "iota-container build --backend oci", "docker build + docker push"


# --- the notebook -----------------------------------------------------------------------


def notebook_bytes(value: str) -> bytes:
    """The example notebook with `value` written into one code cell: the edit of a round."""
    notebook = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    notebook["cells"][EDITED_CELL]["source"].insert(0, f'report_revision = "{value}"\n')
    return (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode()


# --- the two sides ----------------------------------------------------------------------


@dataclass
class Bench:
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


def iota_env() -> dict[str, str]:
    # The default base, REGISTRY/iota-container/base:VERSION, is the one under test.
    return {k: v for k, v in os.environ.items() if k != "IOTA_BASE_IMAGE"}


def docker_env() -> dict[str, str]:
    # No buildx here: the legacy builder, chosen explicitly rather than by fallback.
    return {**os.environ, "DOCKER_BUILDKIT": "0"}


# The lines `iota-container build` logs, in order, and what happens before each of them.
IOTA_MARKERS = (
    ("building ", "start-up, imports, notebook read and inspected"),
    ("pushing blobs", "base image read (https probe, ping, manifest, config)"),
    ("pushing manifest", "blobs: HEAD, mount, upload"),
)
IOTA_LAST_STEP = "manifest PUT, JSON printed, exit"


def iota_build(
    bench: Bench, notebook: Path, repository: str
) -> tuple[float, dict[str, Any], dict[str, float]]:
    """Wall time, the --json result, and where the time went, from when each logged line
    arrived on stderr."""
    command = [require_executable("iota-container"), "build", str(notebook)]
    command += ["--repository", f"{bench.registry}/{repository}:latest", "--backend", "oci"]
    command.append("--json")
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=iota_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # stdout (one small JSON object) is read after stderr: it cannot fill its pipe first.
    lines = [(time.perf_counter(), line) for line in process.stderr or ()]
    stdout = process.stdout.read() if process.stdout else ""
    process.wait()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(
            f"bench: {' '.join(command)} exited {process.returncode}\n"
            + "".join(line for _, line in lines)[-3000:]
        )
    return seconds, json.loads(stdout), iota_steps(started, lines, started + seconds)


def iota_steps(
    started: float, lines: Sequence[tuple[float, str]], ended: float
) -> dict[str, float]:
    steps, previous = {}, started
    for marker, step in IOTA_MARKERS:
        at = next((t for t, line in lines if line.startswith(f"iota-container: {marker}")), None)
        if at is not None:
            steps[step], previous = at - previous, at
    steps[IOTA_LAST_STEP] = ended - previous
    return steps


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
        seconds, result, steps = iota_build(bench, notebook, repository)
        tally = PushTally.of(bench.proxy.since(mark))
        layout = image_layout(bench.registry_url, repository, "latest")
        figures = PushFigures.of(tally, layout, notebook.stat().st_size)
        extra = {"figures": figures, "result": result, "steps": steps}
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
        extra = {"figures": figures, "steps": steps, "value": value, "repository": repository}
        return Measured(pushed - started, extra)

    return run


# --- set-up and clean-up ----------------------------------------------------------------


def check_engine() -> None:
    docker = require_executable("docker")
    if subprocess.run([docker, "info"], capture_output=True).returncode != 0:
        raise SystemExit("bench: no Docker engine answers: bash scripts/start-docker-engine.sh")
    if subprocess.run([docker, "image", "inspect", BASE_IMAGE], capture_output=True).returncode:
        raise SystemExit(
            f"bench: the engine has no {BASE_IMAGE}: "
            f"bash scripts/build-base-image.sh --tag {BASE_IMAGE}"
        )


def push_base(bench: Bench) -> None:
    docker = require_executable("docker")
    run_command([docker, "tag", BASE_IMAGE, bench.base])
    bench.engine_images.append(bench.base)
    progress(f"pushing {BASE_IMAGE} as {bench.base} (untimed)")
    run_command([docker, "push", "-q", bench.base])


def reference_metadata(bench: Bench) -> tuple[dict[str, str], dict[str, str]]:
    """The environment and labels of an image iota-container built from the same notebook,
    for the Dockerfile of the other side (untimed; the edits leave them unchanged)."""
    folder = bench.workdir / "reference"
    folder.mkdir()
    notebook = folder / EXAMPLE.name
    notebook.write_bytes(notebook_bytes("reference"))
    iota_build(bench, notebook, "bench/reference")
    layout = image_layout(bench.registry_url, "bench/reference", "latest")
    config = image_config(bench.registry_url, "bench/reference", layout)
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    ours = {name: env[name] for name in ("NOTEBOOK_PATH", "KERNEL_NAME") if name in env}
    base_repository, _, base_tag = bench.base.split("/", 1)[1].rpartition(":")
    base_layout = image_layout(bench.registry_url, base_repository, base_tag)
    inherited = image_config(bench.registry_url, base_repository, base_layout).get("Labels") or {}
    labels = config.get("Labels") or {}
    return ours, {k: v for k, v in labels.items() if inherited.get(k) != v}


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
def bench_setup(workdir: Path) -> Iterator[Bench]:
    from iota_container import __version__

    with registry_server(workdir) as registry, counting_proxy(registry.port) as proxy:
        bench = Bench(workdir, registry.url, proxy, __version__)
        try:
            yield bench
        finally:
            remove_engine_images(bench.engine_images)


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


def figures_of(samples: Samples) -> list[PushFigures]:
    return [extra["figures"] for extra in samples.extras]


def median_of(figures: Sequence[PushFigures], name: str) -> float:
    return statistics.median(getattr(f, name) for f in figures)


def step_rows(samples: Samples) -> list[list[object]]:
    names = list(dict.fromkeys(name for extra in samples.extras for name in extra["steps"]))
    rows: list[list[object]] = []
    for name in names:
        values = [extra["steps"][name] for extra in samples.extras if name in extra["steps"]]
        rows.append(
            [f"  {name}", seconds_text(statistics.median(values)), seconds_text(min(values))]
        )
    return rows


def time_table(samples: Mapping[str, Samples]) -> str:
    iota, docker = samples[IOTA], samples[DOCKER]
    inside = [extra["result"]["seconds"] for extra in iota.extras]
    rows: list[list[object]] = [[iota.name, seconds_text(iota.median), seconds_text(iota.best)]]
    rows += step_rows(iota)
    rows.append(
        [
            "  (its --json seconds: build_and_push alone)",
            seconds_text(statistics.median(inside)),
            seconds_text(min(inside)),
        ]
    )
    rows.append([docker.name, seconds_text(docker.median), seconds_text(docker.best)])
    rows += step_rows(docker)
    rows.append(
        [
            "ratio iota / docker",
            f"{iota.median / docker.median:.2f}",
            f"{iota.best / docker.best:.2f}",
        ]
    )
    return format_table(
        ["wall time per push (steps: from stderr line times)", "median", "min"], rows
    )


BYTE_COLUMNS = {
    "total": "bytes_sent",
    "top layer": "top_layer_bytes",
    "config": "config_bytes",
    "manifest": "manifest_bytes",
    "base layers": "base_layer_bytes",
    "other": "other_bytes",
}
COUNT_COLUMNS = ("blobs_uploaded", "blobs_mounted", "blobs_present")


def mount_sources(figures: Sequence[PushFigures]) -> str:
    sources = sorted({source for f in figures for source in f.mounted_from})
    if len(sources) > 2:
        return f"{sources[0]} ... {sources[-1]} ({len(sources)} repositories)"
    return ", ".join(sources) or "-"


def bytes_table(samples: Mapping[str, Samples]) -> str:
    rows: list[list[object]] = []
    for name, s in samples.items():
        figures = figures_of(s)
        row: list[object] = [name]
        row += [f"{median_of(figures, column):,.0f}" for column in BYTE_COLUMNS.values()]
        row.append("/".join(f"{median_of(figures, column):.0f}" for column in COUNT_COLUMNS))
        row.append(mount_sources(figures))
        rows.append(row)
    headers = ["bytes sent (median, at the proxy)", *BYTE_COLUMNS]
    headers += ["blobs up/mounted/HEAD 200", "mounted from"]
    return format_table(headers, rows)


def upload_target(samples: Samples) -> tuple[bool, str]:
    """iota sent only what the image lacks: the top layer, the config, the manifest."""
    figures = figures_of(samples)
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


def experiment_json(
    samples: Mapping[str, Samples], upload_met: bool, ratio_target: float | None
) -> dict[str, Any]:
    iota, docker = samples[IOTA], samples[DOCKER]
    document: dict[str, Any] = {
        "ratio_median": iota.median / docker.median,
        "ratio_min": iota.best / docker.best,
        "target_ratio": ratio_target,
        "iota_upload_target_met": upload_met,
        "sides": {},
    }
    if ratio_target is not None:
        document["ratio_target_met"] = iota.median / docker.median <= ratio_target
    for name, s in samples.items():
        side = s.to_json()
        side["pushes"] = [asdict(f) for f in figures_of(s)]
        if name == IOTA:
            side["iota_json"] = [extra["result"] for extra in s.extras]
        side["steps_s"] = [extra["steps"] for extra in s.extras]
        document["sides"][name] = side
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
    text = "\n\n".join([title, time_table(samples), verdict, bytes_table(samples), upload_text])
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
    check_text = "checks: " + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in checks.items())
    document = {
        "registry": bench.registry,
        "base": bench.base,
        "bytes_measured_at": "counting reverse proxy in front of the registry (request bodies)",
        "edit_rebuild_push": experiment_json(edit, met_1, TARGET_RATIO),
        "first_push_new_repository": experiment_json(new, met_2, None),
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
    with temp_dir("build") as workdir, bench_setup(workdir) as bench:
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
