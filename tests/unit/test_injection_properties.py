"""Properties of first-assignment injection over arbitrary cells and arbitrary values.

Cells are built from pieces that parse on their own, joined by every line ending Python
knows (\\n, \\r\\n, a bare \\r), and holding every line break only `str.splitlines` (and so
IPython) knows, inside comments and strings and as a leading form feed. A variable is
planted in them, in many shapes. Whatever the cell and the value, either the value
replaces exactly the planted value (the rest of the cell byte for byte as it was) and
evaluates to exactly the value, both as Python parses the cell and as IPython's own input
transformer hands it to Python; or the assignment is after a line break only IPython
sees, and the cell is left as it was.
"""

from __future__ import annotations

import ast
import contextlib
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from IPython.core.inputtransformer2 import TransformerManager

from iota_container.errors import VariableError
from iota_container.notebook.assignments import Assignment, cell_assignments, replace_spans
from iota_container.notebook.cell_lines import IPYTHON_ONLY_BREAKS, CellLines
from iota_container.notebook.inject import inject_variables, python_literal, value_for_default
from tests.unit.test_inject import notebook

TARGET = "target"
PYTHON_LINE_ENDINGS = ("\n", "\r\n", "\r")

# Any character at all, lone surrogates included (a JSON "\ud800" escape makes one).
any_text = st.text(st.characters(codec=None, categories=None), max_size=30)
# Any character but a NUL (Python refuses a cell with one), a quote, a backslash and line
# breaks of either kind, which the strategies below put in on purpose.
_plain = st.characters(codec="utf-8", exclude_characters=f"\x00\r\n'\"\\{IPYTHON_ONLY_BREAKS}")
# Text of a comment or a one-line string: anything but what would end it.
one_line_text = st.text(
    st.one_of(_plain, st.sampled_from(["\t", "%", "!", "é", "名", "🙂", "#", " "])), max_size=12
)
# The same with a line break only IPython sees in it.
text_with_ipython_break = st.tuples(
    one_line_text, st.sampled_from(IPYTHON_ONLY_BREAKS), one_line_text
).map("".join)
# Text of a triple-quoted string: line endings of every kind are allowed too.
multi_line_text = st.lists(
    st.one_of(_plain, st.sampled_from([*IPYTHON_ONLY_BREAKS, *PYTHON_LINE_ENDINGS, "\t"])),
    max_size=12,
).map("".join)


def lines(*parts: str) -> st.SearchStrategy[str]:
    """`parts` joined by any of Python's line endings."""
    if len(parts) == 1:
        return st.just(parts[0])
    return st.lists(
        st.sampled_from(PYTHON_LINE_ENDINGS), min_size=len(parts) - 1, max_size=len(parts) - 1
    ).map(lambda ends: "".join(p + e for p, e in zip(parts, [*ends, ""])))


# Pieces of a cell: each parses on its own at the top level and never assigns TARGET.
pieces = st.one_of(
    st.sampled_from(
        [
            "a = 1",
            "b = 'x'; c = a + 1",
            "print(a)",
            "pass",
            "名前 = 'データ'",
            "emoji = '🙂'",
            "%matplotlib inline",
            "!ls -la",
            "%time d = 2",
            "\x0ce = 3",  # a form feed is indentation whitespace to Python
            "x = a if a else None  # conditional",
        ]
    ),
    one_line_text.map(lambda text: f"# {text}"),
    one_line_text.map(lambda text: f"s = '{text}'"),
    text_with_ipython_break.map(lambda text: f"# {text}"),
    text_with_ipython_break.map(lambda text: f"s = '{text}'"),
    st.tuples(
        one_line_text,
        st.sampled_from(IPYTHON_ONLY_BREAKS),
        st.sampled_from(["!echo", "%time", "a = %time", ",f"]),
    ).map(lambda parts: "# {}{}{} \\".format(*parts)),  # to IPython, a continued command
    st.tuples(one_line_text, st.sampled_from(["", " \\"])).map(
        lambda parts: f"!echo {parts[0]}{parts[1]}"  # a trailing backslash continues it
    ),
    one_line_text.map(lambda text: f"%env X={text}"),
    multi_line_text.map(lambda text: f'm = """{text}"""'),
    lines("if a:", "\tf = 1", "else:", "\tf = 2"),
    lines("g = (1,", "\t2,", ")"),
    lines("h = 1 + \\", "    2"),
    lines("!pip install \\", "    numpy \\", "    pandas"),
    lines("def fn(k):", "    return k"),
)

# The planted assignment of TARGET, in its shapes; `{}` is its value.
plants = st.one_of(
    st.sampled_from(
        [
            "target = 0",
            "target: int = 0",
            "target = 'old'  # what it is",
            "target = 1  # type: int",
            "a = 2; target = None; b = 3",
            "target = \\\n    7",
            "target = (\r\n    1 +\r    2\n)",
            "target = [1,\r2]",
            "target = '''multi\rline\r\nstring'''",
            "if True:\n\ttarget = 'tabbed'",
            "for i in range(2):\r    target = i",
            "target = 'é' ;z = 1",
            "target = {'k': [1, 2.5, None]}",
        ]
    ),
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    any_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def cells(draw: st.DrawFn) -> str:
    before = draw(st.lists(pieces, max_size=4))
    after = draw(st.lists(pieces, max_size=3))
    parts = [*before, draw(plants), *after]
    ends = draw(
        st.lists(st.sampled_from(PYTHON_LINE_ENDINGS), min_size=len(parts), max_size=len(parts))
    )
    return "".join(part + end for part, end in zip(parts, ends))


def identical(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1, 1.0 and True differ; so do 0.0
    and -0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


def planted(source: str) -> Assignment | None:
    found = cell_assignments(source, 0) or []
    return next((a for a in found if a.name == TARGET), None)


def shell_line_continues(source: str) -> bool:
    """Whether a magic or shell line of the cell ends in a backslash: IPython hands the
    line after it to the same command, so no assignment there counts."""
    cell = CellLines(source)
    return any(cell.content(number).endswith("\\") for number in cell.magic_lines)


def compiles_in_ipython(source: str) -> bool:
    """Whether the text IPython makes of the cell is Python. When it is not (IPython
    reads a bare \\r as no line ending), the kernel runs none of the cell."""
    try:
        ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return False
    return True


def ipython_assigned_value(source: str) -> Any:
    """The value assigned to TARGET in the text IPython's input transformer makes of the
    cell (what the kernel compiles)."""
    transformed = TransformerManager().transform_cell(source)
    for node in ast.walk(ast.parse(transformed)):
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [
            TARGET
        ]:
            return ast.literal_eval(node.value)
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == TARGET:
            assert node.value is not None
            return ast.literal_eval(node.value)
    raise AssertionError(f"IPython's cell assigns no {TARGET}: {transformed!r}")


EXPLOITS = [
    # The issue's: a bare \r, and a value that splits the string on the line after.
    ('a = 1\rtarget = 0\nprint(1,"X")', "+__import__('os').system('touch /tmp/x')+"),
    # A shell line continued over the assignment: IPython expands {...} in shell lines.
    ("!echo \\\ntarget = 'x'\nb = 1", "{__import__('os').system('touch /tmp/x')}"),
    # The same behind a line break only IPython sees, in what Python reads as a comment.
    ("# c\x85!echo \\\ntarget = 'x'", "{__import__('os').system('touch /tmp/x')}"),
    ("# c\u2028a = %time \\\ntarget = 'x'", "{__import__('os').system('touch /tmp/x')}"),
]


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells(), json_values)
@example(*EXPLOITS[0])
@example(*EXPLOITS[1])
@example(*EXPLOITS[2])
@example(*EXPLOITS[3])
def test_the_value_replaces_exactly_the_planted_value(source: str, value: Any) -> None:
    assignment = planted(source)
    if assignment is None:
        # A magic line continued over the planted one, or one in a multi-line string that
        # (blanked for parsing) leaves the cell unparsed; either way, left alone.
        event("left alone: a magic line continues over it, or the cell does not parse")
        magic = CellLines(source).magic_lines
        assert shell_line_continues(source) or (cell_assignments(source, 0) is None and magic)
        nb = notebook(source)
        assert inject_variables(nb, {TARGET: 1}).unassigned == [TARGET]
        assert nb.cells[0].source == source
        return
    if assignment.not_rewritable:
        event("left alone: after a line break only IPython sees")
        assert any(ch in source[: assignment.span[0]] for ch in IPYTHON_ONLY_BREAKS)
        nb = notebook(source)
        # A value no file can hold is refused instead, which changes nothing either.
        with contextlib.suppress(VariableError):
            assert inject_variables(nb, {TARGET: value}).unassigned == [TARGET]
        assert nb.cells[0].source == source
        return
    event("rewritten")
    literal = python_literal(value)
    rewritten = replace_spans(source, [(assignment, literal)])
    start, end = assignment.span
    assert rewritten[:start] == source[:start]
    assert rewritten[start + len(literal) :] == source[end:]
    again = planted(rewritten)
    assert again is not None and identical(ast.literal_eval(again.value_source), value)
    if compiles_in_ipython(source):
        assert identical(ipython_assigned_value(rewritten), value)
    else:
        event("IPython cannot compile this cell, with or without the value")
        assert not compiles_in_ipython(rewritten)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells(), json_values)
def test_injection_changes_only_the_planted_value(source: str, value: Any) -> None:
    """Through `inject_variables`, with the notebook's default's type applied: the cell
    outside the planted value is untouched, and a refused value changes nothing."""
    nb = notebook(source)
    assignment = planted(source)
    try:
        report = inject_variables(nb, {TARGET: value})
    except VariableError:
        event("refused: the value cannot have the default's type")
        assert nb.cells[0].source == source
        return
    if assignment is None or assignment.not_rewritable:
        assert report.unassigned == [TARGET] and nb.cells[0].source == source
        return
    typed = value_for_default(TARGET, value, assignment.literal, assignment.type_hint)
    start, end = assignment.span
    assert nb.cells[0].source == source[:start] + python_literal(typed) + source[end:]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("nested", [False, True])
def test_non_finite_floats_are_written_as_calls_of_float(value: float, nested: bool) -> None:
    """No literal spells nan or inf; `float('nan')` does, also inside a list."""
    given_value: Any = [value] if nested else value
    nb = notebook("a = 1\rtarget = None\r\nb = 2")
    inject_variables(nb, {TARGET: given_value})
    literal = python_literal(given_value)
    assert nb.cells[0].source == f"a = 1\rtarget = {literal}\r\nb = 2"
    assert literal == (f"[float('{value}')]" if nested else f"float('{value}')")
    namespace: dict[str, Any] = {}
    exec(nb.cells[0].source, {"__builtins__": {"float": float}}, namespace)
    got = namespace[TARGET][0] if nested else namespace[TARGET]
    assert (math.isnan(got) and math.isnan(value)) or got == value
