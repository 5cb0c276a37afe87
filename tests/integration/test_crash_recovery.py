"""A worker killed with SIGKILL at any moment leaves a state the next delivery completes.

The worker is a real subprocess running function_app's queue function; after the kill the
queue message reappears (as it does when a Functions instance dies), its blob lease expires,
and an ordinary worker finishes the job byte-identical to the source. The emulator's byte
counter proves the retry asked only for what had not been staged before the kill.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.dev.emulator.client import EmulatorAdmin
from archiver.runtime import Runtime
from tests.integration.helpers import deliver, names, read, seed, work

MIB = 1024 * 1024
WORKER = Path(__file__).with_name("crashing_worker.py")


def run_crashing_worker(env: dict[str, str], point: str, amount: int) -> None:
    result = subprocess.run(
        [sys.executable, str(WORKER), point, str(amount)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr


def media_served(admin: EmulatorAdmin, document_id: str) -> int:
    return sum(r["bytesSent"] for r in admin.stats()["requests"]
               if document_id in r["path"] and r["path"].endswith(("/content/video", "/content/audio")))  # fmt: skip


@pytest.mark.parametrize(
    ("point", "amount", "resumes_from_at_least"),
    [
        ("mid_download", 5 * MIB, 1 * MIB),  # blocks staged before the kill are kept
        ("after_staging", 20, 20 * MIB),  # at least the 20 blocks staged before the kill
        ("before_manifest", 0, 24 * MIB),  # everything committed: nothing to download again
    ],
)
def test_killed_worker_is_completed_by_the_next_delivery(
    runtime: Runtime,
    admin: EmulatorAdmin,
    archiver_env: dict[str, str],
    point: str,
    amount: int,
    resumes_from_at_least: int,
) -> None:
    document, payload = seed(
        admin, size_bytes=24 * MIB, format="mp4", content_type="audioVideo", channel_type="mixed"
    )
    deliver(payload)
    run_crashing_worker(archiver_env, point, amount)
    assert not [n for n in names(runtime.store.archive) if n.endswith("manifest.json")]  # not committed

    admin.reset_stats()
    report = work(runtime, timeout=120)  # the message reappears; the dead worker's lease expires
    assert report.raised == 0, report.errors
    [media] = [n for n in names(runtime.store.archive) if n.endswith(".mp4")]
    stored = runtime.store.archive.download_blob(media).readall()
    assert hashlib.sha256(stored).hexdigest() == document["sha256"]
    manifests = [n for n in names(runtime.store.archive) if n.endswith("manifest.json")]
    assert len(manifests) == 2  # the chunk's and the recording's
    [chunk_manifest] = [read(runtime.store.archive, n) for n in manifests if n.endswith(".manifest.json")]
    resumed_from = chunk_manifest["transfer"]["resumedFromByte"]
    assert resumed_from >= resumes_from_at_least
    # The emulator served exactly the bytes that were not already staged: no start over.
    served = media_served(admin, document["documentId"])
    print(
        f"\nRESUME {point}: resumed at byte {resumed_from:,} of {document['size']:,}; served {served:,} more"
    )
    assert served == document["size"] - resumed_from
