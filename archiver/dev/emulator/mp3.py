"""MP3 writer: a stream of valid MPEG-2 Layer III frames that decode as silence.

Encoding real audio would need a psychoacoustic encoder; a frame whose side information is
all zero carries no main data and every decoder plays it as silence, which is enough to
prove that the archiver copies and labels MP3 files correctly. 16 kHz needs MPEG-2 (LSF).
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_RATE = 16_000
BIT_RATE = 32_000
SAMPLES_PER_FRAME = 576  # MPEG-2 Layer III: one granule of 576 samples
FRAME_BYTES = 72 * BIT_RATE // SAMPLE_RATE  # 144 bytes, no padding needed

# 0xFFF3: sync, MPEG-2, Layer III, no CRC. 0x48: 32 kbps (index 4), 16 kHz (index 2), no
# padding. 0xC0: mono, no mode extension, not copyrighted, copy, no emphasis.
FRAME_HEADER = bytes([0xFF, 0xF3, 0x48, 0xC0])
SILENT_FRAME = FRAME_HEADER + bytes(FRAME_BYTES - len(FRAME_HEADER))


def frame_count(duration_ms: int) -> int:
    return max(1, -(-duration_ms * SAMPLE_RATE // (1000 * SAMPLES_PER_FRAME)))


def write_mp3(path: Path, *, duration_ms: int) -> None:
    """Write enough silent frames to last at least ``duration_ms``."""
    frames = frame_count(duration_ms)
    per_write = 1000
    with path.open("wb") as out:
        while frames > 0:
            n = min(frames, per_write)
            out.write(SILENT_FRAME * n)
            frames -= n
