"""The long-lived clients a Function App worker process reuses across invocations.

Built at first use, never at import: the host imports ``function_app`` to index it before any
setting exists, and connection pools should survive between invocations on a warm instance.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archiver import metrics
from archiver.pipeline import Archiver
from archiver.settings import Settings, load_settings
from archiver.source import SourceClient
from archiver.store import ArchiveStore

if TYPE_CHECKING:
    from archiver.jobqueue import JobQueue


@dataclass
class Runtime:
    settings: Settings
    store: ArchiveStore
    source: SourceClient
    _queue: JobQueue | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        return cls(settings, ArchiveStore.from_settings(settings), SourceClient(settings))

    @property
    def queue(self) -> JobQueue:
        """Built on first use: the CLI archives in-process and needs no queue settings (nor the
        queue SDK's import, ~15 ms of every cold command)."""
        if self._queue is None:
            from archiver import health
            from archiver.jobqueue import JobQueue

            queue = self._queue = JobQueue.from_settings(self.settings)
            metrics.watch_queue(lambda: health.queue_depth(queue))  # the queue-depth gauges
        return self._queue

    @property
    def archiver(self) -> Archiver:
        return Archiver(self.settings, self.store, self.source)

    def close(self) -> None:
        self.source.close()
        if self._queue is not None:
            self._queue.close()
        self.store.close()


# The SDKs log every request at INFO (URLs include blob names); our own lines say what matters.
for _noisy in ("azure.core.pipeline.policies.http_logging_policy", "azure.identity", "httpx", "httpcore"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

_lock = threading.Lock()
_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    global _runtime  # noqa: PLW0603 - one per process, by design
    with _lock:
        if _runtime is None:
            _runtime = Runtime.from_settings(load_settings())
        return _runtime


def reset_runtime() -> None:
    """Forget the clients and cached settings (tests change the environment between cases)."""
    global _runtime  # noqa: PLW0603
    with _lock:
        if _runtime is not None:
            _runtime.close()
        _runtime = None
        load_settings.cache_clear()
