"""Lenient reading of a chunk's metadata file (``acsmetadata``).

Live payloads differ from the documents: enum values swapped or in other casing, numbers as
strings, ``channel`` missing. We read what we need for the index and keep the original bytes
untouched in the archive; only what would make the index wrong or unsafe is an error.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)

from archiver.errors import InvalidMetadata

MAX_PARTICIPANTS = 1000
MAX_PARTICIPANT_ID_LENGTH = 512


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, coerce_numbers_to_str=False)


class Participant(_Lenient):
    participant_id: str = Field(alias="participantId", min_length=1, max_length=MAX_PARTICIPANT_ID_LENGTH)
    channel: int | None = Field(default=None, ge=0, le=63)

    @field_validator("participant_id", mode="before")
    @classmethod
    def _must_be_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("participantId must be a string")
        if any(ord(ch) < 0x20 for ch in value):
            raise ValueError("participantId contains control characters")
        return value


def _none_if_invalid(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Informational fields: a value we cannot read becomes None instead of failing the job."""
    try:
        return handler(value)
    except ValidationError:
        return None


Informational = WrapValidator(_none_if_invalid)


class PauseInterval(_Lenient):
    start_time: Annotated[datetime | None, Informational] = Field(default=None, alias="startTime")
    duration: Annotated[float | None, Informational] = None


class RecordingMetadata(_Lenient):
    resource_id: Annotated[str | None, Informational] = Field(default=None, alias="resourceId")
    call_id: Annotated[str | None, Informational] = Field(default=None, alias="callId")
    chunk_document_id: Annotated[str | None, Informational] = Field(default=None, alias="chunkDocumentId")
    chunk_index: Annotated[int | None, Informational] = Field(default=None, alias="chunkIndex")
    chunk_start_time: Annotated[datetime | None, Informational] = Field(default=None, alias="chunkStartTime")
    chunk_duration: Annotated[float | None, Informational] = Field(default=None, alias="chunkDuration")
    pause_resume_intervals: list[PauseInterval] = Field(default_factory=list, alias="pauseResumeIntervals")
    recording_info: Annotated[
        dict[str, Any], WrapValidator(lambda v, h: h(v) if isinstance(v, dict) else {})
    ] = Field(default_factory=dict, alias="recordingInfo")
    participants: list[Participant] = Field(default_factory=list, max_length=MAX_PARTICIPANTS)

    @field_validator("chunk_start_time")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @field_validator("pause_resume_intervals", "participants", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("pause_resume_intervals", mode="before")
    @classmethod
    def _intervals_are_informational(cls, value: Any) -> Any:
        return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def parse_metadata(raw: bytes, *, max_bytes: int) -> RecordingMetadata:
    """Validate ``raw`` leniently; raise ``InvalidMetadata`` with a specific reason."""
    if len(raw) > max_bytes:
        raise InvalidMetadata(
            f"metadata is {len(raw)} bytes, more than MAX_METADATA_BYTES={max_bytes}",
            reason="metadata_too_large",
        )
    if not raw.strip():
        raise InvalidMetadata("metadata file is empty", reason="metadata_empty")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidMetadata(f"metadata is not JSON: {exc}", reason="metadata_not_json") from None
    if not isinstance(document, dict):
        raise InvalidMetadata("metadata must be a JSON object", reason="metadata_not_object")
    try:
        return RecordingMetadata.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidMetadata(f"metadata field {where}: {first['msg']}", reason="metadata_invalid") from None
