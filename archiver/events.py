"""Turn an inbound ``RecordingFileStatusUpdated`` event into one archive job per chunk.

Accepts both envelopes (Event Grid schema and CloudEvents 1.0), single events or arrays, every
subject form ACS has used, open enums in any casing, unknown extra fields, chunks out of order,
and the 2021 event without ``*Location`` URLs. Everything that becomes part of a request is
checked here, so that later steps can trust a ``RecordingJob``. Identifiers that only name
things (call, server call and recording ids) never reject an event: ``layout.name_segment``
gives an odd call id a safe stable name, and the others are only stored or hashed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from archiver.errors import RejectedEvent, SourceNotAllowed
from archiver.jobs import ChunkSource, RecordingInfo, RecordingJob
from archiver.settings import Settings
from archiver.urls import check_source_url

log = logging.getLogger("archiver.events")
EVENT_TYPE = "Microsoft.Communication.RecordingFileStatusUpdated"
MAX_CHUNKS = 64  # 64 chunks x 4 h each is far past any real call; more is hostile or broken.
MAX_EVENT_BYTES = 1024 * 1024  # Event Grid caps an event at 1 MB.

# documentIds look like "0-eus-d6-3b9f...". One goes into the 2021 download URL's path, so
# the character set is strict and ".." is impossible: a documentId can reject an event.
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_SUBJECT = re.compile(
    r"/recording/call/(?P<call>[^/]+)"
    r"(?:/serverCallId/(?P<server>[^/]+))?"
    r"(?:/recordingId/(?P<recording>[^/]+))?/?",
    re.IGNORECASE,
)


class _Inbound(BaseModel):
    """Inbound Azure payloads: tolerate fields we do not know, never rewrite what we keep."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ChunkModel(_Inbound):
    document_id: str = Field(alias="documentId")
    index: int | None = Field(default=None, ge=0, le=10_000)  # None: its position in the list
    end_reason: str | None = Field(default=None, alias="endReason", max_length=128)
    content_location: str | None = Field(default=None, alias="contentLocation", max_length=2048)
    metadata_location: str | None = Field(default=None, alias="metadataLocation", max_length=2048)
    delete_location: str | None = Field(default=None, alias="deleteLocation", max_length=2048)


class StorageInfoModel(_Inbound):
    recording_chunks: list[ChunkModel] = Field(alias="recordingChunks")


class EventDataModel(_Inbound):
    recording_storage_info: StorageInfoModel = Field(alias="recordingStorageInfo")
    recording_start_time: datetime | None = Field(default=None, alias="recordingStartTime")
    recording_duration_ms: float | None = Field(default=None, alias="recordingDurationMs", ge=0)
    session_end_reason: str | None = Field(default=None, alias="sessionEndReason", max_length=128)
    recording_content_type: str | None = Field(default=None, alias="recordingContentType", max_length=64)
    recording_channel_type: str | None = Field(default=None, alias="recordingChannelType", max_length=64)
    recording_format_type: str | None = Field(default=None, alias="recordingFormatType", max_length=64)
    recording_id: str | None = Field(default=None, alias="recordingId", max_length=4096)


class Envelope(_Inbound):
    """The fields both schemas share, under Event Grid names; CloudEvents keys map onto them."""

    id: str = Field(min_length=1, max_length=512)
    event_type: str = Field(alias="eventType")
    topic: str | None = Field(default=None, max_length=1024)
    subject: str = Field(max_length=8192)
    event_time: datetime | None = Field(default=None, alias="eventTime")
    data: Any = None

    @field_validator("event_time")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def normalise_envelope(raw: dict[str, Any]) -> dict[str, Any]:
    """Map a CloudEvents 1.0 object onto Event Grid field names; Event Grid passes through."""
    if "specversion" not in raw:
        return raw
    return {
        "id": raw.get("id"),
        "eventType": raw.get("type"),
        "topic": raw.get("source"),
        "subject": raw.get("subject"),
        "eventTime": raw.get("time"),
        "data": raw.get("data"),
    }


def split_payload(payload: bytes | str) -> list[dict[str, Any]]:
    """Decode a request body or file: one event object, or an array of them."""
    if isinstance(payload, bytes) and len(payload) > MAX_EVENT_BYTES * 64:
        raise RejectedEvent("payload is larger than any Event Grid delivery", reason="too_large")
    try:
        decoded = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RejectedEvent(f"payload is not valid JSON: {exc}", reason="malformed_json") from None
    items = decoded if isinstance(decoded, list) else [decoded]
    if not items:
        raise RejectedEvent("payload is an empty array", reason="no_events")
    if not all(isinstance(item, dict) for item in items):
        raise RejectedEvent("every event must be a JSON object", reason="invalid_envelope")
    return items


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "event"
    return f"{where}: {first['msg']}"


def _safe_id(value: str, what: str) -> str:
    if not _SAFE_ID.fullmatch(value):
        raise RejectedEvent(
            f"{what} contains characters or a length that cannot be archived safely",
            reason="unsafe_identifier",
        )
    return value


def parse_subject(subject: str) -> tuple[str, str | None, str | None]:
    """Call id, server call id and recording id; only a subject of another shape is refused."""
    match = _SUBJECT.fullmatch(subject)
    if not match:
        raise RejectedEvent("subject is not a /recording/call/{callId}/... path", reason="invalid_subject")
    return match["call"], match["server"], match["recording"]


def _check_topic(topic: str | None, settings: Settings) -> None:
    allowed = {t.strip().lower().rstrip("/") for t in settings.allowed_acs_resource_ids}
    if allowed and (topic or "").strip().lower().rstrip("/") not in allowed:
        raise RejectedEvent("event topic is not a configured ACS resource", reason="topic_not_allowed")


def _chunk_source(chunk: ChunkModel, settings: Settings) -> ChunkSource:
    document_id = _safe_id(chunk.document_id, "documentId")
    if chunk.content_location is None and chunk.metadata_location is None:
        # The 2021 service published no URLs: the seed's download API applies.
        base = f"{settings.acs_endpoint}/recording/download/{document_id}"
        content, metadata, delete = base, f"{base}/metadata", None
    elif chunk.content_location is None or chunk.metadata_location is None:
        raise RejectedEvent(
            "chunk has only one of contentLocation and metadataLocation", reason="missing_location"
        )
    else:
        content, metadata, delete = chunk.content_location, chunk.metadata_location, chunk.delete_location
    for url in (content, metadata, delete):
        if url is not None:
            try:
                check_source_url(url, settings)
            except SourceNotAllowed as exc:
                raise RejectedEvent(str(exc), reason="url_not_allowed") from None
    return ChunkSource(
        document_id=document_id,
        index=chunk.index or 0,
        end_reason=chunk.end_reason,
        content_url=content,
        metadata_url=metadata,
        delete_url=_own_delete_url(delete, document_id),
    )


def _own_delete_url(url: str | None, document_id: str) -> str | None:
    """The delete URL only if it names this chunk's own document; else we never delete.

    Published examples exist whose ``deleteLocation`` names another document than the chunk
    (Event Grid docs, 2022). Archiving is unaffected; deleting on such a URL could erase a
    recording nobody archived, so ``DELETE_SOURCE_AFTER_ARCHIVE`` skips it and says so.
    """
    if url is None or document_id in urlsplit(url).path.split("/"):
        return url
    log.warning(
        "deleteLocation names another document; the source will not be deleted document_id=%s", document_id
    )
    return None


def recording_key(recording_id: str | None, document_ids: list[str]) -> str:
    """A short stable name for one recording of a call, the same on every redelivery."""
    basis = recording_id or ",".join(sorted(document_ids))
    return hashlib.sha256(basis.encode()).hexdigest()[:12]


def jobs_from_event(
    raw: dict[str, Any], settings: Settings, *, now: datetime | None = None
) -> list[RecordingJob]:
    """Validate one event object and return its jobs, in chunk order; raise ``RejectedEvent``."""
    try:
        envelope = Envelope.model_validate(normalise_envelope(raw))
    except ValidationError as exc:
        raise RejectedEvent(f"invalid event envelope: {_describe(exc)}", reason="invalid_envelope") from None
    if envelope.event_type != EVENT_TYPE:
        raise RejectedEvent(
            f"event type {envelope.event_type[:100]!r} is not {EVENT_TYPE}", reason="wrong_event_type"
        )
    _check_topic(envelope.topic, settings)
    call_id, server_call_id, subject_recording_id = parse_subject(envelope.subject)
    if not isinstance(envelope.data, dict):
        raise RejectedEvent("event has no data object", reason="invalid_data")
    try:
        data = EventDataModel.model_validate(envelope.data)
    except ValidationError as exc:
        reason = "missing_chunks" if "recordingStorageInfo" in _describe(exc) else "invalid_data"
        raise RejectedEvent(f"invalid event data: {_describe(exc)}", reason=reason) from None
    chunks = [
        chunk if chunk.index is not None else chunk.model_copy(update={"index": position})
        for position, chunk in enumerate(data.recording_storage_info.recording_chunks)
    ]
    if not chunks:
        raise RejectedEvent("recordingChunks is empty", reason="missing_chunks")
    if len(chunks) > MAX_CHUNKS:
        raise RejectedEvent(f"{len(chunks)} chunks is more than {MAX_CHUNKS}", reason="too_many_chunks")
    if len({c.document_id for c in chunks}) != len(chunks) or len({c.index for c in chunks}) != len(chunks):
        raise RejectedEvent("two chunks share a documentId or an index", reason="duplicate_chunk")
    sources = sorted((_chunk_source(c, settings) for c in chunks), key=lambda c: c.index)

    received = now or datetime.now(UTC)
    event_time = envelope.event_time or received
    recording_id = subject_recording_id or data.recording_id
    info = RecordingInfo(
        event_id=envelope.id,
        event_time=event_time,
        deadline=event_time + timedelta(hours=settings.source_retention_hours),
        topic=envelope.topic,
        call_id=call_id,
        server_call_id=server_call_id,
        recording_id=recording_id,
        recording_key=recording_key(recording_id, [s.document_id for s in sources]),
        start_time=data.recording_start_time or event_time,
        duration_ms=data.recording_duration_ms,
        content_type=data.recording_content_type,
        channel_type=data.recording_channel_type,
        format_type=data.recording_format_type,
        chunk_count=len(sources),
    )
    return [RecordingJob(recording=info, chunk=source) for source in sources]
