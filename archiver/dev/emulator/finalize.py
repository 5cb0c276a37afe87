"""What happens when a recording stops: chunk files are produced and the event is published."""

from __future__ import annotations

from typing import Any

from archiver.dev.emulator.app import Emulator
from archiver.dev.emulator.documents import new_document_id
from archiver.dev.emulator.events import recording_event
from archiver.dev.emulator.locations import chunk_locations
from archiver.dev.emulator.producer import ChunkSpec, produce
from archiver.dev.emulator.recordings import Recording
from archiver.dev.emulator.timeline import plan_chunks

MIN_MEDIA_MS = 1000


def media_duration_ms(active_ms: int, cap_ms: int, chunk_count: int) -> int:
    """Active time, at least a second (per chunk) and at most the cap, so tests stay fast."""
    return max(min(max(active_ms, MIN_MEDIA_MS), cap_ms), MIN_MEDIA_MS * chunk_count)


def finalize(app: Emulator, recording: Recording) -> list[dict[str, Any]]:
    """Write every chunk of a stopped recording, publish its event and return the event."""
    timeline = recording.timeline()
    media_ms = media_duration_ms(timeline.active_ms(), app.max_media_ms(), recording.chunk_count)
    chunks: list[dict[str, Any]] = []
    for plan in plan_chunks(timeline, media_ms, recording.chunk_count):
        document_id = new_document_id(plan.index)
        produce(
            app.documents,
            ChunkSpec(
                document_id=document_id,
                index=plan.index,
                kind=recording.kind,
                resource_id=app.config.immutable_resource_id,
                call_id=recording.conversation_id,
                participants=recording.participants,
                start_time=plan.start_time,
                duration_ms=plan.duration_ms,
                pauses=plan.pauses,
                pause_marks_ms=plan.pause_marks_ms,
            ),
        )
        chunks.append(
            {
                "documentId": document_id,
                "index": plan.index,
                "endReason": plan.end_reason,
                **chunk_locations(app.public_url, document_id, recording.kind),
            }
        )
    event = recording_event(
        topic=app.config.topic,
        call_id=recording.conversation_id,
        conversation_id=recording.conversation_id,
        recording_id=recording.recording_id,
        chunks=chunks,
        start_time=recording.started_at,
        duration_ms=media_ms,
        kind=recording.kind,
    )
    app.publisher.publish(event)
    app.recordings.record_outcome(recording, event[0]["id"], [c["documentId"] for c in chunks])
    return event
