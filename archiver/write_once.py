"""Create an archived media blob exactly once, complete, from its verified staging copy.

Immutable (WORM) storage allows a blob to be created once. Everything before that (the
download, its checkpoints, the crash-resumable blocks) lives in a staging blob outside the
archive container; once the staging copy is whole, hashed and committed with its Content-MD5,
the storage service copies it into the archive container itself (Copy Blob within the same
account, conditional on the destination not existing: one write, no byte crosses the worker
again, and the copy carries the Content-MD5 and content type). The archive blob is then
checked against the verified copy before any manifest names it.

If the archive blob is already there (a previous attempt published it and died before its
manifest, or a concurrent worker), it is accepted only if it is byte-for-byte what we hold
(size and Content-MD5); anything else is a conflict for a person, never an overwrite.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobProperties

from archiver.digests import Digests
from archiver.errors import PermanentError, TransientError

COPY_TIMEOUT = 600.0  # seconds a pending server-side copy is waited for before a retry


SourceAccess = Callable[[BlobClient], str]  # the URL the service copies the staging blob from


@dataclass(frozen=True)
class Verified:
    size: int
    sha256: str
    md5: str  # base64


def publish(
    final: BlobClient,
    staging: BlobClient,
    verified: Verified,
    *,
    access: SourceAccess,
    timeout: float = COPY_TIMEOUT,
) -> None:
    """Copy ``staging`` into ``final`` server-side, once; verify what storage then holds."""
    source_url = access(staging)
    try:
        final.start_copy_from_url(
            source_url,
            metadata={"sha256": verified.sha256},
            if_none_match="*",  # create only: the SDK's etag/IfMissing pair leaks etag here
        )
    except ResourceExistsError:
        stored = final.get_blob_properties()  # published before: checked exactly like our own copy
    else:
        stored = _wait_for_copy(final, timeout)
    _check(final.blob_name, stored, verified.size, verified.md5)


def _wait_for_copy(final: BlobClient, timeout: float) -> BlobProperties:
    """Same-account copies usually finish at once; a pending one is waited for, never trusted.

    Returns the finished blob's properties, which the caller checks: no second request.
    """
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        props = final.get_blob_properties()
        if props.copy.status in (None, "success"):
            return props
        if props.copy.status != "pending":
            raise TransientError(f"the server-side copy ended {props.copy.status}", reason="copy_failed")
        if time.monotonic() > deadline:
            raise TransientError("the server-side copy is still pending", reason="copy_pending")
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def verify(blob: BlobClient, size: int, md5: str) -> None:
    """Storage must hold exactly our bytes: size and Content-MD5 (which it checked on commit)."""
    _check(blob.blob_name, blob.get_blob_properties(), size, md5)


def _check(name: str, props: BlobProperties, size: int, md5: str) -> None:
    stored = props.content_settings.content_md5
    stored_b64 = base64.b64encode(bytes(stored)).decode() if stored else None
    if props.size != size or stored_b64 != md5:
        raise PermanentError(
            f"archive blob {name!r} exists with other content than the verified copy "
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
    digests = Digests()
    digests.add_stored(final)
    verified = Verified(props.size, digests.sha256, digests.md5)
    _check(final.blob_name, props, verified.size, verified.md5)
    return verified
