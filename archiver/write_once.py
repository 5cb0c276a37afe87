"""Create an archived media blob exactly once, complete, from its verified staging copy.

Immutable (WORM) storage allows a blob to be created once: Put Block then ONE Put Block List
that creates it. Everything before that (the download, its checkpoints, the crash-resumable
blocks) lives in a staging blob outside the archive container; once the staging copy is whole
and hashed, the storage service copies it into the archive blob's blocks itself (Put Block From
URL: no byte crosses the worker again) and a single conditional commit (``If-None-Match: *``)
creates the archive blob with its Content-MD5. Until that commit the archive blob does not
exist, so no reader ever sees partial media under a final name.

If the commit finds the blob already there (a previous attempt committed and died before its
manifest, or a concurrent worker), the blob is accepted only if it is byte-for-byte what we
hold (size and Content-MD5); anything else is a conflict for a person, never an overwrite.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobClient, ContentSettings

from archiver.errors import PermanentError

COPY_RANGE = 64 * 1024 * 1024  # per Put Block From URL: well under the service's 4000 MiB


@dataclass(frozen=True)
class CopySource:
    """How the storage service may read the staging blob: a URL and, with Entra ID, a token."""

    url: str
    authorization: str | None = None  # "Bearer ..." for x-ms-copy-source-authorization


SourceAccess = Callable[[BlobClient], CopySource]


@dataclass(frozen=True)
class Verified:
    size: int
    sha256: str
    md5: str  # base64


def final_block_id(index: int) -> str:
    return base64.b64encode(f"arc-{index:08d}".encode()).decode()


def publish(
    final: BlobClient,
    staging: BlobClient,
    verified: Verified,
    *,
    content_type: str,
    access: SourceAccess,
    concurrency: int,
) -> None:
    """Copy ``staging`` into ``final`` server-side and commit it once; verify what storage holds."""
    source = access(staging)
    ranges = [
        (offset, min(COPY_RANGE, verified.size - offset)) for offset in range(0, verified.size, COPY_RANGE)
    ]

    def stage(item: tuple[int, tuple[int, int]]) -> None:
        index, (offset, length) = item
        final.stage_block_from_url(
            final_block_id(index),
            source.url,
            source_offset=offset,
            source_length=length,
            source_authorization=source.authorization,
        )

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(ranges)))) as pool:
        list(pool.map(stage, enumerate(ranges)))
    md5 = bytearray(base64.b64decode(verified.md5))
    with suppress(ResourceExistsError):  # already there: checked below exactly like our own commit
        final.commit_block_list(
            [BlobBlock(block_id=final_block_id(i)) for i in range(len(ranges))],
            content_settings=ContentSettings(content_type=content_type, content_md5=md5),
            if_none_match="*",
        )
    verify(final, verified.size, verified.md5)


def verify(blob: BlobClient, size: int, md5: str) -> None:
    """Storage must hold exactly our bytes: size and Content-MD5 (which it checked on commit)."""
    props = blob.get_blob_properties()
    stored = props.content_settings.content_md5
    stored_b64 = base64.b64encode(bytes(stored)).decode() if stored else None
    if props.size != size or stored_b64 != md5:
        raise PermanentError(
            f"archive blob {blob.blob_name!r} exists with other content than the verified copy "
            f"(size {props.size}, Content-MD5 {stored_b64}); it is never overwritten",
            reason="archive_conflict",
        )


def already_published(final: BlobClient) -> Verified | None:
    """A committed archive blob from an earlier attempt: re-read and re-hash it, or None.

    Its Content-MD5 was set by our own single commit; the re-read proves the bytes still match
    it and yields the SHA-256 for the manifest without asking the source again.
    """
    try:
        props = final.get_blob_properties()
    except ResourceNotFoundError:
        return None
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    for piece in final.download_blob().chunks():
        sha256.update(piece)
        md5.update(piece)
    verified = Verified(props.size, sha256.hexdigest(), base64.b64encode(md5.digest()).decode())
    verify(final, verified.size, verified.md5)
    return verified
