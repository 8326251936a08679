"""Imports that leave out the URI grammar jsonschema would load.

jsonschema's format checkers import optional packages when they are installed (JupyterLab
installs them): rfc3987_syntax builds its URI grammar at import time, over a second of
CPU (about 3 s on a loaded machine) in every process that imports jsonschema. nbformat
always imports jsonschema, and so does Ray; neither validates "iri" formats, so the
runtime (nbformat) and a Ray run's driver (ray) import them through here.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

URI_GRAMMAR_MODULES = frozenset({"rfc3987_syntax"})
_IMPORT = threading.Lock()


class _OptionalUriGrammarHidden(importlib.abc.MetaPathFinder):
    """Reports the URI grammar packages as not installed, for one import.

    jsonschema imports the grammar inside `suppress(ImportError)`, as an optional extra for
    its "iri" formats. Hiding it through the import system's own extension point changes
    no third-party code or attribute (nothing is monkeypatched), and costs only the "iri"
    and "iri-reference" format checkers (in this process); the finder is removed as soon as
    the import is done, so any later import of the package works as usual. A stand-in
    module in sys.modules would replace third-party code instead.
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in URI_GRAMMAR_MODULES:
            raise ModuleNotFoundError(f"{fullname} is not imported here", name=fullname)
        return None


def import_without_uri_grammar(name: str) -> ModuleType:
    """Module `name`, imported (once) with the URI grammar packages hidden; the lock keeps
    a warm-up thread and the main thread from racing on the import system."""
    with _IMPORT:
        if name not in sys.modules:
            finder = _OptionalUriGrammarHidden()
            sys.meta_path.insert(0, finder)
            try:
                importlib.import_module(name)
            finally:
                sys.meta_path.remove(finder)
    return sys.modules[name]
