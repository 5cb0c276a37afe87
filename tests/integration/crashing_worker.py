"""A real archive worker process that kills itself (SIGKILL) at a chosen point.

Used by the crash tests: the hooks only decide WHEN to die; everything else is the product's
own code path (function_app's queue function, driven like the host drives it).

    python tests/integration/crashing_worker.py mid_download BYTES
    python tests/integration/crashing_worker.py after_staging BLOCKS
    python tests/integration/crashing_worker.py before_manifest 0
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from archiver.dev.host import drain_queue, local_host
from archiver.runtime import get_runtime


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_mid_download(limit: int) -> None:
    from archiver.source import MediaDownload

    original = MediaDownload.__iter__

    def counting(self: MediaDownload) -> Iterator[bytes]:
        for piece in original(self):
            yield piece
            if self.position >= limit:
                die()

    MediaDownload.__iter__ = counting  # type: ignore[method-assign]


def kill_after_staging(blocks: int) -> None:
    import threading

    from azure.storage.blob import BlobClient

    original = BlobClient.stage_block
    lock = threading.Lock()
    staged = [0]

    def counting(self: BlobClient, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        with lock:
            staged[0] += 1
            if staged[0] >= blocks:
                die()
        return result

    BlobClient.stage_block = counting  # type: ignore[method-assign]


def kill_before_manifest() -> None:
    from archiver.store import ArchiveStore

    def guarded(self: ArchiveStore, name: str, manifest: Any) -> bool:
        die()
        raise AssertionError("unreachable")

    ArchiveStore.create_chunk_manifest = guarded  # type: ignore[method-assign]


def main() -> None:
    point, amount = sys.argv[1], int(sys.argv[2])
    {"mid_download": lambda: kill_mid_download(amount), "after_staging": lambda: kill_after_staging(amount),
     "before_manifest": kill_before_manifest}[point]()  # fmt: skip
    worker = local_host().queue_message_invoker("archive_recording_chunk")
    drain_queue(get_runtime().queue, worker, invisible_while_running=3, timeout=60)
    sys.exit(3)  # reaching this means the kill point was never hit


if __name__ == "__main__":
    main()
