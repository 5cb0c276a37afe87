"""The archive account: its containers and the only code that writes or reads our records.

Callers get typed operations (a ``ChunkManifest`` in, a ``ChunkManifest`` out); no other module
touches a container client, so the blob names, content settings and write conditions of every
record live here and nowhere else.

Idempotency comes from storage conditions, not from looking first: records that must be
written once use ``overwrite=False`` (If-None-Match: *) and treat ``ResourceExistsError`` as
"already done", so duplicate or concurrent deliveries cannot produce two of anything.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any, TypeVar

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import (
    BlobClient,
    BlobLeaseClient,
    BlobProperties,
    BlobServiceClient,
    ContainerClient,
    ContentSettings,
)

from archiver.errors import ArchiveBusy, ArchiverError, ConfigurationError, StorageUnavailable
from archiver.records import (
    AuditRecord,
    ChunkManifest,
    DeadLetterReplayRecord,
    FailedJobRecord,
    HoldRecord,
    IndexEntry,
    Record,
    RecordingManifest,
    RejectedEventRecord,
)
from archiver.settings import (
    AUDIT_CONTAINER,
    DEADLETTER_CONTAINER,
    FAILURES_CONTAINER,
    HOLDS_CONTAINER,
    INDEX_CONTAINER,
    REJECTED_CONTAINER,
    STAGING_CONTAINER,
    Settings,
)

JSON = ContentSettings(content_type="application/json")
REPLAYED_PREFIX = "replayed/"  # Event Grid names folders in upper case, so this never collides
_POOL = 32  # HTTP connections per host: enough for COPY_CONCURRENCY x a few parallel jobs
R = TypeVar("R", bound=Record)


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


CHECKSUM_MISMATCH = frozenset({"Crc64Mismatch", "Md5Mismatch"})


def storage_failure(exc: AzureError) -> ArchiverError | None:
    """The one translation of our own storage's errors into what the worker should do.

    An outage (no connection, a reset, 5xx, throttling) or a block the service refused because
    its checksum did not match is transient: the job is re-queued and the next attempt resumes
    from the staged copy. Refused credentials or permissions are a
    configuration error (kept, retried slowly, ``ARCHIVER_CONFIG``). Anything else is a bug or
    a conflict and is left to raise, so the host retries and finally poisons the message.
    """
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return StorageUnavailable(f"archive storage unreachable ({type(exc).__name__})")
    if not isinstance(exc, HttpResponseError) or exc.status_code is None:
        return None
    status, code = exc.status_code, getattr(exc, "error_code", None) or ""
    if code.startswith("Lease"):  # our lease on the staging blob lapsed or was taken over
        return ArchiveBusy(f"lost the lease on the staging copy ({code})", retry_after=15.0)
    if code in CHECKSUM_MISMATCH:  # bytes damaged on the way: the service kept nothing; send them again
        return StorageUnavailable(
            f"archive storage refused a block that arrived damaged ({code})",
            reason="storage_checksum_mismatch",
        )
    if status >= 500 or status in (408, 429):
        return StorageUnavailable(
            f"archive storage answered {status} {code}".rstrip(), reason=f"storage_http_{status}"
        )
    if status in (401, 403) or code.startswith("BlobImmutableDueTo"):
        return ConfigurationError(
            f"archive storage refused a write ({status} {code}): check the app identity's roles on the "
            "archive account and that only the archive container is immutable",
            reason=f"storage_http_{status}",
        )
    return None


def now_utc() -> datetime:
    return datetime.now(UTC)


def md5_settings(body: bytes, content_type: str) -> ContentSettings:
    """Content settings with Content-MD5, so storage verifies the upload and readers can too."""
    digest = hashlib.md5(body, usedforsecurity=False).digest()
    return ContentSettings(content_type=content_type, content_md5=bytearray(digest))


class ArchiveStore:
    """The containers the archiver writes to, and the records it keeps in them."""

    def __init__(self, service: BlobServiceClient, settings: Settings) -> None:
        self.service = service
        self.archive: ContainerClient = service.get_container_client(settings.archive_container)
        self.index: ContainerClient = service.get_container_client(INDEX_CONTAINER)
        self.rejected: ContainerClient = service.get_container_client(REJECTED_CONTAINER)
        self.failures: ContainerClient = service.get_container_client(FAILURES_CONTAINER)
        self.staging: ContainerClient = service.get_container_client(STAGING_CONTAINER)
        self.audit: ContainerClient = service.get_container_client(AUDIT_CONTAINER)
        self.holds: ContainerClient = service.get_container_client(HOLDS_CONTAINER)
        # Event Grid's, in the same account (infra creates it; the app never does).
        self.deadletters: ContainerClient = service.get_container_client(DEADLETTER_CONTAINER)
        self._ensured = False
        # Told the size of every piece of archived media read back (export, deep fixity check), so
        # that a command can show progress; called from any thread, so it must be thread-safe.
        self.on_read: Callable[[int], None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveStore:
        return cls(make_blob_service(settings), settings)

    @property
    def archive_container(self) -> str:
        return str(self.archive.container_name)

    @property
    def index_container(self) -> str:
        return str(self.index.container_name)

    def close(self) -> None:
        self.service.close()

    def ensure_containers(self) -> None:
        """Create missing containers once per process (infra creates them in Azure already)."""
        if self._ensured:
            return
        containers = (
            self.archive,
            self.index,
            self.rejected,
            self.failures,
            self.staging,
            self.audit,
            self.holds,
        )
        for container in containers:
            with suppress(ResourceExistsError):
                container.create_container()
        self._ensured = True

    # Generic, private: one way to write once and to read a record --------------------------

    def _create_once(self, container: ContainerClient, name: str, body: bytes) -> bool:
        """Write ``body`` unless the blob exists; True if this call created it."""
        try:
            container.upload_blob(
                name, body, overwrite=False, content_settings=md5_settings(body, "application/json")
            )
        except ResourceExistsError:
            return False
        return True

    def _read(self, container: ContainerClient, name: str, model: type[R]) -> R | None:
        try:
            data = container.download_blob(name).readall()
        except ResourceNotFoundError:
            return None
        return model.model_validate_json(data)

    @staticmethod
    def _names(container: ContainerClient, prefix: str) -> Iterator[str]:
        for blob in container.list_blobs(name_starts_with=prefix):
            yield blob.name

    # Archived bytes: media and metadata ----------------------------------------------------

    def media_blob(self, name: str) -> BlobClient:
        """The archive blob a copy publishes to, once (``write_once`` owns how)."""
        return self.archive.get_blob_client(name)

    def staging_blob(self, name: str) -> BlobClient:
        """Where the copy of ``name`` is built and checkpointed, outside the archive container."""
        return self.staging.get_blob_client(name)

    def copy_source(self, blob: BlobClient) -> str:
        """The URL the storage service copies ``blob`` from, into the archive (same account).

        With the account key (local development, Azurite): with a read-only SAS valid for an
        hour. With Entra ID: the plain URL; a same-account Copy Blob is authorized by the
        request's own token, whose identity has read on the staging container.
        """
        account_key = getattr(self.service.credential, "account_key", None)
        if account_key:
            from azure.storage.blob import BlobSasPermissions, generate_blob_sas

            sas = generate_blob_sas(
                blob.account_name or "",
                blob.container_name,
                blob.blob_name,
                account_key=account_key,
                permission=BlobSasPermissions(read=True),
                expiry=now_utc() + timedelta(hours=1),
            )
            return f"{blob.url}?{sas}"
        return str(blob.url)

    def put_metadata(self, name: str, raw: bytes) -> bytes:
        """The chunk's metadata exactly as ACS served it, written once with its Content-MD5.

        Returns the bytes the archive holds: ours, or those an earlier attempt archived (ACS
        does not change a chunk's metadata; if it ever did, the first archived copy stands).
        """
        if self._create_once(self.archive, name, raw):
            return raw
        return self.read_archived(name)

    def read_archived(self, name: str) -> bytes:
        return bytes(self.archive.download_blob(name).readall())

    def download_archived(self, name: str, handle: IO[bytes]) -> None:
        if self.on_read is None:
            self.archive.download_blob(name).readinto(handle)
            return
        for piece in self.archive.download_blob(name).chunks():
            handle.write(piece)
            self.on_read(len(piece))

    def archived_names(self, prefix: str) -> list[str]:
        return list(self._names(self.archive, prefix))

    def archived_exists(self, name: str) -> bool:
        return bool(self.archive.get_blob_client(name).exists())

    def delete_archived(self, name: str) -> None:
        with suppress(ResourceNotFoundError):
            self.archive.delete_blob(name, delete_snapshots="include")

    # Manifests -----------------------------------------------------------------------------

    def create_chunk_manifest(self, name: str, manifest: ChunkManifest) -> bool:
        return self._create_once(self.archive, name, manifest.to_json_bytes())

    def chunk_manifest(self, name: str) -> ChunkManifest | None:
        return self._read(self.archive, name, ChunkManifest)

    def chunk_manifests(
        self, folder: str, known: Mapping[str, ChunkManifest] | None = None
    ) -> list[tuple[str, ChunkManifest]]:
        """Every committed chunk of the recording in ``folder``, in chunk order.

        ``known``: manifests the caller already holds as stored (by name), not read again.
        """
        known = known or {}
        names = sorted(
            n for n in self._names(self.archive, f"{folder}/chunk-") if n.endswith(".manifest.json")
        )
        found = [(name, known.get(name) or self.chunk_manifest(name)) for name in names]
        return [(name, manifest) for name, manifest in found if manifest is not None]

    def create_recording_manifest(self, name: str, manifest: RecordingManifest) -> bool:
        return self._create_once(self.archive, name, manifest.to_json_bytes())

    def recording_manifest(self, name: str) -> RecordingManifest | None:
        return self._read(self.archive, name, RecordingManifest)

    # Participant index ---------------------------------------------------------------------

    def create_index_entry(self, name: str, entry: IndexEntry) -> bool:
        return self._create_once(self.index, name, entry.to_json_bytes())

    def index_entries(self, digest: str) -> list[tuple[str, IndexEntry]]:
        """Every entry stored under one participant digest."""
        found = [
            (name, self._read(self.index, name, IndexEntry)) for name in self._names(self.index, f"{digest}/")
        ]
        return [(name, entry) for name, entry in found if entry is not None]

    def index_entry_names(self, digest: str) -> list[str]:
        return list(self._names(self.index, f"{digest}/"))

    def delete_index_entry(self, name: str) -> None:
        with suppress(ResourceNotFoundError):
            self.index.delete_blob(name, delete_snapshots="include")

    # Rejections and failures ---------------------------------------------------------------

    def keep_rejected(self, raw: bytes, *, reason: str, message: str, event_id: str | None = None) -> str:
        """Keep an event we will not archive, with why; the same payload is kept only once."""
        received = now_utc()
        digest = hashlib.sha256(raw).hexdigest()
        name = f"{received:%Y/%m/%d}/{reason}/{digest[:32]}.json"
        record = RejectedEventRecord(
            reason=reason,
            message=message,
            event_id=event_id,
            received_at=received,
            payload_sha256=digest,
            payload=raw.decode("utf-8", errors="replace"),
        )
        self.ensure_containers()
        self._create_once(self.rejected, name, record.to_json_bytes())
        return name

    def rejected_event(self, name: str) -> RejectedEventRecord | None:
        return self._read(self.rejected, name, RejectedEventRecord)

    def keep_failure(self, name: str, record: FailedJobRecord) -> None:
        """Record (or update) why a job could not be archived; overwritten with the latest reason."""
        self.ensure_containers()
        body = record.to_json_bytes()
        self.failures.upload_blob(
            name, body, overwrite=True, content_settings=md5_settings(body, "application/json")
        )

    def failed_job(self, name: str) -> FailedJobRecord | None:
        return self._read(self.failures, name, FailedJobRecord)

    # Protection: legal holds, retention --------------------------------------------------------

    def protection(self, name: str) -> Protection:
        """What storage says protects one archived blob (legal hold, version-level retention)."""
        props = self.archive.get_blob_client(name).get_blob_properties()
        policy = getattr(props, "immutability_policy", None)
        until = getattr(policy, "expiry_time", None)
        return Protection(
            legal_hold=bool(getattr(props, "has_legal_hold", False)),
            retained_until=until,
            created=props.creation_time,
        )

    def container_retention(self) -> bool:
        """Whether the archive container has a container-level time-based retention policy."""
        return bool(self.archive.get_container_properties().has_immutability_policy)

    def set_legal_hold(self, name: str, hold: bool) -> None:
        self.archive.get_blob_client(name).set_legal_hold(hold)

    def put_hold(self, record: HoldRecord) -> bool:
        return self._create_once(
            self.holds, _hold_name(record.container, record.blob, record.case), record.to_json_bytes()
        )

    def holds_on(self, blob: str) -> list[HoldRecord]:
        """Every case's record of holding one archived blob."""
        prefix = f"{self.archive_container}/{blob}/"
        found = [self._read(self.holds, name, HoldRecord) for name in self._names(self.holds, prefix)]
        return [record for record in found if record is not None]

    def all_holds(self) -> list[HoldRecord]:
        found = [self._read(self.holds, name, HoldRecord) for name in self._names(self.holds, "")]
        return [record for record in found if record is not None]

    def delete_hold(self, record: HoldRecord) -> None:
        with suppress(ResourceNotFoundError):
            self.holds.delete_blob(_hold_name(record.container, record.blob, record.case))

    # Audit trail -------------------------------------------------------------------------------

    def append_audit(self, record: AuditRecord) -> str:
        """A new audit blob, created once; the container is append-only (immutable) in Azure."""
        self.ensure_containers()
        name = f"{record.at:%Y/%m/%d/%H%M%S.%f}Z-{record.action}-{uuid.uuid4().hex[:12]}.json"
        self._create_once(self.audit, name, record.to_json_bytes())
        return name

    def audit_records(self, since: datetime | None = None, *, action: str | None = None) -> list[AuditRecord]:
        """Audit records in time order, from ``since`` (whole days by name, then exact).

        Names carry the day and the action, so only the records asked for are read.
        """
        names = sorted(self._names(self.audit, ""))
        if since is not None:
            names = [n for n in names if n[:10] >= f"{since:%Y/%m/%d}"]
        if action is not None:
            names = [n for n in names if f"Z-{action}-" in n]
        found = [self._read(self.audit, name, AuditRecord) for name in names]
        return [r for r in found if r is not None and (since is None or r.at >= since)]

    # Fixity and completeness: what a listing shows, and re-hashing -----------------------------

    def archived_blobs(self, prefix: str) -> Iterator[StoredBlob]:
        """Every archive blob under ``prefix`` with the properties a listing already carries
        (size, Content-MD5, tier), so the shallow check needs no request per blob. An archive
        container nothing was ever written to holds nothing (locally it is created on first use)."""
        try:
            for blob in self.archive.list_blobs(name_starts_with=prefix or None):
                yield StoredBlob.from_properties(blob)
        except ResourceNotFoundError:
            return

    def archived_sha256(self, name: str) -> str:
        """Re-read an archived blob and hash it, streaming (memory stays a few MiB)."""
        digest = hashlib.sha256()
        for piece in self.archive.download_blob(name).chunks():
            digest.update(piece)
            if self.on_read is not None:
                self.on_read(len(piece))
        return digest.hexdigest()

    def all_index_entry_names(self) -> list[str]:
        return self._existing_names(self.index, "")

    def rejected_event_names(self, prefix: str = "") -> list[str]:
        return self._existing_names(self.rejected, prefix)

    def rejected_events(self, prefix: str) -> list[tuple[str, RejectedEventRecord]]:
        found = [(n, self.rejected_event(n)) for n in self._existing_names(self.rejected, prefix)]
        return [(name, record) for name, record in found if record is not None]

    def failed_job_names(self, prefix: str = "") -> list[str]:
        return self._existing_names(self.failures, prefix)

    def failed_jobs(self, prefix: str) -> list[tuple[str, FailedJobRecord]]:
        found = [(n, self.failed_job(n)) for n in self._existing_names(self.failures, prefix)]
        return [(name, record) for name, record in found if record is not None]

    def _existing_names(self, container: ContainerClient, prefix: str) -> list[str]:
        """Names under ``prefix``; a container nobody has written to yet holds none."""
        try:
            return list(self._names(container, prefix))
        except ResourceNotFoundError:
            return []

    # Dead-lettered events: Event Grid writes them, replay claims, records and retires them -----

    def pending_dead_letters(self) -> list[str]:
        """Dead-letter blobs not yet replayed, oldest first (``replayed/`` is never listed)."""
        found: list[BlobProperties] = []
        try:
            for item in self.deadletters.walk_blobs(delimiter="/"):
                if isinstance(item, BlobProperties):
                    found.append(item)
                elif item.name != REPLAYED_PREFIX:
                    found.extend(self.deadletters.list_blobs(name_starts_with=item.name))
        except ResourceNotFoundError:
            return []
        found.sort(key=lambda b: (b.last_modified or now_utc(), b.name))
        return [b.name for b in found]

    def read_dead_letter(self, name: str) -> bytes | None:
        """The blob's bytes without claiming it (dry runs); None once another run retired it."""
        try:
            return bytes(self.deadletters.download_blob(name).readall())
        except ResourceNotFoundError:
            return None

    def claim_dead_letter(self, name: str, *, seconds: int = 60) -> DeadLetterClaim | None:
        """Lease one dead-letter blob and read it; None if another run holds it or retired it.

        The lease is what makes concurrent replays safe: only its holder may retire the blob.
        """
        blob = self.deadletters.get_blob_client(name)
        try:
            lease = blob.acquire_lease(lease_duration=seconds)
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            if exc.status_code == 409:  # LeaseAlreadyPresent: another replay is on it
                return None
            raise
        try:
            body = bytes(blob.download_blob(lease=lease).readall())
        except ResourceNotFoundError:
            return None
        return DeadLetterClaim(name, body, lease)

    def renew_dead_letter(self, claim: DeadLetterClaim) -> None:
        """Keep the claim while a large blob's events are replayed."""
        claim.lease.renew()

    def release_dead_letter(self, claim: DeadLetterClaim) -> None:
        with suppress(ResourceNotFoundError, HttpResponseError):
            claim.lease.release()

    def replay_record(self, name: str) -> DeadLetterReplayRecord | None:
        return self._read(self.deadletters, replay_record_name(name), DeadLetterReplayRecord)

    def create_replay_record(self, record: DeadLetterReplayRecord) -> bool:
        """Write a replay's outcome once; False if an earlier (interrupted) run wrote it."""
        return self._create_once(self.deadletters, replay_record_name(record.blob), record.to_json_bytes())

    def replay_records(self, since: datetime | None = None) -> list[DeadLetterReplayRecord]:
        """The outcome records of replayed dead-letter blobs written since ``since`` (all without
        it): what health reports read to chart dead-lettered events over time."""
        try:
            listed = list(self.deadletters.list_blobs(name_starts_with=REPLAYED_PREFIX))
        except ResourceNotFoundError:
            return []
        names = [
            blob.name
            for blob in listed
            if blob.name.endswith(".outcome.json")
            and (since is None or blob.last_modified is None or blob.last_modified >= since)
        ]
        found = [self._read(self.deadletters, name, DeadLetterReplayRecord) for name in names]
        return [record for record in found if record is not None]

    def retire_dead_letter(self, claim: DeadLetterClaim) -> str:
        """Move the claimed blob under ``replayed/``: copy (once), then delete the original."""
        target = replayed_name(claim.name)
        with suppress(ResourceExistsError):
            self.deadletters.upload_blob(
                target,
                claim.body,
                overwrite=False,
                content_settings=md5_settings(claim.body, "application/json"),
            )
        with suppress(ResourceNotFoundError):
            self.deadletters.delete_blob(claim.name, lease=claim.lease)
        return target


def replayed_name(name: str) -> str:
    return f"{REPLAYED_PREFIX}{name}"


def replay_record_name(name: str) -> str:
    return f"{REPLAYED_PREFIX}{name.removesuffix('.json')}.outcome.json"


@dataclass(frozen=True)
class DeadLetterClaim:
    """A dead-letter blob this process holds the lease on, and its bytes."""

    name: str
    body: bytes
    lease: BlobLeaseClient


@dataclass(frozen=True)
class StoredBlob:
    """One listed archive blob: what the shallow fixity check compares with its manifest."""

    name: str
    size: int
    content_md5: str | None  # base64, as in the manifest
    tier: str | None  # "Hot", "Cool", "Cold", "Archive" (None where the service does not say)
    last_modified: datetime | None

    @property
    def archived_tier(self) -> bool:
        """In the Archive tier: offline until rehydrated, so it cannot be re-read."""
        return (self.tier or "").lower() == "archive"

    @classmethod
    def from_properties(cls, blob: BlobProperties) -> StoredBlob:
        md5 = blob.content_settings.content_md5 if blob.content_settings else None
        tier = blob.blob_tier
        return cls(
            name=blob.name,
            size=int(blob.size or 0),
            content_md5=base64.b64encode(bytes(md5)).decode() if md5 else None,
            tier=str(getattr(tier, "value", tier)) if tier else None,
            last_modified=blob.last_modified,
        )


@dataclass(frozen=True)
class Protection:
    legal_hold: bool
    retained_until: datetime | None  # version-level retention on the blob itself
    created: datetime | None = None  # with the container's retention period: when it ends


def _hold_name(container: str, blob: str, case: str) -> str:
    return f"{container}/{blob}/{case}.json"
