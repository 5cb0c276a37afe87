"""The archive job: what ingress puts on the queue and a worker needs to archive one chunk.

A job is self-contained (no lookup of the original event is needed) and carries its own
deadline, so that any worker, redrive or operator can tell how long the source still exists.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field


class _Job(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChunkSource(_Job):
    document_id: str
    index: int
    end_reason: str | None = None
    content_url: str
    metadata_url: str
    delete_url: str | None = None


class RecordingInfo(_Job):
    event_id: str
    event_time: datetime
    deadline: datetime
    topic: str | None = None
    call_id: str
    server_call_id: str | None = None
    recording_id: str | None = None
    recording_key: str
    start_time: datetime
    duration_ms: float | None = None
    content_type: str | None = None
    channel_type: str | None = None
    format_type: str | None = None
    chunk_count: int = Field(ge=1)


class RecordingJob(_Job):
    recording: RecordingInfo
    chunk: ChunkSource
    attempt: int = Field(default=0, ge=0)

    def to_message(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_message(cls, text: str | bytes) -> RecordingJob:
        return cls.model_validate_json(text)

    def margin_seconds(self, now: datetime | None = None) -> float:
        """Seconds left before the source's retention window closes (negative once it has)."""
        return (self.recording.deadline - (now or datetime.now(UTC))).total_seconds()

    def log_fields(self) -> dict[str, object]:
        """The identifiers every log line about this job carries (no personal data)."""
        return {
            "event_id": self.recording.event_id,
            "call_id": self.recording.call_id,
            "document_id": self.chunk.document_id,
            "chunk": self.chunk.index,
        }
