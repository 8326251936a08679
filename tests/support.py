"""Helpers the tests import: the repository's places, the test registry's user, and the
CLI run as its own process. Fixtures stay in conftest.py, which pytest loads itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

REGISTRY_USER = ("iota-tester", "correct horse battery staple")


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 180,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`iota-container ARGS` as its own process, as users and containers run it."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IOTA_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "iota_container", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        input=input_text,
    )
