"""A 256 MiB document streams from disk at a useful speed (reported, not asserted)."""

from __future__ import annotations

import hashlib
import time

import pytest

from archiver.dev.emulator.client import EmulatorAdmin

SIZE = 256 << 20


@pytest.mark.slow
def test_large_document_download_speed(admin: EmulatorAdmin) -> None:
    began = time.monotonic()
    seeded = admin.seed_document(format="mp4", size_bytes=SIZE)
    seeded_in = time.monotonic() - began
    assert seeded["size"] == SIZE
    try:
        digest = hashlib.sha256()
        received = 0
        began = time.monotonic()
        url = seeded["contentLocation"]
        with admin.http.stream("GET", url, headers=admin.signed_headers("GET", url)) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(SIZE)
            for piece in response.iter_raw(1 << 20):
                digest.update(piece)
                received += len(piece)
        elapsed = time.monotonic() - began
        assert received == SIZE
        assert digest.hexdigest() == seeded["sha256"]
        print(f"\nseeded 256 MiB in {seeded_in:.2f} s; downloaded at {SIZE / (1 << 20) / elapsed:.0f} MiB/s")
        assert admin.stats()["bytesServed"][seeded["documentId"]] >= SIZE
    finally:
        admin.forget_document(seeded["documentId"])
