"""Where a code cell's lines are, as the two readers of a cell see them.

Python's tokenizer (which gives `ast` its line numbers) ends a line at `\\r\\n`, `\\r` or
`\\n`, and nowhere else. IPython, which runs the cell in the kernel, first splits it with
`str.splitlines`, which also breaks at \\v \\f \\x1c \\x1d \\x1e \\x85 \\u2028 and \\u2029, and
reads a `%` magic or a `!` shell command on each of those lines, continued over the lines
that follow one ending in a backslash. Every position used to read or to rewrite a cell
is computed here, from one list of lines that keep their own endings, so that what is
parsed and what is rewritten cannot be two different lines.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property

_PYTHON_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# What str.splitlines breaks at besides \r and \n: line breaks only IPython sees.
IPYTHON_ONLY_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_IPYTHON_ONLY_BREAK = re.compile(f"[{IPYTHON_ONLY_BREAKS}]")
_MAGIC_START = ("%", "!")


@dataclass(frozen=True)
class CellLines:
    """A cell's source as Python's tokenizer splits it into lines, each line keeping its
    own ending, so that `"".join(lines) == source` always."""

    source: str

    @cached_property
    def lines(self) -> tuple[str, ...]:
        lines, start = [], 0
        for match in _PYTHON_LINE_BREAK.finditer(self.source):
            lines.append(self.source[start : match.end()])
            start = match.end()
        lines.append(self.source[start:])
        return tuple(lines)

    @cached_property
    def starts(self) -> tuple[int, ...]:
        """The offset in `source` where each line starts."""
        offsets, total = [], 0
        for line in self.lines:
            offsets.append(total)
            total += len(line)
        return tuple(offsets)

    def content(self, number: int) -> str:
        """Line `number` (1-based) without its ending."""
        line = self.lines[number - 1]
        return line[: len(line) - len(_ending(line))]

    def offset(self, position: tuple[int, int]) -> int:
        """The offset in `source` of an `ast` position: a 1-based line and a column in
        UTF-8 bytes, which is how the parser counts them."""
        number, byte_column = position
        prefix = self.lines[number - 1].encode("utf-8")[:byte_column]
        return self.starts[number - 1] + len(prefix.decode("utf-8"))

    def line_at(self, offset: int) -> int:
        """The 1-based number of the line that holds `offset`."""
        return bisect.bisect_right(self.starts, offset)

    def with_lines(self, replaced: dict[int, str]) -> str:
        """The source with the content of some lines replaced, each keeping its ending."""
        return "".join(
            replaced[number] + _ending(line) if number in replaced else line
            for number, line in enumerate(self.lines, start=1)
        )

    @cached_property
    def first_ipython_only_break(self) -> int | None:
        """The offset of the first line break IPython sees and Python does not."""
        match = _IPYTHON_ONLY_BREAK.search(self.source)
        return match.start() if match else None

    def starts_with_cell_magic(self) -> bool:
        """Whether IPython runs the whole cell as a `%%` cell magic: its first line that
        is not blank (in IPython's own line model) starts with `%%`."""
        first = next((line.strip() for line in self.source.splitlines() if line.strip()), "")
        return first.startswith("%%")

    @cached_property
    def magic_lines(self) -> frozenset[int]:
        """Lines IPython runs as a magic or a shell command: those starting with `%` or
        `!`, and every line after one of them that ends in a backslash (IPython hands the
        continued lines to the same command)."""
        found: set[int] = set()
        continued = False
        for number in range(1, len(self.lines) + 1):
            content = self.content(number)
            if continued or content.lstrip().startswith(_MAGIC_START):
                found.add(number)
                continued = content.endswith("\\")
        return frozenset(found)


def _ending(line: str) -> str:
    match = _PYTHON_LINE_BREAK.search(line)
    return match.group() if match else ""
