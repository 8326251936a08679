"""The interpreter behind a Jupyter kernel: the Python whose packages a notebook ran with.

A kernelspec's `argv` starts the kernel (`[python, -m, ipykernel_launcher, -f, ...]`). Its
first word is the interpreter; `python` (and `python3`, `python3.11`) means the Python
that runs Jupyter itself, as jupyter_client reads it when it launches the kernel. The
spec's `env` is part of that environment too (a PYTHONPATH, a virtualenv's PATH).
"""

from __future__ import annotations

import json
import os
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
    spec = _kernel_json(kernel) or _managed_spec(kernel)
    language = str(spec.get("language") or "")
    if language.lower() != "python":
        raise KernelLanguageError(
            f"kernel {kernel!r} runs {language or 'an unknown language'}, not Python: "
            "packages are detected for Python notebooks only; give them with --requirements"
        )
    argv = [str(word) for word in spec.get("argv") or ()]
    interpreter = _interpreter_of(argv)
    if interpreter is None:
        raise IotaError(
            f"kernel {kernel!r} is not started by a Python interpreter ({argv[:1]}): "
            "give its packages with --requirements"
        )
    env = spec.get("env") or {}
    return KernelPython(kernel, (interpreter,), {str(k): str(v) for k, v in env.items()})


def _kernel_json(kernel: str) -> dict[str, Any] | None:
    """The spec of `kernel` read from its kernel.json, where jupyter_client's spec manager
    looks first (jupyter_path("kernels"), then IPython's folder): that manager's import and
    defaults (which import IPython) took a third of a second of each build. None when the
    manager may know better: no such folder (ipykernel's own kernel), an unreadable file,
    or a spec naming a kernel provisioner."""
    from jupyter_core.paths import jupyter_path

    ipython_dir = os.environ.get("IPYTHONDIR") or os.path.expanduser("~/.ipython")
    wanted = kernel.lower()
    for folder in [*jupyter_path("kernels"), os.path.join(ipython_dir, "kernels")]:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name, "kernel.json")
            if name.lower() == wanted and os.path.isfile(path):
                return _read_spec(path)
    return None


def _read_spec(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            spec = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(spec, dict) or (spec.get("metadata") or {}).get("kernel_provisioner"):
        return None
    return spec


def _managed_spec(kernel: str) -> dict[str, Any]:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec: Any = KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel as e:
        raise IotaError(
            f"kernel {kernel!r} is not installed: choose an installed one with --kernel "
            "(jupyter kernelspec list)"
        ) from e
    return {"argv": list(spec.argv), "language": spec.language, "env": dict(spec.env)}


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
