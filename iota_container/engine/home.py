"""The home directory of local dataset runs: what is registered, what ran, what it left.

    ~/.iota-container/                 IOTA_HOME (default)
      state.db                         registered definitions, versions, trigger claims
      state.db.reserve                 space kept for ending a version on a full disk
      locks/NAME.lock                  held while a version of NAME is being created
      datasets/NAME/VERSION/           params, run.log, a SQL dataset's staged content
      outputs/NAME/VERSION/FILE        IOTA_OUTPUT_ROOT (default file://<home>/outputs)

The output root is where a run's outputs go: the executed notebook and its report, each
outputFileUriValue and a SQL dataset's content. It is a `file://` URI or an `s3://`
prefix; a plain path stands for its file URI. Settings resolve as arguments, then the
environment, then the defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from iota_container.errors import IotaError, StorageError
from iota_container.storage.uri import parse_output_uri

HOME_ENV = "IOTA_HOME"
OUTPUT_ROOT_ENV = "IOTA_OUTPUT_ROOT"
DEFAULT_HOME = "~/.iota-container"
DATABASE_NAME = "state.db"
RESERVE_NAME = "state.db.reserve"
PARAMS_NAME = "params"
LOG_NAME = "run.log"


@dataclass(frozen=True)
class Home:
    root: Path
    output_root: str  # a URI without a trailing slash

    @classmethod
    def locate(
        cls, root: str | os.PathLike[str] | None = None, output_root: str | None = None
    ) -> Home:
        """The home `root`, else $IOTA_HOME, else ~/.iota-container; likewise the output
        root: `output_root`, else $IOTA_OUTPUT_ROOT, else file://<home>/outputs."""
        folder = Path(root or os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser().absolute()
        outputs = output_root or os.environ.get(OUTPUT_ROOT_ENV) or (folder / "outputs").as_uri()
        return cls(folder, normalize_output_root(outputs))

    @property
    def database(self) -> Path:
        return self.root / DATABASE_NAME

    @property
    def reserve(self) -> Path:
        return self.root / RESERVE_NAME

    def lock_path(self, dataset: str) -> Path:
        return self.root / "locks" / f"{dataset}.lock"

    def dataset_dir(self, dataset: str) -> Path:
        return self.root / "datasets" / dataset

    def version_dir(self, dataset: str, version_id: str) -> Path:
        return self.dataset_dir(dataset) / version_id

    def output_prefix(self, dataset: str, version_id: str) -> str:
        """The URI every output of one version goes under."""
        return f"{self.output_root}/{dataset}/{version_id}"

    def create(self) -> None:
        """Make the home's folders; the home itself is private to this user."""
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            (self.root / "locks").mkdir(exist_ok=True)
            (self.root / "datasets").mkdir(exist_ok=True)
        except OSError as e:
            raise IotaError(
                f"cannot create the iota-container home {str(self.root)!r} "
                f"({e.strerror or e}): set {HOME_ENV} to a folder this user can write to"
            ) from e


def normalize_output_root(root: str) -> str:
    """`root` as a URI without a trailing slash; a plain path becomes its file:// URI."""
    uri = root if "://" in root else Path(root).expanduser().absolute().as_uri()
    uri = uri.rstrip("/")
    try:
        parse_output_uri(f"{uri}/probe", what=f"output root ({OUTPUT_ROOT_ENV})")
    except StorageError as e:
        raise StorageError(
            f"{e} (the output root {root!r} is a prefix: s3://BUCKET[/PREFIX] or a folder)"
        ) from e
    return uri
