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
from collections.abc import Iterator
from itertools import cycle

import pytest
from azure.core.exceptions import HttpResponseError

from archiver import blob_copy
from archiver.blob_copy import BlobLease, _Block, _Stager, _stream_blocks
from archiver.digests import Digests
from archiver.errors import StorageUnavailable
from archiver.runtime import Runtime
from archiver.store import storage_failure


def _filled(data: bytes, piece_sizes: list[int]) -> _Block:
    block = _Block(bytearray(len(data)))
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
    block = _Block(bytearray(10))
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
        stager = _Stager(staging, lease, concurrency=2, block_size=len(good))
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


class _Pieces:
    """A source that sends ``data`` in uneven pieces (``blob_copy.SourceStream``)."""

    requests = 1

    def __init__(self, data: bytes, *, announce: bool) -> None:
        self._data = data
        self.total = len(data) if announce else None

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[bytes]:
        offset, sizes = 0, cycle([1, 70_001, 13, 40_000])
        while offset < len(self._data):
            piece = self._data[offset : offset + next(sizes)]
            offset += len(piece)
            yield piece


@pytest.mark.mutable_archive
@pytest.mark.parametrize("announce", [True, False], ids=["size announced", "size unknown"])
def test_reused_block_buffers_carry_exactly_the_source_bytes(runtime: Runtime, announce: bool) -> None:
    runtime.store.ensure_containers()
    staging = runtime.store.staging_blob(f"integrity/reused-{announce}")
    block_size, concurrency = 64 * 1024, 2
    data = os.urandom(10 * block_size + 12_345)  # ten full blocks and a short one
    buffers: set[int] = set()

    with BlobLease(staging, 30) as lease:
        stager = _Stager(staging, lease, concurrency=concurrency, block_size=block_size)
        submit = stager.submit

        def recording_submit(index: int, block: bytearray) -> None:
            buffers.add(id(block))
            submit(index, block)

        stager.submit = recording_submit  # type: ignore[method-assign]
        digests, ids = Digests(), []
        try:
            size = _stream_blocks(
                _Pieces(data, announce=announce), block_size, 0, digests=digests, stager=stager, ids=ids
            )
            stager.drain()
        finally:
            stager.close()
        staging.commit_block_list(ids, lease=lease.client)

    assert size == len(data)
    assert staging.download_blob(lease=lease.client).readall() == data
    assert digests.sha256 == hashlib.sha256(data).hexdigest()
    assert len(buffers) <= concurrency + 2  # the full-size ones reused, plus the short last one
