"""The archive account: clients, containers, and the small JSON records we keep there.

Idempotency comes from storage conditions, not from looking first: records that must be
written once use ``overwrite=False`` (If-None-Match: *) and treat ``ResourceExistsError`` as
"already done", so duplicate or concurrent deliveries cannot produce two of anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient, ContentSettings

from archiver.settings import FAILURES_CONTAINER, INDEX_CONTAINER, REJECTED_CONTAINER, Settings

JSON = ContentSettings(content_type="application/json")
_POOL = 32  # HTTP connections per host: enough for COPY_CONCURRENCY x a few parallel jobs


def make_blob_service(settings: Settings) -> BlobServiceClient:
    """Archive storage from a connection string (local) or the managed identity (Azure)."""
    settings.require_archive_storage()
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=_POOL)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    transport = RequestsTransport(session=session, session_owner=True)
    options: dict[str, Any] = {"transport": transport, "max_single_put_size": 8 * 1024 * 1024}
    if settings.archive_storage_connection_string:
        return BlobServiceClient.from_connection_string(settings.archive_storage_connection_string, **options)
    from azure.identity import DefaultAzureCredential

    assert settings.archive_storage_account_url is not None
    return BlobServiceClient(
        settings.archive_storage_account_url, credential=DefaultAzureCredential(), **options
    )


def to_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True, default=str).encode("utf-8") + b"\n"


def now_utc() -> datetime:
    return datetime.now(UTC)


class ArchiveStore:
    """The containers the archiver writes to, and the records it keeps in them."""

    def __init__(self, service: BlobServiceClient, settings: Settings) -> None:
        self.service = service
        self.archive: ContainerClient = service.get_container_client(settings.archive_container)
        self.index: ContainerClient = service.get_container_client(INDEX_CONTAINER)
        self.rejected: ContainerClient = service.get_container_client(REJECTED_CONTAINER)
        self.failures: ContainerClient = service.get_container_client(FAILURES_CONTAINER)
        self._ensured = False

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveStore:
        return cls(make_blob_service(settings), settings)

    def close(self) -> None:
        self.service.close()

    def ensure_containers(self) -> None:
        """Create missing containers once per process (infra creates them in Azure already)."""
        if self._ensured:
            return
        for container in (self.archive, self.index, self.rejected, self.failures):
            with suppress(ResourceExistsError):
                container.create_container()
        self._ensured = True

    # Write-once records --------------------------------------------------------------------

    def create_once(
        self, container: ContainerClient, name: str, body: bytes, settings: ContentSettings = JSON
    ) -> bool:
        """Write ``body`` unless the blob exists; True if this call created it."""
        try:
            container.upload_blob(name, body, overwrite=False, content_settings=settings)
        except ResourceExistsError:
            return False
        return True

    def read_json(self, container: ContainerClient, name: str) -> dict[str, Any] | None:
        try:
            data = container.download_blob(name).readall()
        except ResourceNotFoundError:
            return None
        loaded = json.loads(data)
        return loaded if isinstance(loaded, dict) else None

    def exists(self, container: ContainerClient, name: str) -> bool:
        return bool(container.get_blob_client(name).exists())

    def names(self, container: ContainerClient, prefix: str) -> Iterator[str]:
        for blob in container.list_blobs(name_starts_with=prefix):
            yield blob.name

    # Rejections and failures ---------------------------------------------------------------

    def keep_rejected(self, raw: bytes, *, reason: str, message: str, event_id: str | None = None) -> str:
        """Keep an event we will not archive, with why; the same payload is kept only once."""
        received = now_utc()
        digest = hashlib.sha256(raw).hexdigest()
        name = f"{received:%Y/%m/%d}/{reason}/{digest[:32]}.json"
        record = {
            "reason": reason,
            "message": message,
            "eventId": event_id,
            "receivedAt": received.isoformat(),
            "payloadSha256": digest,
            "payload": raw.decode("utf-8", errors="replace"),
        }
        self.create_once(self.rejected, name, to_json(record))
        return name

    def keep_failure(self, name: str, record: dict[str, Any]) -> None:
        """Record (or update) why a job could not be archived; overwritten with the latest reason."""
        self.failures.upload_blob(name, to_json(record), overwrite=True, content_settings=JSON)
