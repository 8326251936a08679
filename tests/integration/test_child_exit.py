"""A pool worker's exit code is read right while other threads start workers.

multiprocessing reads a fork-server child's exit code from a pipe, once, without a lock,
and Process.start() polls every child first: with a run's thread waiting for its worker
while another thread started the next one, a run that succeeded was recorded as having
exited with 255 (30 of 200 runs in bench/ray_vs_local.py's local side). The children
here are real fork-server processes that exit at once with a known code, while two
threads keep starting others.
"""

from __future__ import annotations

import multiprocessing
import threading

import pytest

from iota_container.executors import child_exit
from tests.exiting_child import exit_with

pytestmark = pytest.mark.integration

ROUNDS = 30


def test_exit_codes_stay_right_while_other_threads_start_children() -> None:
    context = multiprocessing.get_context("forkserver")
    stopping = threading.Event()

    def keep_starting() -> None:
        while not stopping.is_set():
            other = context.Process(target=exit_with, args=(0,))
            child_exit.start(other)
            child_exit.exit_code(other)

    starters = [threading.Thread(target=keep_starting) for _ in range(2)]
    for starter in starters:
        starter.start()
    codes = []
    try:
        for _ in range(ROUNDS):
            child = context.Process(target=exit_with, args=(7,))
            child_exit.start(child)
            codes.append(child_exit.exit_code(child))
    finally:
        stopping.set()
        for starter in starters:
            starter.join()

    assert codes == [7] * ROUNDS


def test_an_exit_code_once_read_is_kept() -> None:
    context = multiprocessing.get_context("forkserver")
    child = context.Process(target=exit_with, args=(3,))
    child_exit.start(child)
    assert child_exit.exit_code(child) == 3  # waited for
    assert child_exit.exit_code(child, timeout=0) == 3  # and kept
