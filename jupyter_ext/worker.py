"""`python -m jupyter_ext.worker`: one job of the server, in a process of its own so that
cancelling it stops it (and whatever it started).

Reads the job as one JSON object on stdin; writes events on stdout, one JSON object a
line: `{"phase": name}` (image.spec.PHASES), `{"step": text}`,
`{"transfer": label, "phase": name, "done": n, "total": n}` (bytes, in the phase it belongs
to), `{"log": line}`, `{"result": {...}}`, `{"error": one line}`. Exit status 0 when the
job succeeded.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, TextIO

from iota_container.containerize import Containerize
from iota_container.errors import IotaError
from iota_container.image.spec import Phase

# Transfers report every chunk; the server needs a few updates a second, not hundreds.
TRANSFER_INTERVAL_SECONDS = 0.2
_PATH_FIELDS = ("notebook", "definition_path", "requirements")


class EventWriter:
    """Implements image.spec.Progress, writing events the server reads."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._last_transfer: dict[str, float] = {}
        self._phase: Phase | None = None

    def emit(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._stream.write(json.dumps(event, default=str) + "\n")
            self._stream.flush()

    def phase(self, name: Phase) -> None:
        if name != self._phase:  # a build inside a containerize job checks again
            self._phase = name
            self.emit({"phase": name})

    def step(self, message: str) -> None:
        self.emit({"step": message})

    def transfer(self, label: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last_transfer.get(label, 0.0) < TRANSFER_INTERVAL_SECONDS:
            return
        self._last_transfer[label] = now
        self.emit({"transfer": label, "phase": self._phase, "done": done, "total": total})


class _LogEvents(logging.Handler):
    def __init__(self, events: EventWriter) -> None:
        super().__init__(logging.INFO)
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        self.events.emit({"log": self.format(record)})


def encode_containerize(request: Containerize) -> dict[str, Any]:
    """`request` as JSON for the worker's stdin (its variables in their one spelling)."""
    data = asdict(request)
    for name in _PATH_FIELDS:
        data[name] = str(data[name]) if data[name] is not None else None
    if request.variables is not None:
        data["variables"] = [variable.to_json() for variable in request.variables]
    return data


def containerize_from_spec(data: dict[str, Any]) -> Containerize:
    from iota_container.variables import Variable

    known = {f.name for f in fields(Containerize)}
    values = {k: v for k, v in data.items() if k in known}
    for name in _PATH_FIELDS:
        values[name] = Path(values[name]) if values.get(name) else None
    if values.get("variables") is not None:
        values["variables"] = tuple(Variable.from_json(v) for v in values["variables"])
    if values.get("packages") is not None:
        values["packages"] = tuple(str(line) for line in values["packages"])
    return Containerize(**values)


def containerize_job(spec: dict[str, Any], events: EventWriter) -> dict[str, Any]:
    from iota_container.containerize import containerize

    done = containerize(containerize_from_spec(spec["request"]), events)
    return {
        "image": done.image,
        "digest": done.digest,
        "bytesUploaded": done.bytes_uploaded,
        "definition": spec["definition"],  # as the API names it: relative to the root
        "datasetName": done.dataset_name,
    }


def run_job(spec: dict[str, Any], events: EventWriter) -> dict[str, Any]:
    from iota_container.engine.run import DatasetEngine
    from iota_container.engine.state_store import StateStore

    name = spec["dataset"]
    events.step(f"running dataset {name}")
    with StateStore.open(spec.get("home"), spec.get("outputRoot")) as store:
        version = DatasetEngine(store).run(name, spec.get("useContainer"))
    if version.log_path and Path(version.log_path).is_file():
        for line in Path(version.log_path).read_text(errors="replace").splitlines():
            events.emit({"log": line})
    result = {"version": version.id, "status": version.status, "reason": version.reason}
    if "html" in version.outputs:
        result["reportUrl"] = f"{spec['reportUrl']}{version.id}/report"
    if not version.succeeded:
        events.emit({"result": result})
        raise IotaError(version.reason or f"version {version.id} failed")
    return result


JOBS = {"containerize": containerize_job, "run": run_job}


def _stop_on_sigterm(signum: int, frame: object) -> None:
    # As Ctrl-C: the engine marks its version interrupted, uploads are abandoned cleanly.
    raise KeyboardInterrupt


def main(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    events = EventWriter(stdout)
    handler = _LogEvents(events)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("iota_container").addHandler(handler)
    logging.getLogger("iota_container").setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        spec = json.loads(stdin.readline())
        events.emit({"result": JOBS[spec["kind"]](spec, events)})
        return 0
    except IotaError as e:
        events.emit({"error": str(e)})
    except KeyboardInterrupt:
        events.emit({"error": "cancelled"})
    except Exception as e:  # reported on the job; the traceback goes to its log
        logging.getLogger(__name__).exception("job failed")
        events.emit({"error": f"internal error: {type(e).__name__}: {e}"})
    return 1


if __name__ == "__main__":
    sys.exit(main())
