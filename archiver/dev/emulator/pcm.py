"""Synthetic conversation audio as 16-bit PCM: each participant has a tone of their own.

Participants take turns, one second each, so that mixed audio sounds like a conversation and
each channel of unmixed audio carries only its participant's voice. A short silence marks
each point where the recording was paused. Every tone has a whole number of cycles per
second, so one second of samples is computed once and repeated.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Iterable, Iterator

SAMPLE_RATE = 16_000
SAMPLE_WIDTH = 2
PAUSE_MARK_MS = 250
_AMPLITUDE = 0.3 * 32767


def tone_hz(participant: int) -> int:
    """A distinct, audible frequency per participant (whole Hz, so a second loops cleanly)."""
    return 330 + 110 * participant


def _second_of_tone(hz: int, channels: int, channel: int | None) -> bytes:
    """One second of interleaved frames: the tone on ``channel`` (all if ``None``), else zero."""
    samples = array("h", bytes(SAMPLE_RATE * channels * SAMPLE_WIDTH))
    for i in range(SAMPLE_RATE):
        value = int(_AMPLITUDE * math.sin(2 * math.pi * hz * i / SAMPLE_RATE))
        if channel is None:
            for c in range(channels):
                samples[i * channels + c] = value
        else:
            samples[i * channels + channel] = value
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def _channel(participant: int, channels: int, channel_of: tuple[int, ...]) -> int | None:
    """The channel ``participant`` speaks on (``None``: the only one, mixed)."""
    if channels == 1:
        return None
    if participant < len(channel_of):
        return min(channel_of[participant], channels - 1)
    return min(participant, channels - 1)


def conversation(
    *,
    participants: int,
    channels: int,
    duration_ms: int,
    pause_marks_ms: tuple[int, ...] = (),
    channel_of: tuple[int, ...] = (),
) -> Iterator[bytes]:
    """Yield the PCM of the whole recording, one second (or less, at the end) at a time.

    With one channel everyone is mixed into it; otherwise participant ``i`` speaks on channel
    ``channel_of[i]`` when a layout is given (today's API lets the caller choose it), else on
    ``min(i, channels - 1)`` (participants beyond the last channel share it).
    """
    speakers = max(1, participants)
    frame_bytes = channels * SAMPLE_WIDTH
    seconds = [
        _second_of_tone(tone_hz(p), channels, _channel(p, channels, channel_of)) for p in range(speakers)
    ]
    total_frames = duration_ms * SAMPLE_RATE // 1000
    marks = [(ms * SAMPLE_RATE // 1000, (ms + PAUSE_MARK_MS) * SAMPLE_RATE // 1000) for ms in pause_marks_ms]
    start = 0
    second = 0
    while start < total_frames:
        end = min(start + SAMPLE_RATE, total_frames)
        block = bytearray(seconds[second % speakers][: (end - start) * frame_bytes])
        for mark_start, mark_end in marks:
            lo, hi = max(mark_start, start), min(mark_end, end)
            if lo < hi:
                block[(lo - start) * frame_bytes : (hi - start) * frame_bytes] = bytes(
                    (hi - lo) * frame_bytes
                )
        yield bytes(block)
        start = end
        second += 1


def samples(blocks: Iterable[bytes]) -> Iterator[int]:
    """The values of 16-bit little-endian PCM blocks (as ``conversation`` yields them), in order.

    The MP3 and AAC encoders take numbers, not bytes; mono only (one value per frame).
    """
    for block in blocks:
        values = array("h", block)
        if sys.byteorder == "big":
            values.byteswap()
        yield from values


def mono_conversation(
    *, participants: int, duration_ms: int, pause_marks_ms: tuple[int, ...] = ()
) -> Iterator[int]:
    """Everyone mixed into one channel, as sample values: what the MP3 and MP4 audio carry."""
    return samples(
        conversation(
            participants=participants, channels=1, duration_ms=duration_ms, pause_marks_ms=pause_marks_ms
        )
    )
