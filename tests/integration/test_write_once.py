"""An archived media blob is created once, from its verified staging copy, and never replaced.

Through the WORM double in front of Azurite, as production runs it: the archive container has
a time-based retention policy, so a second write of the same name would be refused anyway;
these tests show that ``publish`` never needs one and tells a redelivery (same bytes: fine)
from a conflict (other bytes: a person's problem, the stored blob untouched).
"""

from __future__ import annotations

import hashlib
import os

import pytest
from azure.storage.blob import BlobClient, ContentSettings

from archiver.digests import Digests
from archiver.errors import PermanentError
from archiver.runtime import Runtime
from archiver.write_once import Verified, already_published, publish


def _staged(runtime: Runtime, name: str, data: bytes) -> tuple[BlobClient, Verified]:
    """A committed staging copy with its Content-MD5, as the copy leaves it."""
    digests = Digests()
    digests.add(data)
    staging = runtime.store.staging_blob(name)
    staging.upload_blob(
        data,
        overwrite=True,
        content_settings=ContentSettings(
            content_type="audio/mpeg", content_md5=bytearray(hashlib.md5(data).digest())
        ),
    )
    return staging, Verified(len(data), digests.sha256, digests.md5)


def _published(runtime: Runtime, name: str, data: bytes) -> tuple[BlobClient, BlobClient, Verified]:
    """``data`` staged and published as ``name``: the archive blob, its staging copy, digests."""
    staging, verified = _staged(runtime, name, data)
    final = runtime.store.media_blob(name)
    publish(final, staging, verified, access=runtime.store.copy_source)
    return final, staging, verified


@pytest.fixture(autouse=True)
def _containers(runtime: Runtime) -> None:
    runtime.store.ensure_containers()


def test_publish_creates_the_archive_blob_with_the_staged_bytes_and_their_digests(runtime: Runtime) -> None:
    data = os.urandom(300_000)

    final, _, verified = _published(runtime, "once/a.mp3", data)

    props = final.get_blob_properties()
    assert final.download_blob().readall() == data
    assert bytes(props.content_settings.content_md5) == hashlib.md5(data).digest()
    assert props.metadata["sha256"] == hashlib.sha256(data).hexdigest()
    assert already_published(final) == verified  # a redelivery re-reads and agrees


def test_publishing_the_same_bytes_again_is_accepted(runtime: Runtime) -> None:
    final, staging, verified = _published(runtime, "once/b.mp3", os.urandom(50_000))
    etag = final.get_blob_properties().etag

    publish(final, staging, verified, access=runtime.store.copy_source)  # a redelivery

    assert final.get_blob_properties().etag == etag  # not written twice


def test_an_archive_blob_holding_other_bytes_is_a_conflict_and_stays_as_it_is(runtime: Runtime) -> None:
    first = os.urandom(40_000)
    final, _, _ = _published(runtime, "once/c.mp3", first)
    staging, other = _staged(runtime, "once/c.mp3", os.urandom(40_000))

    with pytest.raises(PermanentError) as refused:
        publish(final, staging, other, access=runtime.store.copy_source)

    assert refused.value.reason == "archive_conflict"
    assert "never overwritten" in str(refused.value)
    assert final.download_blob().readall() == first
