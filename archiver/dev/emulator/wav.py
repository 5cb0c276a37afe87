"""WAV writer: mono for mixed audio, one channel per participant (up to 5) for unmixed."""

from __future__ import annotations

import wave
from pathlib import Path

from archiver.dev.emulator import pcm


def write_wav(
    path: Path,
    *,
    participants: int,
    channels: int,
    duration_ms: int,
    pause_marks_ms: tuple[int, ...] = (),
    channel_of: tuple[int, ...] = (),
) -> None:
    """Stream the synthetic conversation into a 16 kHz, 16-bit PCM WAV file."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(pcm.SAMPLE_WIDTH)
        out.setframerate(pcm.SAMPLE_RATE)
        out.setnframes(duration_ms * pcm.SAMPLE_RATE // 1000)
        for block in pcm.conversation(
            participants=participants,
            channels=channels,
            duration_ms=duration_ms,
            pause_marks_ms=pause_marks_ms,
            channel_of=channel_of,
        ):
            out.writeframesraw(block)
