"""The worker's events as the server reads them: phases once each, in the order entered,
and every transfer naming the phase it belongs to (the UI counts only pushed bytes)."""

from __future__ import annotations

import io
import json

from jupyter_ext.jobs import Job
from jupyter_ext.worker import EventWriter


def test_transfers_carry_their_phase_and_a_job_keeps_them() -> None:
    stream = io.StringIO()
    events = EventWriter(stream)
    events.phase("building")
    events.transfer("layer 1a2b", 100, 100)  # the engine pulling the base
    events.phase("pushing")
    events.phase("pushing")  # said again (a backend inside a build): one event
    events.transfer("layer 1a2b", 40, 40)
    written = [json.loads(line) for line in stream.getvalue().splitlines()]

    assert written == [
        {"phase": "building"},
        {"transfer": "layer 1a2b", "phase": "building", "done": 100, "total": 100},
        {"phase": "pushing"},
        {"transfer": "layer 1a2b", "phase": "pushing", "done": 40, "total": 40},
    ]
    job = Job("j", "containerize", "a.ipynb", {})
    saved = [job.apply(event) for event in written]
    assert saved == [True, False, True, False]  # bytes alone are not worth a save
    assert job.phase == "pushing"
    assert [entered["phase"] for entered in job.phases] == ["building", "pushing"]
    assert job.transfers == {"layer 1a2b": {"phase": "pushing", "done": 40, "total": 40}}
