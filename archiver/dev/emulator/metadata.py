"""The per-chunk metadata file, in the documented shape (see shared/samples/metadata-*.json).

Values are honest about the emulator's files: ``contentType`` is the content (audioVideo or
audio) and ``channelType`` the channels (mixed or unmixed), and numbers are numbers. Tests
that need the service's quirks (swapped or re-cased enums, numbers as strings) seed raw
metadata text instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from archiver.dev.emulator.clock import acs_timestamp
from archiver.dev.emulator.formats import RecordingKind
from archiver.dev.emulator.media import MediaInfo, participant_channel
from archiver.dev.emulator.timeline import Pause


def chunk_metadata(
    *,
    resource_id: str,
    call_id: str,
    document_id: str,
    index: int,
    start_time: datetime,
    duration_ms: int,
    pauses: tuple[Pause, ...],
    kind: RecordingKind,
    media: MediaInfo,
    participants: list[str],
    channel_of: tuple[int, ...] = (),
) -> dict[str, Any]:
    recording_info: dict[str, Any] = {
        "contentType": kind.content_type,
        "channelType": kind.channel_type,
        "format": kind.format,
        "audioConfiguration": media.audio_configuration,
    }
    if media.video_configuration is not None:
        recording_info["videoConfiguration"] = media.video_configuration
    unmixed = kind.channel_type == "unmixed"
    return {
        "resourceId": resource_id,
        "callId": call_id,
        "chunkDocumentId": document_id,
        "chunkIndex": index,
        "chunkStartTime": acs_timestamp(start_time),
        "chunkDuration": float(duration_ms),
        "pauseResumeIntervals": [
            {"startTime": acs_timestamp(p.started_at), "duration": float(p.duration_ms)} for p in pauses
        ],
        "recordingInfo": recording_info,
        "participants": [
            {"participantId": pid, "channel": participant_channel(i, channel_of)}
            if unmixed
            else {"participantId": pid}
            for i, pid in enumerate(participants)
        ],
    }
