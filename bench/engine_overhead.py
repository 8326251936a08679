"""`iota-container dataset run NAME --container` versus a bare `docker run` of the same image.

What the dataset engine adds to one container run: CLI start-up, opening the store,
resolving the variables and writing the params file, creating and starting the
container through the Docker API, collecting its log and recording the version. The
other side runs the same image with `docker run --rm --network host`, a params file
with the same content mounted read-only at the contract's path and a world-writable
output folder mounted at its own path (file:// outputs), all prepared untimed.
Target: wall time engine / docker run <= 1.2.

Set-up (untimed): a temp IOTA_HOME; a small notebook (a `parameters` cell, a cell that
prints a value) built with `iota-container build --backend docker --base
iota-container/base:test` and pushed to a `docker-registry` on a free loopback port;
`iota-container dataset new bench_engine --from-image REF@sha256:...` and `dataset
register`; one `dataset run` whose params file is the template of the other side's.

    python bench/engine_overhead.py [--quick] [--json] [--repetitions N]
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from _builds import BASE_IMAGE, check_engine, remove_engine_images
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
from _engine_timeline import (
    DATASET,
    PHASES,
    docker_steps,
    engine_steps,
    moment,
    phases,
    probe_once,
)
from _registry import registry_server

TARGET_RATIO = 1.2
REPOSITORY = "bench/engine"
NOTEBOOK_NAME = "engine-bench.ipynb"
PRINTED = "hello: 42.0"  # what the notebook prints with its default variables
PARAMS_PATH = "/opt/ml/input/data/iotanalytics/params"  # the contract's path in the image
ENGINE, DOCKER = "iota-container dataset run --container", "docker run --rm"
# The engine passes AWS_* and IOTA_* settings into the container; none are set for either
# side, so both containers get the same environment.
_NOT_INHERITED = ("IOTA_", "AWS_")


# --- set-up -----------------------------------------------------------------------------


def write_notebook(path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('greeting = "hello"\nfactor = 2.0')
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell('print(f"{greeting}: {factor * 21}")')]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))


@dataclass
class Bench:
    workdir: Path
    home: Path
    registry: str
    reference: str = ""  # REGISTRY/bench/engine@sha256:..., what both sides run
    template: dict[str, Any] = field(default_factory=dict)  # the engine's params document
    template_prefix: str = ""  # the output prefix of the run that wrote it
    engine_images: list[str] = field(default_factory=list)  # tags and image IDs to remove

    def engine_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
        return env | {"IOTA_HOME": str(self.home)}


@contextmanager
def bench_setup(workdir: Path) -> Iterator[Bench]:
    with registry_server(workdir) as registry:
        bench = Bench(workdir, workdir / "home", registry.address)
        try:
            yield bench
        finally:
            remove_engine_images(bench.engine_images)


def build_and_push_analysis_image(bench: Bench) -> None:
    notebook = bench.workdir / "analysis" / NOTEBOOK_NAME
    write_notebook(notebook)
    tag = f"{bench.registry}/{REPOSITORY}:latest"
    bench.engine_images.append(tag)  # listed first: removed even if the build fails midway
    progress(f"building and pushing {tag} onto {BASE_IMAGE} (untimed)")
    command = [require_executable("iota-container"), "build", str(notebook), "--repository", tag]
    command += ["--backend", "docker", "--base", BASE_IMAGE, "--json"]
    result = json.loads(run_command(command, bench.engine_env()).stdout)
    bench.reference = result["reference"]
    docker = require_executable("docker")
    image_id = run_command([docker, "image", "inspect", "--format", "{{.Id}}", tag]).stdout
    bench.engine_images.append(image_id.strip())


def register_dataset(bench: Bench) -> None:
    iota = require_executable("iota-container")
    definition = bench.workdir / "def.yaml"
    env = bench.engine_env()
    run_command(
        [iota, "dataset", "new", DATASET, "--from-image", bench.reference, "-o", str(definition)],
        env,
    )
    run_command([iota, "dataset", "register", str(definition)], env)


def read_template(bench: Bench) -> None:
    """One engine run (untimed): its params file is what the other side mounts, with the
    output folder changed."""
    run = run_engine(bench)
    version = run["result"]
    bench.template = json.loads(params_file_of(bench, version).read_text(encoding="utf-8"))
    bench.template_prefix = output_prefix(version["outputs"]["ipynb"])


def params_file_of(bench: Bench, version: Mapping[str, Any]) -> Path:
    return bench.home / "datasets" / DATASET / str(version["versionId"]) / "params"


def output_prefix(uri: str) -> str:
    return uri.rsplit("/", 1)[0]


def with_prefix(value: Any, old: str, new: str) -> Any:
    """The params document with every URI under `old` moved under `new`."""
    if isinstance(value, dict):
        return {k: with_prefix(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [with_prefix(v, old, new) for v in value]
    if isinstance(value, str) and value.startswith(f"{old}/"):
        return new + value[len(old) :]
    return value


def local_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


# --- Docker events: when the container was created, started, died and removed ----------

LIFECYCLE = ("create", "start", "die", "destroy")


def container_events(
    since: float, until: float, matches: Callable[[dict[str, str]], bool]
) -> dict[str, float]:
    """The engine's own times (wall clock, s) of the lifecycle events of the one container
    that `matches` picks (by its attributes) between `since` and `until`. Untimed."""
    command = [require_executable("docker"), "events", "--since", f"{int(since) - 1}"]
    command += ["--until", f"{time.time():.9f}", "--filter", "type=container"]
    command += ["--format", "{{json .}}"]
    found: dict[str, float] = {}
    for line in run_command(command).stdout.splitlines():
        event = json.loads(line)
        at = int(event.get("timeNano", 0)) / 1e9
        action = event.get("Action") or event.get("status")
        attributes = (event.get("Actor") or {}).get("Attributes") or {}
        if action in LIFECYCLE and since <= at <= until and matches(attributes):
            found.setdefault(action, at)
    return found


# --- the two sides ----------------------------------------------------------------------


def run_engine(bench: Bench) -> dict[str, Any]:
    """One `dataset run --container --json`: wall time, its JSON, the wall-clock times of
    its launch, exit and stderr lines."""
    command = [require_executable("iota-container"), "dataset", "run", DATASET]
    command += ["--container", "--json"]
    launched, started = time.time(), time.perf_counter()
    process = subprocess.Popen(
        command, env=bench.engine_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # stdout (one small JSON object) is read after stderr: it cannot fill its pipe first.
    lines = [(launched + time.perf_counter() - started, line) for line in process.stderr or ()]
    stdout = process.stdout.read() if process.stdout else ""
    process.wait()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(
            f"bench: {' '.join(command)} exited {process.returncode}\n{stdout[-2000:]}\n"
            + "".join(line for _, line in lines)[-3000:]
        )
    result = json.loads(stdout)
    if result.get("status") != "SUCCEEDED":
        raise SystemExit(f"bench: the engine's run did not succeed: {result}")
    return {
        "seconds": seconds,
        "launched": launched,
        "exited": launched + seconds,
        "result": result,
        "stderr": lines,
    }


def engine_side(bench: Bench) -> Callable[[], Measured]:
    def run() -> Measured:
        measured = run_engine(bench)
        name = f"iota-{DATASET}-{measured['result']['versionId']}"
        measured["events"] = container_events(
            measured["launched"], measured["exited"], lambda a: a.get("name") == name
        )
        measured |= keep_outputs(bench, measured["result"])
        measured["probe"] = probe_once(bench.engine_env())
        return Measured(measured["seconds"], measured)

    return run


def keep_outputs(bench: Bench, version: Mapping[str, Any]) -> dict[str, Any]:
    """Copies of a run's outputs and params file, taken untimed before the next run: by
    default a dataset keeps only its latest version, so that run deletes them."""
    folder = bench.workdir / "engine-kept" / version["versionId"]
    folder.mkdir(parents=True)
    outputs = {}
    for key, uri in version["outputs"].items():
        source = local_path(uri)
        if source.is_file():
            shutil.copyfile(source, folder / source.name)
        outputs[key] = (folder / source.name).as_uri()
    params = json.loads(params_file_of(bench, version).read_text(encoding="utf-8"))
    return {"kept_outputs": outputs, "params": params}


def docker_side(bench: Bench) -> Callable[[], Measured]:
    counter = itertools.count()
    docker = require_executable("docker")

    def run() -> Measured:
        folder = bench.workdir / "bare" / f"round-{next(counter)}"
        outputs = folder / "out"
        outputs.mkdir(parents=True)
        outputs.chmod(0o777)  # the image runs as uid 1000
        document = with_prefix(bench.template, bench.template_prefix, outputs.as_uri())
        params = folder / "params"
        params.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        params.chmod(0o644)
        command = [docker, "run", "--rm", "--network", "host"]
        command += ["-v", f"{params}:{PARAMS_PATH}:ro", "-v", f"{outputs}:{outputs}"]
        command.append(bench.reference)
        launched, started = time.time(), time.perf_counter()
        run_command(command)
        seconds = time.perf_counter() - started
        events = container_events(
            launched,
            launched + seconds,
            lambda a: (
                a.get("image") == bench.reference and not a.get("name", "").startswith("iota-")
            ),
        )
        extra = {
            "seconds": seconds,
            "launched": launched,
            "exited": launched + seconds,
            "events": events,
            "outputs": document["Context"]["OutputUris"],
            "params": document,
        }
        return Measured(seconds, extra)

    return run


# --- checks -----------------------------------------------------------------------------


def outputs_ok(outputs: Mapping[str, str]) -> bool:
    """The HTML is there and not empty, the executed notebook prints the value."""
    html, ipynb = local_path(outputs["html"]), local_path(outputs["ipynb"])
    if not (html.is_file() and html.stat().st_size > 0 and ipynb.is_file()):
        return False
    return PRINTED in ipynb.read_text(encoding="utf-8")


def checks(bench: Bench, samples: Mapping[str, Samples]) -> dict[str, bool]:
    engine, docker = samples[ENGINE].extras, samples[DOCKER].extras
    runs = [(run, run["result"]["outputs"]) for run in engine]
    runs += [(run, run["outputs"]) for run in docker]
    same_params = all(
        with_prefix(run["params"], output_prefix(outputs["ipynb"]), bench.template_prefix)
        == bench.template
        for run, outputs in runs
    )
    return {
        f"{ENGINE}: HTML and ipynb written, value printed, in all {len(engine)} rounds": all(
            outputs_ok(run["kept_outputs"]) for run in engine
        ),
        f"{DOCKER}: HTML and ipynb written, value printed, in all {len(docker)} rounds": all(
            outputs_ok(run["outputs"]) for run in docker
        ),
        "params files identical but for the output folder, every round": same_params,
        "every container's create/start/die/destroy events found": all(
            set(run["events"]) == set(LIFECYCLE) for run in [*engine, *docker]
        ),
    }


# --- report -----------------------------------------------------------------------------


def medians(rows: Sequence[Mapping[str, float]]) -> dict[str, tuple[float, float]]:
    names = list(dict.fromkeys(name for row in rows for name in row))
    return {
        name: (
            statistics.median(row[name] for row in rows if name in row),
            min(row[name] for row in rows if name in row),
        )
        for name in names
    }


def step_table(title: str, rows: Sequence[Mapping[str, float]]) -> str:
    table = [
        [f"  {name}", seconds_text(m), seconds_text(b)] for name, (m, b) in medians(rows).items()
    ]
    return format_table([title, "median", "min"], table)


def phase_table(samples: Mapping[str, Samples]) -> str:
    engine = medians([phases(run) for run in samples[ENGINE].extras])
    docker = medians([phases(run) for run in samples[DOCKER].extras])
    rows: list[list[object]] = []
    for name, _, _ in PHASES:
        if name in engine and name in docker:
            a, b = engine[name][0], docker[name][0]
            rows.append([name, seconds_text(a), seconds_text(b), f"{(a - b) * 1000:+.0f} ms"])
    a, b = samples[ENGINE].median, samples[DOCKER].median
    rows.append(
        ["whole run (wall time)", seconds_text(a), seconds_text(b), f"{(a - b) * 1000:+.0f} ms"]
    )
    return format_table(
        ["phase (medians; Docker event times)", "engine", "docker run", "difference"], rows
    )


def time_table(samples: Mapping[str, Samples]) -> str:
    engine, docker = samples[ENGINE], samples[DOCKER]
    rows: list[list[object]] = [
        [engine.name, seconds_text(engine.median), seconds_text(engine.best)],
        [docker.name, seconds_text(docker.median), seconds_text(docker.best)],
        [
            "ratio engine / docker run",
            f"{engine.median / docker.median:.2f}",
            f"{engine.best / docker.best:.2f}",
        ],
    ]
    return format_table(["wall time per run", "median", "min"], rows)


RESIDUAL = "not covered by the probe: click, lock, version insert (may be < 0)"


def probe_rows(engine_runs: Sequence[Mapping[str, Any]]) -> list[dict[str, float]]:
    """Per engine run: the probe's steps, launch -> createdAt of the run, and what of it
    the probe does not explain."""
    rows = []
    for run in engine_runs:
        row = dict(run["probe"])
        created = moment(run["result"]["createdAt"])
        if created is not None:
            row["launch -> createdAt in the timed run"] = created - run["launched"]
            row[RESIDUAL] = created - run["launched"] - sum(run["probe"].values())
        rows.append(row)
    return rows


def versions() -> dict[str, str]:
    docker = require_executable("docker")
    text = run_command([docker, "version", "--format", "{{.Client.Version}} {{.Server.Version}}"])
    client, server = text.stdout.split()
    from iota_container import __version__

    return {"docker_cli": client, "docker_engine": server, "iota_container": __version__}


def build_report(
    bench: Bench,
    samples: Mapping[str, Samples],
    found: Mapping[str, bool],
    args: BenchArgs,
) -> None:
    engine, docker = samples[ENGINE], samples[DOCKER]
    ratio = engine.median / docker.median
    met = ratio <= TARGET_RATIO
    engine_rows = [engine_steps(run) for run in engine.extras]
    probe = probe_rows(engine.extras)
    docker_rows = [docker_steps(run) for run in docker.extras]
    info = versions()
    header = (
        f"image {bench.reference} (notebook {NOTEBOOK_NAME} on {BASE_IMAGE}); "
        f"Docker CLI {info['docker_cli']}, engine {info['docker_engine']}"
    )
    verdict = f"target: median ratio <= {TARGET_RATIO} ({'met' if met else 'not met'})"
    check_text = "checks: " + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in found.items())
    text = "\n\n".join(
        [
            header,
            time_table(samples),
            verdict,
            phase_table(samples),
            step_table(
                f"{ENGINE}, step by step (--json times, Docker events, stderr)", engine_rows
            ),
            step_table(f"{DOCKER}, step by step (Docker events)", docker_rows),
            step_table(
                "the engine's start-up, probed apart (a fresh interpreter after each run)",
                probe,
            ),
            check_text,
        ]
    )
    document = {
        "image": bench.reference,
        "base": BASE_IMAGE,
        "versions": info,
        "ratio_median": ratio,
        "ratio_min": engine.best / docker.best,
        "target_ratio": TARGET_RATIO,
        "target_met": met,
        "sides": {
            ENGINE: engine.to_json()
            | {
                "steps_s": engine_rows,
                "phases_s": [phases(run) for run in engine.extras],
                "iota_json": [run["result"] for run in engine.extras],
            },
            DOCKER: docker.to_json()
            | {"steps_s": docker_rows, "phases_s": [phases(run) for run in docker.extras]},
        },
        "startup_probe_s": probe,
        "params_template": bench.template,
        "checks": dict(found),
    }
    report("iota-container dataset run --container vs docker run", text, document, args)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], repetitions=10, quick_repetitions=3)
    check_engine()
    with temp_dir("engine") as workdir, bench_setup(workdir) as bench:
        build_and_push_analysis_image(bench)
        register_dataset(bench)
        read_template(bench)
        progress(f"alternating {ENGINE!r} and {DOCKER!r} (after one warm-up round)")
        samples = alternate(
            {ENGINE: engine_side(bench), DOCKER: docker_side(bench)}, args.repetitions
        )
        found = checks(bench, samples)
        build_report(bench, samples, found, args)


if __name__ == "__main__":
    main()
