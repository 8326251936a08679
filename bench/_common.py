"""Shared pieces of the benchmarks: a moto S3 server, the timing loop, the report.

Every benchmark runs its two sides in the same process run, alternating which side goes
first in each round, so slow drift of the machine (page cache, CPU frequency, other
load) falls on both sides alike. Figures are medians and minimums; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


# --- command line -----------------------------------------------------------------------


@dataclass(frozen=True)
class BenchArgs:
    quick: bool
    json_output: bool
    repetitions: int


def parse_args(description: str, repetitions: int, quick_repetitions: int) -> BenchArgs:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller inputs")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON object on stdout (the table then goes to stderr)",
    )
    parser.add_argument(
        "--repetitions",
        type=int,
        help=f"timed rounds per side [default {repetitions}, {quick_repetitions} with --quick]",
    )
    parsed = parser.parse_args()
    default = quick_repetitions if parsed.quick else repetitions
    return BenchArgs(parsed.quick, parsed.json, parsed.repetitions or default)


# --- processes and folders --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def executable(name: str) -> str | None:
    """A console script of this interpreter's environment, else one on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def require_executable(name: str) -> str:
    found = executable(name)
    if not found:
        raise SystemExit(
            f"bench: {name!r} is not installed (neither beside {sys.executable} nor on PATH)"
        )
    return found


def run_command(
    command: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; exit the benchmark with its output if it fails."""
    completed = subprocess.run(
        list(command), env=dict(env) if env else None, cwd=cwd, capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise SystemExit(
            f"bench: {' '.join(command)} exited {completed.returncode}\n"
            f"--- stdout\n{completed.stdout[-3000:]}\n--- stderr\n{completed.stderr[-3000:]}"
        )
    return completed


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix=f"iota-bench-{prefix}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_params_file(path: Path, output_root: str, variables: Mapping[str, str]) -> Path:
    """A params file written the documented way: `iota-container params init`."""
    command = [require_executable("iota-container"), "params", "init", str(path), "--force"]
    command += ["--output-root", output_root]
    for name, value in variables.items():
        command += ["--var", f"{name}={value}"]
    run_command(command)
    return path


# --- S3 ---------------------------------------------------------------------------------


class MotoServer:
    """`moto_server` on a free loopback port, request recorder off (it would write every
    request body to a file and slow the server down)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"moto-{self.port}.log"
        # moto turns recording on for any non-empty value, "False" included: unset it.
        env = {k: v for k, v in os.environ.items() if k != "MOTO_ENABLE_RECORDING"}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [require_executable("moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self._wait_until_up(timeout=30)

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: moto_server exited: {self.log_path.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"bench: moto_server did not answer in {timeout} s")

    def client_env(self) -> dict[str, str]:
        """What boto3 (in this process or a child) needs to talk to this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, **TEST_CREDENTIALS}

    def s3_client(self) -> Any:
        """A boto3 client for set-up and checks (not for anything timed)."""
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=TEST_CREDENTIALS["AWS_DEFAULT_REGION"],
        )

    def create_bucket(self, name: str) -> None:
        self.s3_client().create_bucket(Bucket=name)

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a server process, killing it if it does not stop within 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def moto_server(workdir: Path) -> Iterator[MotoServer]:
    server = MotoServer(workdir)
    try:
        yield server
    finally:
        server.stop()


# --- timing -----------------------------------------------------------------------------


@dataclass
class Samples:
    """Wall times of one side, in seconds, plus whatever else each round reported."""

    name: str
    seconds: list[float] = field(default_factory=list)
    extras: list[Any] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)

    def to_json(self) -> dict[str, Any]:
        return {"median_s": self.median, "min_s": self.best, "samples_s": self.seconds}


@dataclass(frozen=True)
class Measured:
    """What a side returns to time itself, leaving its own set-up out of the figure."""

    seconds: float
    extra: Any = None


# A side returns None, something kept next to its time (parsed logs, step times), or a
# Measured with its own time.
Side = Callable[[], Any]


def timed(side: Side) -> tuple[float, Any]:
    started = time.perf_counter()
    extra = side()
    elapsed = time.perf_counter() - started
    if isinstance(extra, Measured):
        return extra.seconds, extra.extra
    return elapsed, extra


def alternate(
    sides: Mapping[str, Side],
    repetitions: int,
    warmup: int = 1,
    between: Callable[[], None] | None = None,
) -> dict[str, Samples]:
    """Run the sides in turn, reversing their order every round; `warmup` rounds untimed.
    `between` runs untimed after every single run (cleanup, for instance)."""
    samples = {name: Samples(name) for name in sides}
    names = list(sides)
    for round_index in range(warmup + repetitions):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            seconds, extra = timed(sides[name])
            if between:
                between()
            if round_index >= warmup:
                samples[name].seconds.append(seconds)
                samples[name].extras.append(extra)
        _round_done(round_index, warmup, repetitions)
    return samples


def _round_done(round_index: int, warmup: int, repetitions: int) -> None:
    total = warmup + repetitions
    if (round_index + 1) % max(1, total // 10) == 0 or round_index + 1 == total:
        warm = " (warm-up)" if round_index < warmup else ""
        progress(f"round {round_index + 1}/{total}{warm}")


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- report -----------------------------------------------------------------------------


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table; the first column is left-aligned, the others right-aligned."""
    cells = [[str(value) for value in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [row[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(row[1:], widths[1:])]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def seconds_text(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def machine() -> dict[str, Any]:
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def report(title: str, text: str, document: Mapping[str, Any], args: BenchArgs) -> None:
    """The human-readable report, and with --json the JSON object alone on stdout."""
    info = machine()
    header = f"{title}\n{info['date']}, {info['cpus']} CPUs (load {info['load_average_1min']}), "
    header += f"Python {info['python']}, "
    header += f"{args.repetitions} timed rounds per side" + (" (--quick)" if args.quick else "")
    stream = sys.stderr if args.json_output else sys.stdout
    print(f"\n{header}\n\n{text}", file=stream, flush=True)
    if args.json_output:
        json.dump(
            {
                "benchmark": title,
                "machine": info,
                "quick": args.quick,
                "repetitions": args.repetitions,
                **document,
            },
            sys.stdout,
            indent=2,
        )
        print()


def messages_counted(csv_path: Path) -> int:
    """The messages the query counted: what both sides must agree on (give or take the
    seconds between their window ends)."""
    import csv

    with csv_path.open(newline="", encoding="utf-8") as handle:
        return sum(int(row["n"]) for row in csv.DictReader(handle))
