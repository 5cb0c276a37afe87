"""MP3 writer: a small MPEG-2 Layer III encoder (mono, 16 kHz, 32 kbps) in pure Python.

The service's MP3 is 16 kHz mono, which needs MPEG-2 "low sampling frequency" Layer III: one
granule of 576 samples per 144-byte frame. The encoder is the simplest the standard allows and
still real MP3 that every decoder plays, so the emulator's MP3 carries the same audible tones
as its WAV:

- the hybrid filterbank of ``mp3_filterbank`` (long blocks only);
- one step size per granule (``global_gain``; no scalefactors, ``scalefac_compress`` 0),
  chosen so the largest value is at most 15 and the granule fits its frame; no psychoacoustic
  model and no bit reservoir (``main_data_begin`` 0);
- every non-zero line in the ``big_values`` region, Huffman table 15 for all three regions.

Side information layout for MPEG-2 mono: ISO/IEC 13818-3, 2.4.1.7 (72 bits).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path

from archiver.dev.emulator.bits import BitWriter, codewords
from archiver.dev.emulator.mp3_filterbank import GRANULE_SAMPLES, HybridFilterbank
from archiver.dev.emulator.mp3_tables import TABLE_15_CODES, TABLE_15_LENGTHS, TABLE_15_MAX

SAMPLE_RATE = 16_000
BIT_RATE = 32_000
SAMPLES_PER_FRAME = GRANULE_SAMPLES  # MPEG-2 Layer III: one granule of 576 samples
FRAME_BYTES = 72 * BIT_RATE // SAMPLE_RATE  # 144 bytes, no padding needed

# 0xFFF3: sync, MPEG-2, Layer III, no CRC. 0x48: 32 kbps (index 4), 16 kHz (index 2), no
# padding. 0xC0: mono, no mode extension, not copyrighted, copy, no emphasis.
FRAME_HEADER = bytes([0xFF, 0xF3, 0x48, 0xC0])
SIDE_INFO_BYTES = 9
MAIN_DATA_BITS = (FRAME_BYTES - len(FRAME_HEADER) - SIDE_INFO_BYTES) * 8  # 1048
# A granule with no lines: zero side information (part2_3_length 0), nothing to decode.
SILENT_FRAME = FRAME_HEADER + bytes(FRAME_BYTES - len(FRAME_HEADER))
# Decoded audio lags the input by the polyphase analysis/synthesis pair (481 samples) plus one
# granule of MDCT overlap (576): a plain MP3 has no edit list, so players keep the lead-in.
CODEC_DELAY_SAMPLES = 481 + GRANULE_SAMPLES

_TABLE = 15
_REGION0_COUNT = 7  # region boundaries; the same table serves all three regions anyway
_REGION1_COUNT = 7
_GAIN_OFFSET = 210  # a line's step is 2 ** ((global_gain - 210) / 4)
_ROUNDING = 0.4054  # quantizer bias towards zero, as in ISO/IEC 11172-3's informative encoder
_SILENCE = 1e-9
_CODEWORDS_15 = codewords(TABLE_15_CODES, TABLE_15_LENGTHS)
_FULL_SCALE = 32768.0


def frame_count(duration_ms: int) -> int:
    return max(1, -(-duration_ms * SAMPLE_RATE // (1000 * SAMPLES_PER_FRAME)))


def write_mp3(path: Path, samples: Iterable[float], *, duration_ms: int) -> None:
    """Encode 16-bit-scale samples into enough frames to last at least ``duration_ms``."""
    with path.open("wb") as out:
        for frame in encode(samples, frame_count(duration_ms)):
            out.write(frame)


def encode(samples: Iterable[float], frames: int) -> Iterator[bytes]:
    """``frames`` frames from the samples, zero-padded at the end."""
    filterbank = HybridFilterbank()
    source = iter(samples)
    for _ in range(frames):
        block = [value / _FULL_SCALE for value in islice(source, GRANULE_SAMPLES)]
        block += [0.0] * (GRANULE_SAMPLES - len(block))
        yield encode_granule(filterbank.granule(block))


def encode_granule(lines: Sequence[float]) -> bytes:
    """One frame: the smallest global gain that keeps every value <= 15 and the data in the frame."""
    peak = max(map(abs, lines), default=0.0)
    if peak < _SILENCE:
        return SILENT_FRAME
    for gain in range(_gain_for_peak(peak), 256):
        values = quantize(lines, gain)
        main = _main_data(values)
        if main is not None and main.bit_length <= MAIN_DATA_BITS:
            return _frame(values, gain, main)
    return SILENT_FRAME  # unreachable for audio within full scale: the coarsest step zeroes it


def quantize(lines: Sequence[float], gain: int) -> list[int]:
    """``sign(x) * int((|x| / step) ** 0.75 + 0.4054)`` with ``step = 2 ** ((gain - 210) / 4)``."""
    inverse = math.pow(2.0, -(gain - _GAIN_OFFSET) / 4)
    return [(1 if x > 0 else -1) * int((abs(x) * inverse) ** 0.75 + _ROUNDING) if x else 0 for x in lines]


def _gain_for_peak(peak: float) -> int:
    """The smallest gain whose step maps ``peak`` to at most 15 (before rounding)."""
    gain = _GAIN_OFFSET + math.ceil(4 * math.log2(peak / TABLE_15_MAX ** (4 / 3)))
    return max(0, min(255, gain))


def _big_values(values: Sequence[int]) -> int:
    """Pairs up to and including the last non-zero line."""
    last = max((i for i, v in enumerate(values) if v), default=-1)
    return (last + 2) // 2


def _main_data(values: Sequence[int]) -> BitWriter | None:
    """part3 only (no scalefactors): each pair's codeword, then the signs of its non-zero values.

    None when a value is beyond table 15, so the caller tries a coarser step.
    """
    writer = BitWriter()
    for i in range(0, 2 * _big_values(values), 2):
        x, y = values[i], values[i + 1]
        if abs(x) > TABLE_15_MAX or abs(y) > TABLE_15_MAX:
            return None
        writer.write_code(_CODEWORDS_15[abs(x) * 16 + abs(y)])
        if x:
            writer.write(1 if x < 0 else 0, 1)
        if y:
            writer.write(1 if y < 0 else 0, 1)
    return writer


def _side_info(values: Sequence[int], gain: int, part2_3_length: int) -> bytes:
    side = BitWriter()
    side.write(0, 8)  # main_data_begin: no bit reservoir
    side.write(0, 1)  # private_bits (mono, MPEG-2)
    side.write(part2_3_length, 12)
    side.write(_big_values(values), 9)
    side.write(gain, 8)  # global_gain
    side.write(0, 9)  # scalefac_compress: no scalefactor bits
    side.write(0, 1)  # window_switching_flag: long blocks
    for _ in range(3):
        side.write(_TABLE, 5)  # table_select, regions 0-2
    side.write(_REGION0_COUNT, 4)
    side.write(_REGION1_COUNT, 3)
    side.write(0, 1)  # scalefac_scale
    side.write(0, 1)  # count1table_select (the count1 region is empty)
    return side.to_bytes(SIDE_INFO_BYTES)


def _frame(values: Sequence[int], gain: int, main: BitWriter) -> bytes:
    side = _side_info(values, gain, main.bit_length)
    return FRAME_HEADER + side + main.to_bytes(FRAME_BYTES - len(FRAME_HEADER) - SIDE_INFO_BYTES)
