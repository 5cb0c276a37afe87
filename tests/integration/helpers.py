"""Small helpers the integration suites share: seed a recording, deliver it, look at storage."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from archiver.dev.emulator.client import EmulatorAdmin
from archiver.dev.host import DrainReport, Invocation, drain_queue, local_host
from archiver.runtime import Runtime

PEOPLE = ["8:acs:aaaaaaaa-0000-4000-8000-000000000001_00000021-0000-0000-0000-000000000001", "4:+14255550199"]


def seed(admin: EmulatorAdmin, **fields: Any) -> tuple[dict[str, Any], bytes]:
    """A fresh document on the emulator and its event (Event Grid schema, current time)."""
    fields.setdefault("format", "wav")
    fields.setdefault("content_type", "audio")
    fields.setdefault("channel_type", "unmixed")
    fields.setdefault("participants", PEOPLE)
    document = admin.seed_document(**fields)
    return document, json.dumps(document["event"]).encode()


def deliver(payload: bytes) -> list[Invocation]:
    """What the host does with one Event Grid delivery; raises what a function raised."""
    invocations = local_host().deliver_event_grid(payload)
    for invocation in invocations:
        if invocation.error is not None:
            raise invocation.error
    return invocations


def work(runtime: Runtime, **options: Any) -> DrainReport:
    """Run ``archive_recording_chunk`` on the job queue until it is empty, as the host would."""
    options.setdefault("timeout", 120)
    return drain_queue(
        runtime.queue, local_host().queue_message_invoker("archive_recording_chunk"), **options
    )


def fire_redrive() -> None:
    """The redrive timer firing once; raises what the function raised."""
    invocation = local_host().fire_timer("redrive_failed_jobs")
    if invocation.error is not None:
        raise invocation.error


def work_in_parallel(runtime: Runtime, workers: int, **options: Any) -> None:
    """Several workers draining the same queue at once, as scaled-out instances do."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(work, runtime, **options) for _ in range(workers)]:
            future.result()


def names(container: Any, prefix: str = "") -> list[str]:
    return sorted(b.name for b in container.list_blobs(name_starts_with=prefix or None))


def read(container: Any, name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(container.download_blob(name).readall())
    return document


def failures(runtime: Runtime) -> list[dict[str, Any]]:
    return [read(runtime.store.failures, n) for n in names(runtime.store.failures)]


def rejections(runtime: Runtime) -> list[dict[str, Any]]:
    return [read(runtime.store.rejected, n) for n in names(runtime.store.rejected)]


def logged_requests(admin: EmulatorAdmin, path_suffix: str, *, wait: float = 5.0) -> list[dict[str, Any]]:
    """The emulator's log entries for ``path_suffix``, once they are there.

    The emulator logs a request after its last byte is sent, so a client that has just read
    the whole body can ask before the entry exists: poll briefly instead of racing it.
    """
    deadline = time.monotonic() + wait
    while True:
        found = [r for r in admin.stats()["requests"] if r["path"].endswith(path_suffix)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
