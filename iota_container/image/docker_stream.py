"""Reading the Docker engine's JSON streams (build, pull, push): lines and layer transfers
for the user as they come, and what the backend needs once a stream ends (the failing
step and its last output, the pushed digest, what was sent and what was reused)."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from iota_container.text import one_line

if TYPE_CHECKING:  # the dataset engine reads its errors here without the image builder
    from iota_container.image.spec import Progress

# The last lines of output a failed build step is reported with.
TAIL_LINES = 5
_STEP = re.compile(r"^Step (\d+/\d+) : (.*)$")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# The legacy builder's own bookkeeping: not the output of the step itself.
_BUILDER_LINES = (" ---> ", "Removing intermediate container", "Successfully ")
_REUSED = ("Layer already exists", "Mounted from")
_LAYER_ID = re.compile(r"^[0-9a-f]{12}$")


def engine_reason(error: Exception) -> str:
    """The engine's own words: docker's APIError keeps them in `explanation`, after an
    HTTP preamble in str()."""
    return one_line(str(getattr(error, "explanation", None) or error))


def stream_error(chunk: Mapping[str, Any]) -> str | None:
    if "error" not in chunk and "errorDetail" not in chunk:
        return None
    detail = chunk.get("errorDetail") or {}
    return one_line(str(detail.get("message") or chunk.get("error") or "unknown error"))


def _progress_bytes(chunk: Mapping[str, Any]) -> tuple[int, int]:
    detail = chunk.get("progressDetail") or {}
    return int(detail.get("current") or 0), int(detail.get("total") or 0)


class EngineStream(ABC):
    """One JSON stream of the engine: the error it ends with, if any, else its chunks;
    each kind of stream (build, pull, push) reads its own chunks."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.error: str | None = None

    def feed(self, chunk: Mapping[str, Any]) -> None:
        error = stream_error(chunk)
        if error is not None:
            self.error = error
        else:
            self._chunk(chunk)

    @abstractmethod
    def _chunk(self, chunk: Mapping[str, Any]) -> None: ...


class BuildLog(EngineStream):
    """Build output, line by line (the engine splits lines across chunks)."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(progress)
        self.step = "the first step"
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._partial = ""

    def _chunk(self, chunk: Mapping[str, Any]) -> None:
        text = chunk.get("stream")
        if isinstance(text, str):
            lines = (self._partial + text).split("\n")
            self._partial = lines.pop()
            for line in lines:
                self._line(line)

    def close(self) -> None:
        if self._partial:
            self._line(self._partial)
            self._partial = ""

    def _line(self, raw: str) -> None:
        # A carriage return redraws a progress bar: only its last state is a line.
        line = _ANSI.sub("", raw.split("\r")[-1]).rstrip()
        if not line.strip():
            return
        self.progress.step(line)
        match = _STEP.match(line)
        if match:
            self.step = f"step {match[1]} `{one_line(match[2], 120)}`"
            self.tail.clear()
        elif not line.startswith(_BUILDER_LINES):
            self.tail.append(one_line(line, 240))


class PushTally(EngineStream):
    """Push progress per layer. The engine reports layers only, not the config blob, and
    counts the bytes it reads from each layer, before compression."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(progress)
        self.digest = ""
        self._sent: dict[str, int] = {}
        self._pushed: set[str] = set()
        self._reused: set[str] = set()

    @property
    def bytes_uploaded(self) -> int:
        return sum(self._sent.get(layer, 0) for layer in self._pushed)

    @property
    def blobs_uploaded(self) -> int:
        return len(self._pushed)

    @property
    def blobs_reused(self) -> int:
        return len(self._reused)

    def _chunk(self, chunk: Mapping[str, Any]) -> None:
        aux = chunk.get("aux")
        if isinstance(aux, Mapping) and aux.get("Digest"):
            self.digest = str(aux["Digest"])
            return
        status, layer = str(chunk.get("status") or ""), chunk.get("id")
        if not layer:
            if status:
                self.progress.step(status)
            return
        label = f"layer {layer}"
        if status == "Pushing":
            current, total = _progress_bytes(chunk)
            self._sent[layer] = max(current, self._sent.get(layer, 0))
            # The count runs past `total` (tar headers); a bar should end at 100 %.
            self.progress.transfer(label, min(current, total) if total else current, total)
        elif status == "Pushed":
            self._pushed.add(layer)
            sent = self._sent.get(layer, 0)
            self.progress.transfer(label, sent, sent)
        elif status.startswith(_REUSED):
            self._reused.add(layer)
            self.progress.step(f"{label}: {status}")


class PullTally(EngineStream):
    """Pull progress per layer."""

    def _chunk(self, chunk: Mapping[str, Any]) -> None:
        status, layer = str(chunk.get("status") or ""), str(chunk.get("id") or "")
        if not _LAYER_ID.match(layer):  # "Pulling from REPO" carries the tag as its id
            if status:
                self.progress.step(status)
        elif status == "Downloading":
            current, total = _progress_bytes(chunk)
            self.progress.transfer(f"layer {layer}", current, total)
        elif status not in ("Waiting", "Pulling fs layer", "Extracting"):
            self.progress.step(f"layer {layer}: {status}")
