"""What happens when a recording stops: chunk files are produced and the event is published."""

from __future__ import annotations

import math
from typing import Any

from archiver.dev.emulator.app import Emulator
from archiver.dev.emulator.documents import new_document_id
from archiver.dev.emulator.events import recording_event
from archiver.dev.emulator.locations import chunk_locations
from archiver.dev.emulator.producer import ChunkSpec, produce
from archiver.dev.emulator.recordings import Recording
from archiver.dev.emulator.timeline import plan_chunks

MIN_MEDIA_MS = 1000
MAX_CHUNKS = 64  # what the archiver accepts in one event; far past any real call


def media_duration_ms(active_ms: int, cap_ms: int, chunk_count: int) -> int:
    """Active time, at least a second (per chunk) and at most the cap, so tests stay fast."""
    return max(min(max(active_ms, MIN_MEDIA_MS), cap_ms), MIN_MEDIA_MS * chunk_count)


def chunk_count(requested: int | None, media_ms: int, chunk_seconds: int | None) -> int:
    """How many chunks: as requested (the seed's ``chunkCount``), else as many as it takes to
    keep each one within ``--chunk-seconds`` (the service's ``ChunkMaximumSizeExceeded``)."""
    if requested is not None:
        return requested
    if chunk_seconds is None:
        return 1
    return max(1, min(MAX_CHUNKS, math.ceil(media_ms / (chunk_seconds * 1000))))


def finalize(app: Emulator, recording: Recording) -> list[dict[str, Any]]:
    """Write every chunk of a stopped recording, publish its event and return the event."""
    timeline = recording.timeline()
    cap_ms = app.max_media_ms()
    count = chunk_count(
        recording.plan.chunk_count,
        media_duration_ms(timeline.active_ms(), cap_ms, 1),
        app.config.chunk_seconds,
    )
    media_ms = media_duration_ms(timeline.active_ms(), cap_ms, count)
    call = recording.call
    chunks: list[dict[str, Any]] = []
    for plan in plan_chunks(timeline, media_ms, count):
        document_id = new_document_id(plan.index)
        produce(
            app.documents,
            ChunkSpec(
                document_id=document_id,
                index=plan.index,
                kind=recording.kind,
                resource_id=app.config.immutable_resource_id,
                call_id=call.call_id,
                participants=recording.participants,
                start_time=plan.start_time,
                duration_ms=plan.duration_ms,
                pauses=plan.pauses,
                pause_marks_ms=plan.pause_marks_ms,
                channels=recording.plan.channels,
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
        call_id=call.call_id,
        server_call=call.server_call_id,
        recording_id=recording.recording_id,
        chunks=chunks,
        start_time=recording.started_at,
        duration_ms=media_ms,
        kind=recording.kind,
    )
    app.publisher.publish(event)
    app.recordings.record_outcome(recording, event[0]["id"], [c["documentId"] for c in chunks])
    return event
