"""Every staged block is checked by the storage service on arrival, against a CRC64 we send.

The copy sends each block with its CRC-64/NVME (``x-ms-content-crc64``). These tests show that
the checksum is the one the service computes (Azurite accepts good blocks), that it really
travels and is checked (a block whose bytes changed after its checksum was taken is refused
and nothing is staged), and that the refusal is a transient error: the worker re-queues the
job, it does not poison it.
"""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from azure.core.exceptions import HttpResponseError

from archiver import blob_copy
from archiver.blob_copy import BlobLease, _Block, _Stager
from archiver.digests import Digests
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


def test_a_block_built_from_uneven_pieces_holds_exactly_their_bytes() -> None:
    data = os.urandom(300_001)
    block = _filled(data, [1, 16_384, 7, 65_536, 3, 100_000])
    assert block.full and bytes(block.data) == data


def test_a_piece_larger_than_the_room_left_is_split_at_the_block_boundary() -> None:
    block = _Block(10)
    assert block.fill(b"abcdef") == b""
    assert block.fill(b"ghijklmn") == b"klmn"
    assert block.full and bytes(block.data) == b"abcdefghij"


def test_both_digests_cover_every_block_in_order() -> None:
    blocks = [os.urandom(size) for size in (1 << 20, 3, 1 << 19, 12_345)]
    digests = Digests()
    for data in blocks:
        digests.add(data)
    sha256, md5 = digests.sha256, digests.md5
    whole = b"".join(blocks)
    assert sha256 == hashlib.sha256(whole).hexdigest()
    assert md5 == base64.b64encode(hashlib.md5(whole).digest()).decode()


@pytest.mark.mutable_archive
def test_a_block_damaged_after_its_checksum_is_refused_and_nothing_is_staged(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.store.ensure_containers()
    staging = runtime.store.staging_blob("integrity/damaged")
    good = bytearray(os.urandom(256 * 1024))
    sent = bytes(os.urandom(256 * 1024))
    damaged = bytearray(sent)
    damaged[1000] ^= 0x01  # one bit flipped between the checksum and the wire
    checksum = blob_copy.crc64nvme
    monkeypatch.setattr(blob_copy, "crc64nvme", lambda data: checksum(sent if data is damaged else data))

    with BlobLease(staging, 30) as lease:
        stager = _Stager(staging, lease, concurrency=2)
        try:
            stager.submit(0, good)
            stager.drain()  # a good block: the CRC64 we send is the one the service computes
            stager.submit(1, damaged)
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
