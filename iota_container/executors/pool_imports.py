"""What every pool worker needs loaded before its run: imported ONCE, by the pool's fork
server (multiprocessing's forkserver, which imports this module and then forks each
worker from itself), so a worker starts with the run's imports done and its first HTML
export's caches filled, at the cost of a fork, not of an interpreter and a second of
imports per run.

Importing this module is its whole purpose, so it does its work at import time; nothing
else imports it. No thread outlives the import: a fork copies only the forking thread.
"""

from __future__ import annotations

from iota_container.notebook.execute import import_nbformat, warm_html_exporter

import_nbformat()  # before anything else imports nbformat: without the URI grammar

# s3:// outputs: the store makes its client per run, from these modules.
import boto3  # noqa: E402, F401
import botocore.config  # noqa: E402
import botocore.exceptions  # noqa: E402, F401
import nbclient  # noqa: E402, F401
import s3transfer.manager  # noqa: E402, F401

import iota_container.cli.run_commands  # noqa: E402
import iota_container.executors.pool_worker  # noqa: E402
import iota_container.notebook.inject  # noqa: E402
import iota_container.runtime  # noqa: E402, F401

warm_html_exporter().join()
