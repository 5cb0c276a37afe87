"""The two whole-file digests an archived media blob is known by, computed in one pass.

SHA-256 goes into the chunk manifest (the fixity record); MD5 becomes the blob's Content-MD5,
which Azure tools and ``az storage blob download --validate`` check. Both are fed the same
pieces in order, on the caller's thread: the copy feeds each block right after filling it,
while the bytes are still in cache.

They run inline rather than on threads of their own because that measured faster where it
matters. The copy is bound by storage, not by hashing: these cost ~1.7 ms per MiB, so a single
thread keeps up with ~500 MiB/s, far above what one blob upload reaches. Extra threads only
compete for the CPU the upload needs; a Flex Consumption instance has one vCPU per 2 GB. On
two vCPUs against Azurite, hashing inline cut a cold 512 MiB archive from 7.25 s to 7.04 s
(mean of five runs each, BENCHMARKS.md).
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient


class Digests:
    """SHA-256 and MD5 of everything ``add``-ed, in order."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)  # an integrity check, not security

    def add(self, data: bytes | bytearray | memoryview) -> None:
        self._sha256.update(data)
        self._md5.update(data)

    def add_stored(self, blob: BlobClient, length: int | None = None) -> None:
        """Feed what storage holds in ``blob`` (its first ``length`` bytes, or all), streaming."""
        if length == 0:
            return
        for piece in blob.download_blob(offset=None if length is None else 0, length=length).chunks():
            self.add(piece)

    @property
    def sha256(self) -> str:
        """Hex, as the manifest records it."""
        return self._sha256.hexdigest()

    @property
    def md5(self) -> str:
        """Base64, as Content-MD5 carries it."""
        return base64.b64encode(self._md5.digest()).decode()
