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


# A plot as a data scientist writes it: pyplot on the kernel's default (inline) backend,
# which turns the figure into the cell's image/png output.
PLOT_CELL = """\
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.plot([1, 2, 3], [threshold, threshold * 2, threshold * 3])
plt.show()"""

# The inline backend asked for by name, and the figure shown with display(): also a PNG.
INLINE_DISPLAY_PLOT_CELL = """\
%matplotlib inline
import matplotlib.pyplot as plt
from IPython.display import display
fig, ax = plt.subplots()
ax.plot([1, 2, 3], [threshold, threshold * 2, threshold * 3])
display(fig)
plt.close(fig)"""

# What not to write: with the agg backend chosen before pyplot is imported, the inline
# backend never registers its PNG formatter for figures, so display(fig) emits only
# text/plain ("<Figure size 640x480 with 1 Axes>") and the report has no plot. Tests use it
# to prove that the plot checks fail on a missing plot.
AGG_DISPLAY_PLOT_CELL = """\
import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
from IPython.display import display
fig, ax = plt.subplots()
ax.plot([1, 2, 3], [threshold, threshold * 2, threshold * 3])
display(fig)
plt.close(fig)"""
