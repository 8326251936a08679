"""What a notebook imports and asks pip for, read from its cells without running them:
every import wherever it is, which ones are optional, the `%pip install` lines as pip reads
them, and cells that are not Python. Hostile cells are reported, never raised."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iota_container.environment.imports import NotebookImports, notebook_imports


def cells(*sources: Any, kind: str = "code") -> dict[str, Any]:
    return {"cells": [{"cell_type": kind, "metadata": {}, "source": s} for s in sources]}


def imported(*sources: Any) -> dict[str, bool]:
    """{module: optional} of a notebook of these code cells."""
    return {m.name: m.optional for m in notebook_imports(cells(*sources)).modules}


def pip(*sources: str) -> NotebookImports:
    return notebook_imports(cells(*sources))


# --- where imports are found -----------------------------------------------------------


def test_imports_everywhere_in_the_code_count_by_their_top_level_name() -> None:
    source = """\
import a.b.c
from x.y import z
import numpy as np, pandas
def analyse():
    import in_function
    class Inner:
        import in_class
if flag:
    import in_if
elif other:
    import in_elif
else:
    import in_else
for i in range(3):
    import in_for
while False:
    import in_while
with open("f") as f:
    import in_with
lambda: __import__("in_lambda")
"""
    assert imported(source) == {
        name: False
        for name in [
            "a", "x", "numpy", "pandas", "in_function", "in_class", "in_if", "in_elif",
            "in_else", "in_for", "in_while", "in_with", "in_lambda",
        ]
    }  # fmt: skip


def test_relative_imports_name_no_distribution() -> None:
    assert imported("from . import sibling\nfrom .pkg import thing\nfrom .. import up") == {}


def test_literal_dynamic_imports_count_and_computed_ones_do_not() -> None:
    source = """\
import importlib
importlib.import_module("dyn.sub")
__import__("dunder")
from importlib import import_module
import_module("bare_call")
importlib.import_module(name)
importlib.import_module(f"plugin_{name}")
importlib.import_module(".relative", "pkg")
importlib.import_module("")
"""
    assert imported(source) == {
        "importlib": False, "dyn": False, "dunder": False, "bare_call": False
    }  # fmt: skip


def test_modules_are_listed_once_sorted_with_every_cell_that_imports_them() -> None:
    found = notebook_imports(cells("import b\nimport a", "print(1)", "import b.sub"))
    assert [(m.name, m.cells) for m in found.modules] == [("a", (0,)), ("b", (0, 2))]


def test_markdown_and_raw_cells_are_not_code() -> None:
    notebook = cells("import in_code")
    notebook["cells"] += cells("import in_markdown", kind="markdown")["cells"]
    notebook["cells"] += cells("import in_raw", kind="raw")["cells"]
    assert notebook_imports(notebook).names() == ["in_code"]


def test_a_source_given_as_a_list_of_lines_is_one_cell() -> None:
    assert imported(["import one\n", "import two\n"]) == {"one": False, "two": False}


# --- optional imports ------------------------------------------------------------------


@pytest.mark.parametrize(
    "handler",
    [
        "except ImportError:",
        "except ModuleNotFoundError:",
        "except (ValueError, ImportError):",
        "except (KeyError, ModuleNotFoundError) as e:",
        "except Exception:",
        "except BaseException:",
        "except:",
        "except builtins.ImportError:",
    ],
)
def test_an_import_guarded_by_a_handler_of_import_errors_is_optional(handler: str) -> None:
    assert imported(f"try:\n    import extra\n{handler}\n    extra = None") == {"extra": True}


@pytest.mark.parametrize(
    "handler", ["except ValueError:", "except (KeyError, TypeError):", "finally:"]
)
def test_an_import_guarded_by_other_handlers_is_required(handler: str) -> None:
    assert imported(f"try:\n    import needed\n{handler}\n    pass") == {"needed": False}


def test_the_fallback_in_the_handler_else_and_finally_is_required() -> None:
    source = """\
try:
    import fast
except ImportError:
    import slow
else:
    import with_fast
finally:
    import always
"""
    assert imported(source) == {"fast": True, "slow": False, "with_fast": False, "always": False}


def test_nesting_inside_a_guarded_try_stays_optional() -> None:
    source = """\
try:
    if gpu:
        def load():
            import cupy
            return cupy
except ImportError:
    pass
"""
    assert imported(source) == {"cupy": True}


def test_contextlib_suppress_of_import_errors_makes_an_import_optional() -> None:
    source = """\
import contextlib
with contextlib.suppress(ImportError):
    import maybe
with suppress(ModuleNotFoundError, OSError):
    import perhaps
with suppress(KeyError):
    import surely
"""
    assert imported(source) == {
        "contextlib": False, "maybe": True, "perhaps": True, "surely": False
    }  # fmt: skip


def test_a_module_optional_in_one_cell_and_plain_in_another_is_required() -> None:
    guarded = "try:\n    import shared\nexcept ImportError:\n    shared = None"
    assert imported(guarded, "import shared") == {"shared": False}
    assert imported("import shared", guarded) == {"shared": False}
    assert imported(guarded, guarded) == {"shared": True}


# --- %pip install lines ----------------------------------------------------------------


def test_pip_lines_are_read_as_pip_reads_its_arguments() -> None:
    found = pip(
        "%pip install -q pandas==2.2 'seaborn>=0.13'\n"
        "!pip install x\n"
        "!python -m pip install y\n"
        "!python3.11 -m pip install --upgrade z\n"
        "!{sys.executable} -m pip install w\n"
        "%pip3 install --no-cache-dir v  # a comment\n"
        '! pip install "extras[fast]>=1"\n'
    )
    assert [p.requirement for p in found.pip_installs] == [
        "pandas==2.2", "seaborn>=0.13", "x", "y", "z", "w", "v", "extras[fast]>=1"
    ]  # fmt: skip
    assert found.pip_options == ()
    assert {p.cell for p in found.pip_installs} == {0}


def test_pip_options_are_kept_for_refusal_with_their_values_skipped() -> None:
    found = pip(
        "%pip install -r reqs.txt\n"
        "%pip install --index-url https://mirror/simple pkg\n"
        "%pip install -e .\n"
        "%pip install --extra-index-url=https://other/simple other"
    )
    assert found.pip_options == (
        "-r",
        "--index-url",
        "-e",
        "--extra-index-url=https://other/simple",
    )
    assert [p.requirement for p in found.pip_installs] == ["pkg", "other"]


def test_a_pip_line_continued_with_a_backslash_is_one_command() -> None:
    found = pip("%pip install 'numpy<2' \\\n    scipy \\\n    sympy\nimport numpy")
    assert [p.requirement for p in found.pip_installs] == ["numpy<2", "scipy", "sympy"]
    assert found.pip_options == ()
    assert found.names() == ["numpy"]


def test_a_url_requirement_with_spaces_around_the_at_stays_one_requirement() -> None:
    found = pip("%pip install pkg @ https://example.com/pkg-1.0.whl other")
    assert [p.requirement for p in found.pip_installs] == [
        "pkg @ https://example.com/pkg-1.0.whl",
        "other",
    ]


def test_shell_redirections_end_the_pip_command() -> None:
    found = pip("!pip install quiet > /dev/null 2>&1\n!pip install a && echo done")
    assert [p.requirement for p in found.pip_installs] == ["quiet", "a"]


def test_other_installers_and_mentions_of_pip_are_not_pip_lines() -> None:
    found = pip(
        "%conda install numpy\n"
        "# %pip install commented\n"
        "print('pip install quoted')\n"
        "!pipx install tool\n"
        "%pip list\n"
        "!pip download d"
    )
    assert found.pip_installs == () and found.pip_options == ()


def test_an_unbalanced_quote_makes_the_line_an_option_to_refuse() -> None:
    found = pip("%pip install 'unclosed")
    assert found.pip_installs == ()
    assert found.pip_options == ("%pip install 'unclosed",)


# --- magics, cells that are not Python -------------------------------------------------


def test_magic_and_shell_lines_are_skipped_and_the_code_around_them_counts() -> None:
    source = "%matplotlib inline\n!ls -l \\\n   -a\nimport around\n%load_ext autoreload"
    assert imported(source) == {"around": False}
    assert pip(source).unparsed_cells == ()


def test_a_cell_magic_that_runs_another_language_is_unparsed() -> None:
    found = pip("%%bash\nimport not_python\npip install nope", "import after")
    assert found.names() == ["after"]
    assert found.unparsed_cells == (0,)
    assert found.pip_installs == ()


@pytest.mark.parametrize("magic", ["%%time", "%%timeit -n 1", "%%capture output", "%%prun"])
def test_the_body_of_a_cell_magic_that_runs_python_counts(magic: str) -> None:
    found = pip(f"\n{magic}\n%pip install in_magic\nimport timed\nfrom timed_too import x")
    assert found.names() == ["timed", "timed_too"]
    assert [p.requirement for p in found.pip_installs] == ["in_magic"]
    assert found.unparsed_cells == ()


def test_cells_that_do_not_parse_are_reported_and_the_others_still_count() -> None:
    found = pip("import good", "def broken(:\n    import hidden", "import also_good")
    assert found.names() == ["also_good", "good"]
    assert found.unparsed_cells == (1,)


# --- hostile cells ---------------------------------------------------------------------


def test_every_python_line_ending_separates_statements() -> None:
    assert imported("import lf\nimport crlf\r\nimport cr\rimport last") == {
        "lf": False, "crlf": False, "cr": False, "last": False
    }  # fmt: skip


def test_a_nul_byte_makes_a_cell_unparsed() -> None:
    found = pip("import fine", "import a\x00b")
    assert found.names() == ["fine"] and found.unparsed_cells == (1,)


@pytest.mark.parametrize(
    "source",
    [
        "x = " + " + ".join(["a"] * 2000) + "\nimport after_chain",  # deeper than recursion
        "x = " + " + ".join(["a"] * 60000) + "\nimport after_chain",  # the parser gives up
        "x = " + "-" * 100000 + "1\nimport after_chain",
        "x = " + "(" * 5000 + ")" * 5000,
        "x = " + "[" * 300 + "]" * 300,
        "".join("    " * i + "if a:\n" for i in range(120)) + "    " * 120 + "import deep\n",
    ],
    ids=["long-chain", "longer-chain", "unary", "parentheses", "brackets", "indentation"],
)
def test_deep_nesting_never_crashes(source: str) -> None:
    found = pip(source, "import next_cell")
    assert "next_cell" in found.names()
    if found.unparsed_cells == ():
        assert "after_chain" in found.names() or "deep" in found.names() or len(found.names()) == 1


def test_a_long_chain_the_parser_reads_is_walked_to_its_imports() -> None:
    """A left-nested BinOp 2000 deep parses, but a recursive walk of it overflows."""
    assert imported("x = " + " + ".join(["a"] * 2000) + "\nimport after_chain") == {
        "after_chain": False
    }


@pytest.mark.parametrize(
    "notebook",
    [
        {},
        {"cells": None},
        {"cells": [None, 1, "text", [], {"cell_type": "code"}]},
        {"cells": [{"cell_type": "code", "source": None}]},
        {"cells": [{"cell_type": "code", "source": 42}]},
    ],
)
def test_malformed_notebooks_have_no_imports(notebook: dict[str, Any]) -> None:
    assert notebook_imports(notebook).modules == ()


cell_text = st.lists(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\n", "\r", "\r\n", "\x00", "\\", "%", "!", "'", '"', "#", "(", "["]),
        st.sampled_from(["import ", "from ", "try:", "except ImportError:", "%%time\n"]),
        st.sampled_from(["%pip install ", "!pip install ", " -r ", " @ ", "\\\n", "    "]),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(cell_text, max_size=4))
def test_any_cells_give_an_answer_and_never_raise(sources: list[str]) -> None:
    found = notebook_imports(cells(*sources))
    assert all(m.name and "." not in m.name for m in found.modules)
    assert set(found.unparsed_cells) <= set(range(len(sources)))
    assert all(0 <= p.cell < len(sources) for p in found.pip_installs)
