from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import REQUIRE_ENV, MotoServer

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_with_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto server that checks credentials (none are registered, so all are refused)."""
    server = MotoServer(tmp_path_factory.mktemp("moto-auth"), enforce_auth=True)
    yield server
    server.stop()


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 180
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
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under the test script, a skipped test is a failed one: CI must not count a test
    that did not run as passing."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get(REQUIRE_ENV) and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under {REQUIRE_ENV}=1: {report.longrepr}"
