"""`iota-container run` versus papermill + nbconvert + two uploads, outputs to moto S3.

Both sides run the same small notebook (a `parameters` cell, a cell printing the injected
value, a little arithmetic) on the same kernel, and end with the executed notebook and an
HTML report in S3 with the ACL bucket-owner-full-control. Wall time covers whole
processes, as a container would pay them. Target: iota / pipeline <= 0.3. A third side,
the floor, is a process that only starts a kernel, runs an empty cell and stops it. A
fourth, the scheduler's way, is the same run handed to a warm worker of a process pool
(executors/process_pool.py: interpreter, imports and kernel started before the run, at
least WARM_SECONDS earlier), timed from the handover to the worker's exit.

    python bench/run_vs_papermill.py [--quick] [--json] [--repetitions N]
"""

from __future__ import annotations

import itertools
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from _common import (
    BenchArgs,
    Measured,
    MotoServer,
    Samples,
    alternate,
    executable,
    format_table,
    moto_server,
    parse_args,
    progress,
    report,
    require_executable,
    run_command,
    seconds_text,
    temp_dir,
    write_params_file,
)

from iota_container.executors.process_pool import PoolRun, ProcessPool

TARGET_RATIO = 0.3
BARE_KERNEL_SIDE = "kernel start + stop"
POOL_SIDE = "warm pool worker"
WARM_SECONDS = 5.0  # the scheduler starts workers up to a minute before a window
BUCKET = "iota-bench-run"
GREETING = "hello from the benchmark"
ACL = "bucket-owner-full-control"
UPLOAD_WITH_BOTO3 = (
    "import sys, boto3; boto3.client('s3').upload_file(sys.argv[1], sys.argv[2], sys.argv[3], "
    f"ExtraArgs={{'ACL': '{ACL}'}})"
)
# `iota-container: execute (kernel python3): done in 2.57 s`, `...: kernel started in 1.07 s`
STEP_LINE = re.compile(
    r"^iota-container: (?P<name>.+?)(?: \(.*\))?:? (?P<outcome>done |failed )?"
    r"in (?P<value>[\d.]+) (?P<unit>ms|s)$"
)


def write_notebook(path: Path) -> Path:
    import nbformat

    v4 = nbformat.v4
    parameters = v4.new_code_cell('greeting = "default"')
    parameters.metadata["tags"] = ["parameters"]
    notebook = v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# Benchmark notebook"),
            parameters,
            v4.new_code_cell('print(f"greeting: {greeting}")'),
            v4.new_code_cell(
                "import statistics\n"
                "values = [i * 0.5 for i in range(10_000)]\n"
                "statistics.mean(values)"
            ),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.write(notebook, str(path))
    return path


# --- the two sides ----------------------------------------------------------------------


def parse_steps(stderr: str) -> list[tuple[str, float, bool]]:
    """(step, seconds, top_level) for every timed line iota-container logged, in order.
    Lines without done/failed (kernel start, cells) are parts of the `execute` step."""
    steps = []
    for line in stderr.splitlines():
        match = STEP_LINE.match(line.strip())
        if match:
            scale = 0.001 if match["unit"] == "ms" else 1.0
            steps.append((match["name"], float(match["value"]) * scale, bool(match["outcome"])))
    return steps


def iota_side(notebook: Path, params: Path, env: Mapping[str, str]) -> Any:
    command = [require_executable("iota-container"), "run"]
    command += ["--params", str(params), "--notebook", str(notebook)]

    def run() -> list[tuple[str, float, bool]]:
        return parse_steps(run_command(command, env).stderr)

    return run


# The floor under any run: an interpreter that starts a kernel, runs one empty cell on it
# and stops it, as a whole process, with nothing else (no notebook, no outputs).
BARE_KERNEL = (
    "from jupyter_client.manager import start_new_kernel\n"
    "km, kc = start_new_kernel(kernel_name='python3')\n"
    "kc.execute_interactive('pass', timeout=60)\n"
    "kc.stop_channels()\n"
    "km.shutdown_kernel(now=True)\n"
)


def bare_kernel_side(env: Mapping[str, str]) -> Any:
    def run() -> None:
        run_command([sys.executable, "-c", BARE_KERNEL], env)

    return run


def pool_side(notebook: Path, params: Path, pool: ProcessPool, logs: Path) -> Any:
    rounds = itertools.count()
    last_handover = [time.monotonic() - WARM_SECONDS]

    def run() -> Measured:
        # Untimed: the replacement worker gets its head start, as before a due window.
        time.sleep(max(0.0, last_handover[0] + WARM_SECONDS - time.monotonic()))
        log = logs / f"pool-{next(rounds)}.log"
        last_handover[0] = time.monotonic()
        ended = pool.run(PoolRun(params, notebook, log, notebook.parent))
        if ended.exit_code != 0:
            raise SystemExit(f"bench: the pool run failed:\n{log.read_text()[-3000:]}")
        return Measured(ended.duration_seconds, parse_steps(log.read_text()))

    return run


def upload_command(path: Path, uri: str, endpoint: str) -> tuple[list[str], str]:
    aws = executable("aws")
    if aws:
        return [
            aws,
            "s3",
            "cp",
            "--quiet",
            "--acl",
            ACL,
            "--endpoint-url",
            endpoint,
            str(path),
            uri,
        ], "aws s3 cp"
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return [sys.executable, "-c", UPLOAD_WITH_BOTO3, str(path), bucket, key], "python -c boto3"


def pipeline_commands(
    notebook: Path, workdir: Path, endpoint: str
) -> tuple[dict[str, list[str]], str]:
    executed = workdir / "pipeline" / "output.ipynb"
    executed.parent.mkdir(exist_ok=True)
    commands = {
        "papermill": [
            require_executable("papermill"),
            "-p",
            "greeting",
            GREETING,
            str(notebook),
            str(executed),
        ],
        "nbconvert --to html": [
            require_executable("jupyter"),
            "nbconvert",
            "--to",
            "html",
            str(executed),
        ],
    }
    uploader = ""
    for suffix in ("ipynb", "html"):
        commands[f"upload {suffix}"], uploader = upload_command(
            executed.with_suffix(f".{suffix}"), f"s3://{BUCKET}/pipeline/output.{suffix}", endpoint
        )
    return commands, uploader


def pipeline_side(commands: Mapping[str, list[str]], env: Mapping[str, str]) -> Any:
    def run() -> dict[str, float]:
        durations = {}
        for step, command in commands.items():
            started = time.perf_counter()
            run_command(command, env)
            durations[step] = time.perf_counter() - started
        return durations

    return run


# --- checking and reporting -------------------------------------------------------------


def printed_greeting(server: MotoServer, key: str) -> bool:
    """Whether the executed notebook in S3 shows the injected value (a sanity check: a
    side that skipped its work would look fast)."""
    client = server.s3_client()
    notebook = json.loads(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    client.head_object(Bucket=BUCKET, Key=key.replace(".ipynb", ".html"))
    return f"greeting: {GREETING}" in json.dumps(notebook["cells"])


def iota_step_medians(samples: Samples) -> list[tuple[str, float, bool]]:
    by_name: dict[str, list[float]] = {}
    top_level: dict[str, bool] = {}
    for steps in samples.extras:
        for name, seconds, is_top in steps:
            by_name.setdefault(name, []).append(seconds)
            top_level[name] = is_top
    return [(name, statistics.median(values), top_level[name]) for name, values in by_name.items()]


def pipeline_step_medians(samples: Samples) -> list[tuple[str, float]]:
    names = list(samples.extras[0])
    return [(name, statistics.median(run[name] for run in samples.extras)) for name in names]


def step_table(iota: Samples, pipeline: Samples) -> str:
    rows: list[list[object]] = []
    iota_steps = iota_step_medians(iota)
    for name, seconds, is_top in iota_steps:
        rows.append([f"iota-container  {'' if is_top else '  . '}{name}", seconds_text(seconds)])
    logged = sum(seconds for _, seconds, is_top in iota_steps if is_top)
    rows.append(
        [
            "iota-container  (outside logged steps: start-up, imports, ...)",
            seconds_text(iota.median - logged),
        ]
    )
    rows += [
        [f"pipeline        {name}", seconds_text(s)] for name, s in pipeline_step_medians(pipeline)
    ]
    return format_table(["step (median; '.' = part of execute)", "time"], rows)


def summary_table(iota: Samples, pipeline: Samples, floor: Samples, pooled: Samples) -> str:
    sides = (iota, pooled, pipeline)
    rows = [[s.name, seconds_text(s.median), seconds_text(s.best)] for s in sides]
    rows.append([f"floor: {floor.name}", seconds_text(floor.median), seconds_text(floor.best)])
    for side in (iota, pooled):
        rows.append(
            [
                f"ratio {side.name} / pipeline",
                f"{side.median / pipeline.median:.2f}",
                f"{side.best / pipeline.best:.2f}",
            ]
        )
    return format_table(["wall time per run", "median", "min"], rows)


def build_report(
    samples: dict[str, Samples], uploader: str, checks: dict[str, bool], args: BenchArgs
) -> None:
    iota, pipeline = samples["iota-container run"], samples["pipeline"]
    floor, pooled = samples[BARE_KERNEL_SIDE], samples[POOL_SIDE]
    ratio = iota.median / pipeline.median
    pool_ratio = pooled.median / pipeline.median
    verdict = "met" if ratio <= TARGET_RATIO else "not met"
    pool_verdict = "met" if pool_ratio <= TARGET_RATIO else "not met"
    text = "\n\n".join(
        [
            f"pipeline = papermill -p, jupyter nbconvert --to html, 2 uploads with {uploader}",
            summary_table(iota, pipeline, floor, pooled),
            f"target: median ratio <= {TARGET_RATIO} (one process: {verdict}; "
            f"warm pool worker: {pool_verdict})",
            step_table(iota, pipeline),
            "outputs show the injected value: "
            + ", ".join(f"{side} {'yes' if ok else 'NO'}" for side, ok in checks.items()),
        ]
    )
    document = {
        "uploader": uploader,
        "target_ratio": TARGET_RATIO,
        "ratio_median": ratio,
        "ratio_min": iota.best / pipeline.best,
        "pool_ratio_median": pool_ratio,
        "sides": {name: s.to_json() for name, s in samples.items()},
        "iota_steps_median_s": {name: s for name, s, _ in iota_step_medians(iota)},
        "pipeline_steps_median_s": dict(pipeline_step_medians(pipeline)),
        "outputs_checked": checks,
    }
    report("iota-container run vs papermill + nbconvert + upload", text, document, args)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], repetitions=5, quick_repetitions=2)
    with temp_dir("run") as workdir, moto_server(workdir) as server:
        server.create_bucket(BUCKET)
        env = {**os.environ, **server.client_env()}
        pool = ProcessPool(1, environment=env)
        notebook = write_notebook(workdir / "notebook.ipynb")
        params = write_params_file(
            workdir / "params.json", f"s3://{BUCKET}/iota", {"greeting": GREETING}
        )
        commands, uploader = pipeline_commands(notebook, workdir, server.endpoint)
        progress(f"moto at {server.endpoint}; pipeline uploads with {uploader}")
        samples = alternate(
            {
                "iota-container run": iota_side(notebook, params, env),
                "pipeline": pipeline_side(commands, env),
                BARE_KERNEL_SIDE: bare_kernel_side(env),
                POOL_SIDE: pool_side(notebook, params, pool, workdir),
            },
            args.repetitions,
        )
        pool.close()
        checks = {
            "iota-container": printed_greeting(server, "iota/output.ipynb"),
            "pipeline": printed_greeting(server, "pipeline/output.ipynb"),
        }
    build_report(samples, uploader, checks, args)


if __name__ == "__main__":
    main()
