"""The records the archive keeps: one typed, versioned model each.

These JSON documents are the archive's contract with its readers for years (auditors, export
tools, the next version of this code), so their field names are fixed camelCase, every record
says which schema version it follows, and README.md ("Record formats") documents each field.
``archiver.store`` is the only module that writes or reads them; everything else passes these
models around.

Reading tolerates fields it does not know (a newer writer may add some) but never a record whose
``schema`` is newer than this code understands.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

SCHEMA_VERSION = 1


class Record(BaseModel):
    """Base of every stored record: camelCase on disk, frozen in memory."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")

    def to_json_bytes(self) -> bytes:
        """Stable, readable bytes: sorted keys, two-space indent, trailing newline."""
        document = self.model_dump(mode="json", by_alias=True)
        return json.dumps(document, indent=2, sort_keys=True).encode("utf-8") + b"\n"


class MediaBlob(Record):
    blob: str
    size: int = Field(ge=0)
    sha256: str
    content_md5: str  # base64, as in the blob's Content-MD5
    content_type: str


class MetadataBlob(Record):
    blob: str
    size: int = Field(ge=0)
    sha256: str


class SourceUrls(Record):
    """Where the bytes came from, without query strings (no signatures or tokens)."""

    content: str
    metadata: str


class PauseResume(Record):
    start_time: datetime | None = None
    duration_ms: float | None = None


class Transfer(Record):
    resumed_from_byte: int = Field(ge=0)
    source_requests: int = Field(ge=0)


class ChunkManifest(Record):
    """One chunk archived and verified. Its existence is the commit point of the chunk."""

    schema_: Literal[1] = Field(default=1, alias="schema")
    kind: Literal["chunk"] = "chunk"
    event_id: str
    event_time: datetime
    call_id: str
    server_call_id: str | None = None
    recording_id: str | None = None
    recording_key: str
    document_id: str
    chunk_index: int = Field(ge=0)
    chunk_count: int = Field(ge=1)
    end_reason: str | None = None
    chunk_start_time: datetime
    chunk_duration_ms: float | None = None
    pause_resume_intervals: list[PauseResume] = Field(default_factory=list)
    participant_count: int = Field(ge=0)
    media: MediaBlob
    metadata: MetadataBlob
    source: SourceUrls
    source_deadline: datetime
    archived_at: datetime
    transfer: Transfer


class RecordingFormat(Record):
    content: str | None = None
    channel: str | None = None
    format: str | None = None


class RecordingChunk(Record):
    index: int
    document_id: str
    manifest: str
    media: MediaBlob


class RecordingManifest(Record):
    """Every chunk of one recording committed; written once, after the last chunk's manifest."""

    schema_: Literal[1] = Field(default=1, alias="schema")
    kind: Literal["recording"] = "recording"
    call_id: str
    server_call_id: str | None = None
    recording_id: str | None = None
    recording_key: str
    event_id: str
    recording_start_time: datetime
    recording_duration_ms: float | None = None
    format: RecordingFormat
    chunk_count: int = Field(ge=1)
    total_bytes: int = Field(ge=0)
    completed_at: datetime
    chunks: list[RecordingChunk]


class IndexEntry(Record):
    """A person took part in a chunk. Stored under the digest of their id, never the id itself."""

    schema_: Literal[1] = Field(default=1, alias="schema")
    participant_id: str
    participant_digest: str
    call_id: str
    recording_key: str
    recording_manifest: str
    chunk_manifest: str
    chunk_index: int
    document_id: str
    start_time: datetime | None = None
    duration_ms: float | None = None
    channel: int | None = None
    channel_type: str | None = None
    media: MediaBlob
    metadata_blob: str
    event_id: str


class RejectedEventRecord(Record):
    """An event we will not archive, kept with why (never silently dropped)."""

    schema_: Literal[1] = Field(default=1, alias="schema")
    reason: str
    message: str
    event_id: str | None = None
    received_at: datetime
    payload_sha256: str
    payload: str  # the event's own JSON as received (decoded as UTF-8, invalid bytes replaced)


class FailedJobRecord(Record):
    """A chunk job we gave up on, with enough to redo it by hand while the source exists."""

    schema_: Literal[1] = Field(default=1, alias="schema")
    reason: str
    message: str
    recorded_at: datetime
    deadline: datetime
    margin_seconds: float
    job: dict[str, Any]  # the queue message's job, as ``RecordingJob.model_dump(mode="json")``


class HoldRecord(Record):
    """One case holding one archived object. Clearing a case releases the object's native legal
    hold only when no other case's record for it remains."""

    schema_: Literal[1] = Field(default=1, alias="schema")
    case: str
    container: str
    blob: str
    placed_at: datetime
    operator: str
    scope: str  # what the operator named: "call:<id>" or "participant:<sha256 digest>"


AuditAction = Literal["hold_set", "hold_clear", "export", "erase", "replay", "verify"]


class AuditRecord(Record):
    """One operator action on the archive, appended once and never changed (chain of custody).

    Scopes name people only by the digest of their identity, never the identity itself.
    """

    schema_: Literal[1] = Field(default=1, alias="schema")
    at: datetime
    operator: str
    action: AuditAction
    scope: str
    case: str | None = None
    objects: int = Field(ge=0)
    outcome: Literal["done", "partial", "refused", "dry_run", "failed"]
    detail: str = ""


class DeadLetterDelivery(Record):
    """What Event Grid added to an event it gave up on (both delivery schemas' fields)."""

    dead_letter_reason: str | None = None
    delivery_attempts: int | None = None
    last_delivery_outcome: str | None = None
    publish_time: str | None = None  # as Event Grid wrote it: kept, never reinterpreted
    last_delivery_attempt_time: str | None = None


ReplayOutcome = Literal["queued", "already_archived", "rejected", "expired"]


class ReplayedChunk(Record):
    index: int
    document_id: str
    outcome: Literal["queued", "already_archived", "expired"]
    kept: str | None = None  # the ``failed-jobs`` record of an expired chunk


class ReplayedEvent(Record):
    """One event of a dead-letter blob, fed through ingress like a delivery, and what came of it."""

    event_id: str | None = None
    call_id: str | None = None
    delivery: DeadLetterDelivery
    outcome: ReplayOutcome
    reason: str | None = None  # the rejection's reason, when rejected
    kept: str | None = None  # the ``rejected-events`` record, when rejected
    chunks: list[ReplayedChunk] = Field(default_factory=list)


class DeadLetterReplayRecord(Record):
    """A dead-letter blob replayed: written once, next to the blob moved under ``replayed/``."""

    schema_: Literal[1] = Field(default=1, alias="schema")
    kind: Literal["deadletter_replay"] = "deadletter_replay"
    blob: str  # where Event Grid wrote it: {SUBSCRIPTION}/{yyyy}/{m}/{d}/{h}/{guid}.json
    replayed_blob: str  # where the original bytes are kept now
    replayed_at: datetime
    events: list[ReplayedEvent]
