"""An archive worker's memory does not grow with the recording: 256 MiB through a few blocks.

Measured in this process, around one queue message handled by the worker, two ways:
- tracemalloc: the peak of Python allocations (every block buffer, every socket read);
- RSS: the kernel's high-water mark, reset just before (``/proc/self/clear_refs``), or a
  sampling thread where that is not available.
Both must stay under a bound computed from the copy settings (blocks in flight), which is
far below the file size: a copy that buffered the file, or leaked one block per block,
could not pass. No timing is asserted.
"""

from __future__ import annotations

import gc
import json
import threading
import tracemalloc
from pathlib import Path
from types import TracebackType

import psutil
import pytest

from archiver.blob_copy import chunk_memory_bound
from archiver.dev.emulator.client import EmulatorProcess
from archiver.ingress import ingest
from archiver.jobs import RecordingJob
from archiver.runtime import get_runtime
from archiver.worker import process_message

MIB = 1024 * 1024
SIZE = 256 * MIB
CLEAR_REFS = Path("/proc/self/clear_refs")


def _hwm_bytes() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class PeakRss:
    """Peak RSS growth of this process over the ``with`` block."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._sampled = 0
        self._thread: threading.Thread | None = None
        self._kernel = False
        self.before = 0
        self.peak = 0

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self._sampled = max(self._sampled, self._process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self.before = self._process.memory_info().rss
        self._sampled = self.before
        try:
            CLEAR_REFS.write_text("5", encoding="ascii")  # reset VmHWM to the current RSS
            self._kernel = _hwm_bytes() is not None
        except OSError:
            self._kernel = False
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        kernel = _hwm_bytes() if self._kernel else None
        self.peak = max(self._sampled, kernel or 0)

    @property
    def growth(self) -> int:
        return self.peak - self.before


def archive(emulator: EmulatorProcess, size: int) -> tuple[RecordingJob, str]:
    runtime = get_runtime()
    with emulator.admin() as admin:
        document = admin.seed_document(
            format="mp4", content_type="audioVideo", channel_type="mixed", size_bytes=size
        )
    jobs: list[RecordingJob] = []
    ingest(json.dumps(document["event"]).encode(), runtime.settings, runtime.store, jobs.append)
    [job] = jobs
    return job, document["sha256"]


@pytest.mark.slow
@pytest.mark.usefixtures("worker_env")
def test_worker_memory_stays_flat_for_a_256_mib_recording(emulator: EmulatorProcess) -> None:
    runtime = get_runtime()
    settings = runtime.settings
    block = settings.copy_block_mib * MIB
    # Blocks that can be alive at once (one filling, `concurrency` staging), plus slack for HTTP
    # buffers and the SDKs. Independent of the file size.
    bound = chunk_memory_bound(block, settings.copy_concurrency) + 24 * MIB
    assert bound < SIZE / 2, "the bound must be far below the file size to prove anything"

    warm, _ = archive(emulator, 2 * block)  # pools, threads and lazy imports exist before measuring
    assert (
        process_message(warm.to_message(), settings, runtime.store, runtime.queue, runtime.archiver).status
        == "archived"
    )

    job, sha256 = archive(emulator, SIZE)
    gc.collect()
    tracemalloc.start()
    try:
        with PeakRss() as rss:
            outcome = process_message(
                job.to_message(), settings, runtime.store, runtime.queue, runtime.archiver
            )
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert outcome.status == "archived", outcome.reason
    assert outcome.result is not None
    assert outcome.result.manifest.media.sha256 == sha256
    assert outcome.result.manifest.media.size == SIZE
    report = f"python peak {python_peak / MIB:.0f} MiB, RSS growth {rss.growth / MIB:.0f} MiB, bound {bound / MIB:.0f} MiB"
    print(report)
    assert python_peak <= bound, report
    assert rss.growth <= bound, report
