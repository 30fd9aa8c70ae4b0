"""The ``/metrics`` payload, and the gunicorn hooks multiprocess mode needs.

In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set in the server's environment before it starts) each
worker writes its values to files in that directory and a scrape of any worker aggregates them all. Put
this in ``gunicorn.conf.py``::

    from slokit.middleware import child_exit, on_starting  # noqa: F401  (gunicorn reads them by name)

``on_starting`` empties the directory when the server starts (stale files of an earlier run would be
counted again); ``child_exit`` drops the live gauges of a dead worker. Counter and histogram files of dead
workers stay: their counts must not go backwards.
"""

from __future__ import annotations

import glob
import os
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import REGISTRY

from slokit.middleware._instruments import multiprocess_dir


def render(registry: CollectorRegistry | None, accept: str = "") -> tuple[bytes, str]:
    """The exposition body and its content type, negotiated from an ``Accept`` header."""
    if registry is None:
        if multiprocess_dir() is not None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            registry = REGISTRY
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


def on_starting(server: Any) -> None:
    """gunicorn hook: start with an empty multiprocess directory."""
    directory = multiprocess_dir()
    if directory is None:
        return
    for path in glob.glob(os.path.join(directory, "*.db")):
        os.remove(path)


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn hook: forget the live gauges (in-flight requests) of a worker that exited."""
    if multiprocess_dir() is not None:
        mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
