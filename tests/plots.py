"""Checks that a plot really is in a run's outputs: the PNG in the plot cell's own output,
in the executed notebook and in the HTML report.

Looking for any `data:image/png` in the report proves nothing: the report's theme CSS
carries its own PNG data URIs, so such a check passes on a report without a plot. These
helpers look only inside the plot cell: its `image/png` outputs in the notebook, and in
the report the `<img>` inside that cell's `jp-OutputArea` (the cell's div carries
`id="cell-id=<the cell's id>"` in nbconvert's lab template).
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A rendered figure with axes, ticks and a line is tens of KB and hundreds of pixels
# across; a blank placeholder or a theme icon is a few hundred bytes and a few pixels.
MIN_PLOT_BYTES = 2_000
MIN_PLOT_PIXELS = 100
_DATA_URI = "data:image/png;base64,"


class PlotMissing(AssertionError):
    """The plot cell holds no plausible PNG where it should."""


def plot_cell(notebook: Any, marker: str) -> Any:
    """The one code cell tagged `marker`, else the one whose source contains `marker`."""
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    tagged = [cell for cell in code if marker in cell.get("metadata", {}).get("tags", [])]
    found = tagged or [cell for cell in code if marker in _source(cell)]
    if len(found) != 1:
        raise PlotMissing(f"{len(found)} code cells are tagged or contain {marker!r}, not one")
    return found[0]


def cell_png(notebook: Any, marker: str) -> bytes:
    """The PNG of the plot cell's own `image/png` output, checked to be a plausible plot."""
    cell = plot_cell(notebook, marker)
    outputs = cell.get("outputs", [])
    images = [
        output["data"]["image/png"]
        for output in outputs
        if output.get("output_type") in ("display_data", "execute_result")
        and "image/png" in output.get("data", {})
    ]
    if len(images) != 1:
        kinds = [sorted(output.get("data", {})) or output.get("output_type") for output in outputs]
        raise PlotMissing(f"plot cell has {len(images)} image/png outputs, not one: {kinds}")
    encoded = images[0]
    return checked_png(_decode("".join(encoded) if isinstance(encoded, list) else encoded))


def report_cell_png(html: str, notebook: Any, marker: str) -> bytes:
    """The PNG the HTML report shows in the plot cell's output area."""
    cell = plot_cell(notebook, marker)
    cell_id = cell.get("id")
    if not cell_id:
        raise PlotMissing("the plot cell has no id, so the report cannot be matched to it")
    finder = _CellImageFinder(f"cell-id={cell_id}")
    finder.feed(html)
    finder.close()
    if not finder.cell_found:
        raise PlotMissing(f"the report has no cell with id {cell_id!r}")
    if len(finder.sources) != 1:
        raise PlotMissing(
            f"the report shows {len(finder.sources)} PNG images in the output of cell "
            f"{cell_id!r}, not one"
        )
    return checked_png(_decode(finder.sources[0]))


def checked_png(data: bytes) -> bytes:
    """`data` if it is a PNG big enough to be a plot; PlotMissing otherwise."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise PlotMissing(f"not a PNG: starts with {data[:16]!r}")
    width, height = struct.unpack(">II", data[16:24])
    if len(data) < MIN_PLOT_BYTES or min(width, height) < MIN_PLOT_PIXELS:
        raise PlotMissing(f"a {width}x{height} PNG of {len(data)} bytes is too small for a plot")
    return data


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as e:
        raise PlotMissing(f"the image data is not base64: {e}") from e


class _CellImageFinder(HTMLParser):
    """Collects the PNG data URIs of `<img>` elements inside the output area of the div
    whose id is `cell_id`. Only divs are counted for nesting: the template nests them
    properly, and `<img>` has no end tag."""

    def __init__(self, cell_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.cell_id = cell_id
        self.cell_found = False
        self.sources: list[str] = []
        self._depth = 0  # open divs
        self._cell_depth: int | None = None  # depth of the cell's div while inside it
        self._output_depth: int | None = None  # depth of its jp-OutputArea while inside

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "div":
            self._depth += 1
            classes = (attributes.get("class") or "").split()
            if self._cell_depth is None and attributes.get("id") == self.cell_id:
                self._cell_depth = self._depth
                self.cell_found = True
            elif (
                self._cell_depth is not None
                and self._output_depth is None
                and "jp-OutputArea" in classes
            ):
                self._output_depth = self._depth
        elif tag == "img" and self._output_depth is not None:
            source = attributes.get("src") or ""
            if source.startswith(_DATA_URI):
                self.sources.append(source[len(_DATA_URI) :])

    def handle_endtag(self, tag: str) -> None:
        if tag != "div":
            return
        if self._output_depth == self._depth:
            self._output_depth = None
        if self._cell_depth == self._depth:
            self._cell_depth = None
        self._depth -= 1
