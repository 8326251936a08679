"""Small real notebooks for tests, written with nbformat."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def write_notebook(path: Path, *cells: str, parameters: str | None = None) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if parameters is not None:
        cell = new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    for source in cells:
        nb.cells.append(
            new_markdown_cell(source[3:]) if source.startswith("md:") else new_code_cell(source)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


PLOT_CELL = """\
import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
from IPython.display import display
fig, ax = plt.subplots()
ax.plot([1, 2, 3], [threshold, threshold * 2, threshold * 3])
display(fig)
plt.close(fig)"""
