"""A connection of the datastore modules' own to the engine's state database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

from iota_container.engine.home import Home
from iota_container.engine.store_schema import connect, rollback


class StateConnection:
    """Its own connection (migrated on open), closed on exit; writes in transactions."""

    def __init__(self, home: Home) -> None:
        home.create()
        self.home = home
        self._connection = connect(home.database)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE: the write lock up front, as the engine's own store takes it.
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield self._connection
            self._connection.execute("COMMIT")
        except BaseException:
            rollback(self._connection)
            raise
