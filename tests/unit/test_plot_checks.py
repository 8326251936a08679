"""The plot checks of tests/plots.py fail when the plot is missing: on notebooks whose
outputs are written by hand and reports made by the runtime's own HTML export."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure
from nbformat.v4 import new_code_cell, new_notebook, new_output

from iota_container.notebook.execute import export_html
from tests.plots import PlotMissing, cell_png, checked_png, report_cell_png

PLOT_SOURCE = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()"
# What `display(fig)` emits under the agg backend: a repr, no image.
FIGURE_REPR = {"text/plain": "<Figure size 640x480 with 1 Axes>"}


def figure_png() -> bytes:
    """A real figure's PNG, drawn without pyplot (no backend chosen for this process)."""
    fig = Figure()
    fig.add_subplot().plot([1, 2, 3], [3, 1, 2])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


def image_output(png: bytes) -> Any:
    data = {"image/png": base64.b64encode(png).decode(), "text/plain": FIGURE_REPR["text/plain"]}
    return new_output("display_data", data=data)


def notebook(plot_outputs: list[Any], other_outputs: list[Any] | None = None) -> Any:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells.append(new_code_cell("x = 1", outputs=other_outputs or []))
    nb.cells.append(new_code_cell(PLOT_SOURCE, outputs=plot_outputs))
    return nb


def report(nb: Any, tmp_path: Path) -> str:
    return export_html(nb, tmp_path)


def test_a_plot_in_the_cell_is_found_in_the_notebook_and_the_report(tmp_path: Path) -> None:
    png = figure_png()
    nb = notebook([image_output(png)])
    assert cell_png(nb, "plt.show()") == png
    assert report_cell_png(report(nb, tmp_path), nb, "plt.show()") == png


def test_a_cell_tag_finds_the_plot_cell(tmp_path: Path) -> None:
    png = figure_png()
    nb = notebook([image_output(png)])
    nb.cells[1].metadata["tags"] = ["plot"]
    assert cell_png(nb, "plot") == png
    assert report_cell_png(report(nb, tmp_path), nb, "plot") == png


def test_a_figure_repr_without_an_image_fails_both_checks(tmp_path: Path) -> None:
    nb = notebook([new_output("display_data", data=FIGURE_REPR)])
    html = report(nb, tmp_path)
    # The page still holds PNG data URIs (the theme's own), which fooled the old check.
    assert "data:image/png;base64," in html
    with pytest.raises(PlotMissing, match="0 image/png outputs"):
        cell_png(nb, "plt.show()")
    with pytest.raises(PlotMissing, match="0 PNG images in the output of cell"):
        report_cell_png(html, nb, "plt.show()")


def test_a_plot_in_another_cell_does_not_count(tmp_path: Path) -> None:
    nb = notebook([new_output("display_data", data=FIGURE_REPR)], [image_output(figure_png())])
    html = report(nb, tmp_path)
    with pytest.raises(PlotMissing):
        cell_png(nb, "plt.show()")
    with pytest.raises(PlotMissing):
        report_cell_png(html, nb, "plt.show()")
    assert cell_png(nb, "x = 1")  # the checks do find it where it is


def test_an_image_too_small_for_a_plot_fails(tmp_path: Path) -> None:
    nb = notebook([image_output(tiny_png())])
    with pytest.raises(PlotMissing, match="1x1 PNG"):
        cell_png(nb, "plt.show()")
    with pytest.raises(PlotMissing, match="1x1 PNG"):
        report_cell_png(report(nb, tmp_path), nb, "plt.show()")


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"GIF89a" + b"\x00" * 4000, "not a PNG"), (b"\x89PNG\r\n\x1a\n", "not a PNG")],
)
def test_bytes_that_are_not_a_png_fail(data: bytes, message: str) -> None:
    with pytest.raises(PlotMissing, match=message):
        checked_png(data)


def test_output_data_that_is_not_base64_fails() -> None:
    nb = notebook([new_output("display_data", data={"image/png": "not base64 at all!"})])
    with pytest.raises(PlotMissing, match="not base64"):
        cell_png(nb, "plt.show()")


def test_the_plot_cell_must_be_named_unambiguously() -> None:
    nb = notebook([image_output(figure_png())])
    nb.cells.append(new_code_cell(PLOT_SOURCE))
    with pytest.raises(PlotMissing, match="2 code cells"):
        cell_png(nb, "plt.show()")
    with pytest.raises(PlotMissing, match="0 code cells"):
        cell_png(nb, "sns.heatmap")


def test_a_report_without_the_plot_cell_fails(tmp_path: Path) -> None:
    nb = notebook([image_output(figure_png())])
    html = report(notebook([image_output(figure_png())]), tmp_path)  # new cell ids
    with pytest.raises(PlotMissing, match="has no cell with id"):
        report_cell_png(html, nb, "plt.show()")
