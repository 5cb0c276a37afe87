"""Every staged block is checked by the storage service on arrival, against a CRC64 we send.

The copy computes each block's CRC64 as the bytes arrive and sends it with the block
(``x-ms-content-crc64``). These tests show that the checksum really travels and is checked: a
block whose bytes changed after its checksum was taken is refused and nothing is staged, and
the refusal is a transient error (the worker re-queues the job, it does not poison it).
"""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.extensions.checksums import crc64

from archiver.blob_copy import BlobLease, _Block, _Hasher, _Stager
from archiver.errors import StorageUnavailable
from archiver.runtime import Runtime
from archiver.store import storage_failure


def _filled(data: bytes, piece_sizes: list[int]) -> _Block:
    block = _Block(len(data))
    offset, sizes = 0, iter(piece_sizes)
    while offset < len(data):
        piece = data[offset : offset + next(sizes, len(data))]
        assert block.fill(piece) == b""
        offset += len(piece)
    return block


def test_a_block_built_from_uneven_pieces_has_the_crc64_of_its_bytes() -> None:
    data = os.urandom(300_001)
    block = _filled(data, [1, 16_384, 7, 65_536, 3, 100_000])
    assert block.full and bytes(block.data) == data
    assert block.crc64 == crc64.compute(data, 0)


def test_a_piece_larger_than_the_room_left_is_split_at_the_block_boundary() -> None:
    block = _Block(10)
    assert block.fill(b"abcdef") == b""
    assert block.fill(b"ghijklmn") == b"klmn"
    assert block.full and bytes(block.data) == b"abcdefghij"
    assert block.crc64 == crc64.compute(b"abcdefghij", 0)


def test_both_digests_cover_every_block_in_order() -> None:
    blocks = [os.urandom(size) for size in (1 << 20, 3, 1 << 19, 12_345)]
    hasher = _Hasher(backlog=1)
    for data in blocks:
        hasher.add(data)
    sha256, md5 = hasher.finish()
    whole = b"".join(blocks)
    assert sha256 == hashlib.sha256(whole).hexdigest()
    assert md5 == base64.b64encode(hashlib.md5(whole).digest()).decode()


@pytest.mark.mutable_archive
def test_a_block_damaged_after_its_checksum_is_refused_and_nothing_is_staged(runtime: Runtime) -> None:
    runtime.store.ensure_containers()
    staging = runtime.store.staging_blob("integrity/damaged")
    good = _filled(os.urandom(256 * 1024), [65_536] * 4)
    damaged = _filled(os.urandom(256 * 1024), [65_536] * 4)
    damaged.data[1000] ^= 0x01  # one bit flipped between the checksum and the wire

    with BlobLease(staging, 30) as lease:
        stager = _Stager(staging, lease, concurrency=2)
        try:
            stager.submit(0, good.data, good.crc64)
            stager.drain()
            stager.submit(1, damaged.data, damaged.crc64)
            with pytest.raises(HttpResponseError) as refused:
                stager.drain()
        finally:
            stager.close()
        _, uncommitted = staging.get_block_list("uncommitted", lease=lease.client)

    assert refused.value.error_code == "Crc64Mismatch"
    assert [block.size for block in uncommitted] == [256 * 1024]  # only the good block
    translated = storage_failure(refused.value)
    assert isinstance(translated, StorageUnavailable)
    assert translated.reason == "storage_checksum_mismatch"
