"""The notebook of build_packages_vs_docker.py (pandas and matplotlib, a plot, and
`helpers.py` beside it), and what the images and pushes of that benchmark are made of:
its lock, each push counted against its image, the pip layer, the packages in an image.
"""

from __future__ import annotations

import gzip
import io
import json
import statistics
import subprocess
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _builds import ANALYSIS_DIR, DOCKER, IOTA, docker_env
from _common import Samples, format_table, require_executable, run_command
from _registry import MANIFEST_TYPES, PushTally, registry_get

NOTEBOOK_NAME = "sensors.ipynb"
KERNEL = "python3"

HELPERS = '''\
def above(frame, threshold):
    """The rows of `frame` hotter than `threshold`."""
    return frame[frame.temp > threshold]
'''


# --- the notebook -----------------------------------------------------------------------


def notebook_bytes(analysis: str, revision: str) -> bytes:
    """The notebook of one round: `analysis` names a notebook (a new one for each round of
    experiment 2), `revision` is the edit of its plot cell (experiment 3)."""

    def code(source: str, tags: Sequence[str] = ()) -> dict[str, Any]:
        metadata = {"tags": list(tags)} if tags else {}
        return {
            "cell_type": "code",
            "execution_count": None,
            "metadata": metadata,
            "outputs": [],
            "source": source,
        }

    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": f"# Hot hours ({analysis})"},
        code("threshold = 27.5", ["parameters"]),
        code(
            "import pandas as pd\nimport matplotlib.pyplot as plt\nfrom helpers import above\n\n"
            "readings = pd.DataFrame({'hour': range(6), "
            "'temp': [21.5, 26.0, 31.5, 29.0, 27.0, 24.5]})\n"
            f"hot = above(readings, threshold)  # {analysis}\nprint('hot hours', list(hot.hour))"
        ),
        code(
            "fig, ax = plt.subplots()\nax.plot(readings.hour, readings.temp)\n"
            f"ax.axhline(threshold, color='red')\nax.set_title('{revision}')\nplt.show()"
        ),
    ]
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": KERNEL, "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(notebook, indent=1) + "\n").encode()


def write_analysis(folder: Path, analysis: str, revision: str) -> int:
    """The notebook and helpers.py in `folder`; returns their size (the round's own files)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "helpers.py").write_text(HELPERS, encoding="utf-8")
    (folder / NOTEBOOK_NAME).write_bytes(notebook_bytes(analysis, revision))
    return sum(path.stat().st_size for path in folder.iterdir())


def lock_of(notebook: Path) -> tuple[str, list[str]]:
    """`iota-container requirements NB --json`: (requirements.txt text, NAME==VERSION)."""
    command = [require_executable("iota-container"), "requirements", str(notebook), "--json"]
    found = json.loads(run_command(command).stdout)
    if found.get("unresolved") or found.get("problems"):
        raise SystemExit(f"bench: the notebook's lock has problems: {found}")
    pins = [f"{d['distribution']}=={d['version']}" for d in found["distributions"]]
    return "".join(f"{pin}\n" for pin in pins), pins


# --- counting one push ------------------------------------------------------------------


@dataclass(frozen=True)
class PushCount:
    """One push against the image it made: [base layers] + [added ...] + package layer +
    notebook layer. The package layer is the second to last on both sides."""

    bytes_sent: int
    package_layer_bytes: int
    notebook_layer_bytes: int
    config_bytes: int
    manifest_bytes: int
    base_layer_bytes: int
    other_bytes: int  # anything else: docker's requirements.txt layer, retried uploads
    blobs_uploaded: int
    blobs_mounted: int
    blobs_present: int
    package_layer_size: int  # compressed, as the manifest lists it
    package_layer_digest: str
    own_files: int  # the notebook and helpers.py
    mounted_from: tuple[str, ...]

    @classmethod
    def of(
        cls,
        registry_url: str,
        base_layers: frozenset[str],
        tally: PushTally,
        repository: str,
        own_files: int,
    ) -> PushCount:
        raw = registry_get(f"{registry_url}/v2/{repository}/manifests/latest", MANIFEST_TYPES)
        manifest = json.loads(raw)
        layers = [str(layer["digest"]) for layer in manifest["layers"]]
        sizes = {str(layer["digest"]): int(layer["size"]) for layer in manifest["layers"]}
        package, notebook = layers[-2], layers[-1]
        config = str(manifest["config"]["digest"])

        def sent(digest: str) -> int:
            return tally.uploaded.get(digest, 0)

        base = sum(v for d, v in tally.uploaded.items() if d in base_layers)
        named = sent(package) + sent(notebook) + sent(config) + base
        return cls(
            bytes_sent=tally.bytes_sent,
            package_layer_bytes=sent(package),
            notebook_layer_bytes=sent(notebook),
            config_bytes=sent(config),
            manifest_bytes=tally.manifest_bytes,
            base_layer_bytes=base,
            other_bytes=tally.bytes_sent - tally.manifest_bytes - named,
            blobs_uploaded=len(tally.uploaded),
            blobs_mounted=tally.mounted,
            blobs_present=tally.present,
            package_layer_size=sizes[package],
            package_layer_digest=package,
            own_files=own_files,
            mounted_from=tuple(sorted(set(tally.mount_sources))),
        )


def docker_lines(command: Sequence[str]) -> tuple[float, list[tuple[float, str]]]:
    """Run a docker command, its output lines with their arrival times."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        env=docker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = [(time.perf_counter(), line) for line in process.stdout or ()]
    if process.wait() != 0:
        raise SystemExit(
            f"bench: {' '.join(command)} exited {process.returncode}\n"
            + "".join(line for _, line in lines)[-3000:]
        )
    return started, lines


def docker_build_steps(
    started: float, lines: Sequence[tuple[float, str]], ended: float
) -> dict[str, float]:
    """The legacy builder's `Step N/M : INSTRUCTION` lines: the pip step, and the rest."""
    marks = [(t, line.split(" : ", 1)[1].strip()) for t, line in lines if line.startswith("Step ")]
    ends = [t for t, _ in marks[1:]] + [ended]
    pip = sum(end - t for (t, text), end in zip(marks, ends) if text.startswith("RUN pip"))
    return {"docker build: RUN pip install": pip, "docker build: the rest": ended - started - pip}


def pip_layer_size(image: str) -> int:
    """The uncompressed size of the image's `RUN pip install` layer, from `docker history`."""
    history = run_command(
        [
            require_executable("docker"),
            "history",
            "--no-trunc",
            "--human=false",
            "--format",
            "{{.Size}}\t{{.CreatedBy}}",
            image,
        ]
    ).stdout
    for line in history.splitlines():
        size, _, created_by = line.partition("\t")
        if "pip install --no-cache-dir -r /tmp/requirements.txt" in created_by:
            return int(size)
    return 0


def installed_size_in_kernel(pins: Sequence[str]) -> int:
    """The files of the same distributions as installed in the kernel's environment (its
    RECORD files, sizes on disk: pip's pycs included)."""
    from iota_container.environment.kernel_python import kernel_python

    python = kernel_python(KERNEL).argv  # the interpreter `requirements` reads, as it finds it
    names = [pin.split("==")[0] for pin in pins]
    script = (
        "import importlib.metadata as m, json, os, sys\n"
        "total = 0\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    for f in m.distribution(name).files or ():\n"
        "        path = f.locate()\n"
        "        total += os.path.getsize(path) if os.path.isfile(path) else 0\n"
        "print(total)\n"
    )
    return int(run_command([*python, "-c", script, json.dumps(names)]).stdout)


def imports_in_image(image: str) -> str:
    """pandas, matplotlib and helpers import in the image, in its analysis folder."""
    code = "import pandas, matplotlib, helpers; print(pandas.__version__, matplotlib.__version__)"
    completed = subprocess.run(
        [
            require_executable("docker"),
            "run",
            "--rm",
            "--entrypoint",
            "python",
            "-w",
            ANALYSIS_DIR,
            image,
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
    )
    return completed.stdout.strip() if completed.returncode == 0 else ""


def package_layer_has(registry_url: str, repository: str, name: str) -> bool:
    raw = registry_get(f"{registry_url}/v2/{repository}/manifests/latest", MANIFEST_TYPES)
    digest = json.loads(raw)["layers"][-2]["digest"]
    blob = registry_get(f"{registry_url}/v2/{repository}/blobs/{digest}")
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as archive:
        return any(member.name.endswith(f"site-packages/{name}/__init__.py") for member in archive)


def layer_sizes(
    pins: Sequence[str], first: Mapping[str, Samples], kernel_installed: int
) -> dict[str, Any]:
    """The package layer of the first builds against the same distributions installed."""
    iota, docker = first[IOTA].extras, first[DOCKER].extras
    return {
        "distributions": list(pins),
        "installed_in_kernel_env": kernel_installed,
        "iota_dependency_layer": statistics.median(
            e["result"]["dependency_layer_size"] for e in iota
        ),
        "iota_installed": statistics.median(e["result"]["dependency_installed_size"] for e in iota),
        "iota_layer_digests": sorted({e["push"].package_layer_digest for e in iota}),
        "docker_layer_digests": sorted({e["push"].package_layer_digest for e in docker}),
        "docker_pip_layer": statistics.median(e["push"].package_layer_size for e in docker),
        "docker_pip_layer_uncompressed": statistics.median(
            e["pip_layer_uncompressed"] for e in docker
        ),
    }


def sizes_text(sizes: Mapping[str, Any]) -> str:
    def mb(value: float) -> str:
        return f"{value / 1e6:.1f} MB"

    rows = [
        [
            "iota dependency layer (--json)",
            mb(sizes["iota_dependency_layer"]),
            mb(sizes["iota_installed"]),
            f"{sizes['iota_dependency_layer'] / sizes['iota_installed']:.2f}",
        ],
        [
            "docker pip layer (manifest; docker history)",
            mb(sizes["docker_pip_layer"]),
            mb(sizes["docker_pip_layer_uncompressed"]),
            f"{sizes['docker_pip_layer'] / max(1, sizes['docker_pip_layer_uncompressed']):.2f}",
        ],
        [
            "the same distributions in the kernel's env",
            "",
            mb(sizes["installed_in_kernel_env"]),
            "",
        ],
    ]
    table = format_table(["package layer (first build)", "compressed", "installed", "ratio"], rows)
    names = sizes["distributions"]
    return f"{table}\n({len(names)} distributions: {' '.join(names)})"
