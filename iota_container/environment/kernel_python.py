"""The interpreter behind a Jupyter kernel: the Python whose packages a notebook ran with.

A kernelspec's `argv` starts the kernel (`[python, -m, ipykernel_launcher, -f, ...]`). Its
first word is the interpreter; `python` (and `python3`, `python3.11`) means the Python
that runs Jupyter itself, as jupyter_client reads it when it launches the kernel. The
spec's `env` is part of that environment too (a PYTHONPATH, a virtualenv's PATH).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from typing import Any

from iota_container.errors import IotaError


class KernelLanguageError(IotaError):
    """The kernel does not run Python, so its packages cannot be detected."""


@dataclass(frozen=True)
class KernelPython:
    kernel: str
    argv: tuple[str, ...]  # the interpreter, maybe with its own options
    env: dict[str, str] = field(default_factory=dict)


def kernel_python(kernel: str) -> KernelPython:
    """The Python interpreter of installed kernel `kernel`."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec: Any = KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel as e:
        raise IotaError(
            f"kernel {kernel!r} is not installed: choose an installed one with --kernel "
            "(jupyter kernelspec list)"
        ) from e
    if (spec.language or "").lower() != "python":
        raise KernelLanguageError(
            f"kernel {kernel!r} runs {spec.language or 'an unknown language'}, not Python: "
            "packages are detected for Python notebooks only; give them with --requirements"
        )
    argv = list(spec.argv)
    interpreter = _interpreter_of(argv)
    if interpreter is None:
        raise IotaError(
            f"kernel {kernel!r} is not started by a Python interpreter ({argv[:1]}): "
            "give its packages with --requirements"
        )
    return KernelPython(kernel, (interpreter,), {str(k): str(v) for k, v in spec.env.items()})


def _interpreter_of(argv: list[str]) -> str | None:
    if not argv:
        return None
    first = argv[0]
    jupyters_own = {
        "python",
        f"python{sys.version_info[0]}",
        "python{}.{}".format(*sys.version_info[:2]),
    }
    if first in jupyters_own:
        return sys.executable
    name = first.rsplit("/", 1)[-1]
    if not name.startswith("python"):
        return None  # a wrapper script (conda run, a shell): not something to probe
    return shutil.which(first) or first
