"""What handlers and actions read of the running extension.

`app.py`'s `IotaContainerExtension` satisfies this protocol; handlers.py and actions.py
name the protocol instead of the class, so that app.py (which imports the handlers to
route them) is imported by neither of them, not even for type checking.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from iota_container.engine.state_store import StateStore
    from jupyter_ext.backends import RegistryRepositories
    from jupyter_ext.jobs import JobManager


class ExtensionSettings(Protocol):
    @property
    def root_dir(self) -> str: ...

    @property
    def base_url(self) -> str: ...

    @property
    def iota_home(self) -> str: ...

    @property
    def output_root(self) -> str: ...

    @property
    def default_backend(self) -> str: ...

    @property
    def run_in_container(self) -> str: ...

    @property
    def job_manager(self) -> JobManager: ...

    @property
    def repositories(self) -> RegistryRepositories: ...

    def open_store(self) -> StateStore: ...
