"""Write a recording's media file in the requested format and describe its configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archiver.dev.emulator import mp3, mp4, pcm
from archiver.dev.emulator.formats import MAX_UNMIXED_CHANNELS, RecordingKind
from archiver.dev.emulator.wav import write_wav


@dataclass(frozen=True)
class MediaInfo:
    """What the metadata's ``recordingInfo`` reports about the file."""

    audio_configuration: dict[str, Any]
    video_configuration: dict[str, Any] | None


def channel_count(kind: RecordingKind, participants: int, channel_of: tuple[int, ...] = ()) -> int:
    """Channels of the file: one per participant (at most five) for unmixed WAV, or as many as
    the highest channel a given layout uses; otherwise one."""
    if kind.channel_type == "unmixed" and kind.format == "wav":
        if channel_of:
            return min(max(channel_of) + 1, MAX_UNMIXED_CHANNELS)
        return max(1, min(participants, MAX_UNMIXED_CHANNELS))
    return 1


def participant_channel(index: int, channel_of: tuple[int, ...] = ()) -> int:
    """Unmixed channel of the ``index``-th participant (the last channel is shared past five)."""
    if index < len(channel_of):
        return channel_of[index]
    return min(index, MAX_UNMIXED_CHANNELS - 1)


def describe_media(kind: RecordingKind, participants: int, channel_of: tuple[int, ...] = ()) -> MediaInfo:
    """The audio (and video) configuration of the file ``write_media`` writes for ``kind``."""
    if kind.format == "wav":
        channels = channel_count(kind, participants, channel_of)
        return MediaInfo(_audio(pcm.SAMPLE_RATE, pcm.SAMPLE_RATE * 16, channels), None)
    if kind.format == "mp3":
        return MediaInfo(_audio(mp3.SAMPLE_RATE, mp3.BIT_RATE, 1), None)
    video = (
        {
            "longerSideLength": mp4.VIDEO_WIDTH,
            "shorterSideLength": mp4.VIDEO_HEIGHT,
            "framerate": mp4.FRAME_RATE,
            "bitRate": mp4.VIDEO_BIT_RATE,
        }
        if kind.has_video
        else None
    )
    return MediaInfo(_audio(mp4.AUDIO_SAMPLE_RATE, mp4.AUDIO_BIT_RATE, 1), video)


def write_media(
    path: Path,
    kind: RecordingKind,
    *,
    participants: int,
    duration_ms: int,
    pause_marks_ms: tuple[int, ...] = (),
    channel_of: tuple[int, ...] = (),
) -> None:
    """Write a playable file of ``duration_ms`` in ``kind``'s format.

    Every format carries the same audible conversation (``pcm``): WAV as PCM, one channel per
    participant when unmixed; MP3 and MP4 mixed to mono and encoded.
    """
    if kind.format == "wav":
        write_wav(
            path,
            participants=participants,
            channels=channel_count(kind, participants, channel_of),
            duration_ms=duration_ms,
            pause_marks_ms=pause_marks_ms,
            channel_of=channel_of,
        )
    elif kind.format == "mp3":
        tones = pcm.mono_conversation(
            participants=participants, duration_ms=duration_ms, pause_marks_ms=pause_marks_ms
        )
        mp3.write_mp3(path, tones, duration_ms=duration_ms)
    else:
        mp4.write_recording_mp4(
            path,
            duration_ms=duration_ms,
            participants=participants,
            with_video=kind.has_video,
            pause_marks_ms=pause_marks_ms,
        )


def _audio(sample_rate: int, bit_rate: int, channels: int) -> dict[str, Any]:
    return {"sampleRate": sample_rate, "bitRate": bit_rate, "channels": channels}
