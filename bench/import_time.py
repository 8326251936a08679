"""What `import iota_container; iota_container.params()` adds to a Python process's start.

Notebook code and container entrypoints pay this on every run. Side by side: the SDK's
one-liner (with IOTA_PARAMS_PATH pointing at a valid params file) and `python -c pass`,
each a fresh interpreter. Target: the median difference is under 100 ms. Then one run
under `python -X importtime` lists the ten slowest imports the one-liner adds.

    python bench/import_time.py [--quick] [--json] [--repetitions N]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    BenchArgs,
    Samples,
    alternate,
    format_table,
    parse_args,
    progress,
    report,
    run_command,
    temp_dir,
    write_params_file,
)

TARGET_MS = 100.0
SDK_CODE = "import iota_container as i; i.params()"
BASELINE_CODE = "pass"
SLOWEST = 10


@dataclass(frozen=True)
class ImportLine:
    module: str
    depth: int
    self_us: int
    cumulative_us: int


def python_side(code: str, env: Mapping[str, str]) -> Any:
    command = [sys.executable, "-c", code]

    def run() -> None:
        run_command(command, env)

    return run


def import_lines(code: str, env: Mapping[str, str]) -> list[ImportLine]:
    """`python -X importtime -c code`, parsed: `import time: self | cumulative | name`."""
    stderr = run_command([sys.executable, "-X", "importtime", "-c", code], env).stderr
    lines = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        lines.append(ImportLine(name.strip(), depth, int(self_us), int(cumulative_us)))
    return lines


def slowest_added_imports(env: Mapping[str, str]) -> list[ImportLine]:
    """The slowest imports (by cumulative time) of the SDK one-liner that a bare
    interpreter does not make anyway (site, encodings, ...)."""
    baseline = {line.module for line in import_lines(BASELINE_CODE, env)}
    added = [line for line in import_lines(SDK_CODE, env) if line.module not in baseline]
    # A submodule imported while its package is being imported shows up twice: keep one.
    by_module: dict[str, ImportLine] = {}
    for line in sorted(added, key=lambda line: line.cumulative_us, reverse=True):
        by_module.setdefault(line.module, line)
    return list(by_module.values())[:SLOWEST]


def difference_table(sdk: Samples, baseline: Samples) -> str:
    rows: list[list[object]] = [
        [f"python -c {code!r}", f"{s.median * 1000:.1f}", f"{s.best * 1000:.1f}"]
        for code, s in ((SDK_CODE, sdk), (BASELINE_CODE, baseline))
    ]
    rows.append(
        [
            "difference (what the SDK adds)",
            f"{(sdk.median - baseline.median) * 1000:.1f}",
            f"{(sdk.best - baseline.best) * 1000:.1f}",
        ]
    )
    return format_table(["process wall time, ms", "median", "min"], rows)


def imports_table(lines: Sequence[ImportLine]) -> str:
    rows = [
        [line.module, line.depth, f"{line.self_us / 1000:.1f}", f"{line.cumulative_us / 1000:.1f}"]
        for line in lines
    ]
    headers = [f"{SLOWEST} slowest imports added (-X importtime)", "depth", "self ms", "cumul. ms"]
    return format_table(headers, rows)


def build_report(
    samples: dict[str, Samples], slowest: Sequence[ImportLine], args: BenchArgs
) -> None:
    sdk, baseline = samples["sdk"], samples["baseline"]
    difference_ms = (sdk.median - baseline.median) * 1000
    verdict = "met" if difference_ms < TARGET_MS else "not met"
    text = "\n\n".join(
        [
            difference_table(sdk, baseline),
            f"target: median difference < {TARGET_MS:.0f} ms ({verdict})",
            imports_table(slowest),
        ]
    )
    document = {
        "target_ms": TARGET_MS,
        "difference_ms_median": difference_ms,
        "difference_ms_min": (sdk.best - baseline.best) * 1000,
        "sides": {SDK_CODE: sdk.to_json(), BASELINE_CODE: baseline.to_json()},
        "slowest_added_imports": [line.__dict__ for line in slowest],
    }
    report("import iota_container + params() vs python -c pass", text, document, args)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], repetitions=40, quick_repetitions=10)
    with temp_dir("import") as workdir:
        params = write_params_file(
            workdir / "params.json", Path(workdir, "out").as_uri(), {"example_var": "hello"}
        )
        env = {**os.environ, "IOTA_PARAMS_PATH": str(params)}
        samples = alternate(
            {"sdk": python_side(SDK_CODE, env), "baseline": python_side(BASELINE_CODE, env)},
            args.repetitions,
            warmup=2,
        )
        progress("one run under -X importtime")
        slowest = slowest_added_imports(env)
    build_report(samples, slowest, args)


if __name__ == "__main__":
    main()
