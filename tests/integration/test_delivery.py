"""At-least-once delivery: the same event three times, in a row or at once, archives once."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter

from archiver.dev.emulator.client import EmulatorAdmin
from archiver.runtime import Runtime
from tests.integration.helpers import deliver, names, seed, work, work_in_parallel


def assert_archived_once(runtime: Runtime, documents: list[dict]) -> None:
    archive = names(runtime.store.archive)
    media = [n for n in archive if n.endswith((".wav", ".mp4", ".mp3"))]
    assert len(media) == len(documents)
    assert len([n for n in archive if n.endswith(".manifest.json")]) == len(documents)
    assert len([n for n in archive if n.endswith("/manifest.json")]) == len(documents)
    shas = {hashlib.sha256(runtime.store.archive.download_blob(n).readall()).hexdigest() for n in media}
    assert shas == {d["sha256"] for d in documents}
    index = names(runtime.store.index)
    assert len(index) == len(set(index)) == 2 * len(documents)  # two participants each


def test_three_deliveries_in_a_row(runtime: Runtime, admin: EmulatorAdmin) -> None:
    document, payload = seed(admin)
    for _ in range(3):
        deliver(payload)
        work(runtime)
    assert_archived_once(runtime, [document])
    served = admin.stats()["bytesServed"][document["documentId"]]
    # The 2nd and 3rd deliveries found the manifest: media and metadata were downloaded once.
    assert served == document["size"] + document["metadataSize"]


def test_three_deliveries_at_once_with_concurrent_workers(runtime: Runtime, admin: EmulatorAdmin) -> None:
    seeded = [seed(admin, size_bytes=6 * 1024 * 1024, format="mp4", content_type="audioVideo", channel_type="mixed")
              for _ in range(3)]  # fmt: skip
    threads = [threading.Thread(target=deliver, args=(payload,)) for _, payload in seeded for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runtime.queue.jobs.get_queue_properties().approximate_message_count == 9
    work_in_parallel(runtime, 3)
    assert_archived_once(runtime, [d for d, _ in seeded])
    index_entries = Counter(n.split("/", 1)[1] for n in names(runtime.store.index))
    assert set(index_entries.values()) == {2}
