"""Soak: 50 recordings, every event delivered 3 times (partly at once), 20% of source requests
failing transiently, two workers killed mid-copy. Everything must be archived exactly once.

Prints the figures for the issue note: recordings archived, bytes verified against the
source, duplicates, losses.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from archiver.dev.emulator.client import EmulatorAdmin
from archiver.runtime import Runtime
from tests.doubles.immutable_blob_proxy import ImmutableBlobProxy, WriteRecord
from tests.integration.helpers import (
    PEOPLE,
    deliver,
    failures,
    names,
    rejections,
    seed,
    work_in_parallel,
)
from tests.integration.test_crash_recovery import run_crashing_worker

RECORDINGS = 50
KIB = 1024
TRANSIENT_FAULTS = [
    {"kind": "status", "status": 503, "retryAfter": 1},
    {"kind": "status", "status": 500},
    {"kind": "status", "status": 429, "retryAfter": 1},
    {"kind": "reset", "afterBytes": 64 * KIB},
    {"kind": "empty"},
    {"kind": "html", "status": 200},
]


STAGING_OPERATIONS = {"PutBlock", "PutBlockFromURL"}  # uncommitted blocks: allowed under WORM


def blob_writes(worm: ImmutableBlobProxy) -> list[WriteRecord]:
    """Requests that would create or change a blob in the (immutable) archive container."""
    return [w for w in worm.writes("recordings") if w.blob and w.operation not in STAGING_OPERATIONS]


def test_soak(
    runtime: Runtime, admin: EmulatorAdmin, archiver_env: dict[str, str], worm: ImmutableBlobProxy
) -> None:
    started = time.monotonic()
    rng = random.Random(20261124)
    documents: list[dict[str, Any]] = []
    payloads: list[bytes] = []
    for i in range(RECORDINGS):
        size = 6 * 1024 * KIB if i < 2 else rng.randrange(200 * KIB, 2048 * KIB)
        fmt = rng.choice(
            [("wav", "audio", "unmixed"), ("mp4", "audioVideo", "mixed"), ("mp3", "audio", "mixed")]
        )
        document, payload = seed(
            admin, size_bytes=size, format=fmt[0], content_type=fmt[1], channel_type=fmt[2]
        )
        documents.append(document)
        payloads.append(payload)
    # 30 of the 100 first requests (metadata + media per recording) fail transiently; with the
    # retries and duplicate deliveries that is about 20% of all the requests the source sees.
    slots = [(d["documentId"], target) for d in documents for target in ("metadata", "content")]
    injected = 30
    for document_id, target in rng.sample(slots, injected):
        admin.inject(document_id, target, rng.choice(TRANSIENT_FAULTS))
    admin.reset_stats()

    deliveries = [p for p in payloads for _ in range(3)]
    rng.shuffle(deliveries)
    with ThreadPoolExecutor(max_workers=6) as pool:  # many deliveries arrive at once
        list(pool.map(deliver, deliveries))
    assert runtime.queue.jobs.get_queue_properties().approximate_message_count == 3 * RECORDINGS

    # Two workers die mid-copy (SIGKILL once they have 1 MiB of some recording).
    for _ in range(2):
        run_crashing_worker(archiver_env, "mid_download", 1024 * KIB)

    work_in_parallel(runtime, 3, timeout=150)

    archive = runtime.store.archive
    all_names = names(archive)
    media = [n for n in all_names if n.endswith((".wav", ".mp4", ".mp3"))]
    manifests = [
        json.loads(archive.download_blob(n).readall()) for n in all_names if n.endswith(".manifest.json")
    ]
    by_document = Counter(m["documentId"] for m in manifests)
    verified_bytes = 0
    for manifest in manifests:
        source = next(d for d in documents if d["documentId"] == manifest["documentId"])
        stored = archive.download_blob(manifest["media"]["blob"]).readall()
        assert hashlib.sha256(stored).hexdigest() == source["sha256"] == manifest["media"]["sha256"]
        verified_bytes += len(stored)
    index = names(runtime.store.index)
    archived = len(by_document)
    duplicates = (
        (len(media) - archived) + sum(c - 1 for c in by_document.values()) + (len(index) - len(set(index)))
    )
    losses = RECORDINGS - archived + len(failures(runtime))
    served = admin.stats()
    attempts = blob_writes(worm)
    writes = Counter(w.blob for w in attempts if w.status < 300)
    conditional_losses = Counter(
        f"{w.operation} {w.status} {w.error_code}" for w in attempts if w.status >= 300
    )
    figures = {
        "recordings": RECORDINGS,
        "deliveries": len(deliveries),
        "faults injected": injected,
        "source requests": served["requestCount"],
        "failed share of source requests": round(injected / served["requestCount"], 3),
        "workers killed": 2,
        "recordings archived": archived,
        "bytes verified against the source": verified_bytes,
        "duplicates": duplicates,
        "losses": losses,
        "writes per archived object (min, max)": [min(writes.values()), max(writes.values())],
        "writes refused by the WORM policy": len(worm.refusals("recordings")),
        "create-once attempts that lost a race": dict(conditional_losses),
        "seconds": round(time.monotonic() - started, 1),
    }
    print("\nSOAK " + json.dumps(figures))
    assert archived == RECORDINGS and duplicates == 0 and losses == 0
    # Write once: every archived object (media, metadata, both manifests) created by exactly one
    # successful write, none refused, although 150 deliveries and 2 killed workers raced for them.
    assert set(writes) == set(all_names) and set(writes.values()) == {1}
    assert worm.refusals("recordings") == []
    # Racing deliveries only ever lose at the create-once condition, never overwrite.
    assert {key.split()[-1] for key in conditional_losses} <= {"BlobAlreadyExists"}
    assert verified_bytes == sum(d["size"] for d in documents)
    assert len(index) == RECORDINGS * len(PEOPLE)
    assert len([n for n in all_names if n.endswith("/manifest.json")]) == RECORDINGS
    assert not rejections(runtime)
    assert admin.pending_faults() == []
    assert figures["failed share of source requests"] >= 0.18
