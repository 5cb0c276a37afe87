"""The pure-Python MP3 and AAC encoders: their building blocks, their tables, and FFmpeg's verdict.

The round trips decode the encoders' frames with FFmpeg (through PyAV) and compare the result
with the input sample by sample, so a wrong table entry, scale, sign or delay shows up as a
collapse of the signal-to-noise ratio, not just as "it decoded".
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from fractions import Fraction

import pytest
from emulator_media import decode_packets, rms

from archiver.dev.emulator import aac, aac_tables, mp3, mp3_tables
from archiver.dev.emulator.bits import BitWriter
from archiver.dev.emulator.mdct import Mdct, fft, mdct_direct

RATE = 16_000
FULL_SCALE = 32768.0


def tone(hz: float, count: int, amplitude: float = 0.3 * 32767) -> list[float]:
    return [amplitude * math.sin(2 * math.pi * hz * i / RATE) for i in range(count)]


def noise(count: int, seed: int = 5) -> list[float]:
    """Broadband: sixty tones with random frequencies and phases up to 7 kHz."""
    rng = random.Random(seed)
    parts = [(rng.uniform(60, 7000), rng.uniform(0, 2 * math.pi)) for _ in range(60)]
    return [sum(500 * math.sin(2 * math.pi * f * i / RATE + p) for f, p in parts) for i in range(count)]


def snr_db(reference: Sequence[float], decoded: Sequence[float], start: int, end: int) -> float:
    error = [a - b for a, b in zip(reference[start:end], decoded[start:end], strict=True)]
    return 20 * math.log10(rms(reference, start, end) / rms(error, 0, len(error)))


def test_fast_mdct_matches_the_definition() -> None:
    rng = random.Random(1)
    for size in (16, 64, 256):
        x = [rng.uniform(-1, 1) for _ in range(size)]
        fast, direct = Mdct(size)(x), mdct_direct(x)
        assert max(abs(a - b) for a, b in zip(fast, direct, strict=True)) < 1e-9


def test_fft_matches_the_dft() -> None:
    rng = random.Random(2)
    values = [complex(rng.uniform(-1, 1), rng.uniform(-1, 1)) for _ in range(16)]
    dft = [
        sum(
            v * complex(math.cos(a), math.sin(a))
            for v, a in ((values[n], -2 * math.pi * n * k / 16) for n in range(16))
        )
        for k in range(16)
    ]
    assert max(abs(a - b) for a, b in zip(fft(values), dft, strict=True)) < 1e-9
    with pytest.raises(ValueError):
        fft([0j] * 12)


def test_bit_writer_packs_msb_first_and_pads_with_zeros() -> None:
    writer = BitWriter()
    writer.write(0b101, 3)
    writer.write_code("01")
    writer.write(0, 0)
    assert writer.bit_length == 5
    assert writer.to_bytes() == bytes([0b10101000])
    assert writer.to_bytes(2) == bytes([0b10101000, 0])
    with pytest.raises(ValueError):
        writer.write(4, 2)
    writer.write(0, 12)
    with pytest.raises(ValueError):
        writer.to_bytes(1)


@pytest.mark.parametrize(
    ("codes", "lengths", "size"),
    [
        (mp3_tables.TABLE_15_CODES, mp3_tables.TABLE_15_LENGTHS, 16 * 16),
        (aac_tables.CODEBOOK_11_CODES, aac_tables.CODEBOOK_11_LENGTHS, 17 * 17),
    ],
    ids=["mp3-table-15", "aac-codebook-11"],
)
def test_huffman_tables_are_complete_prefix_codes(
    codes: tuple[int, ...], lengths: tuple[int, ...], size: int
) -> None:
    """What a mistyped entry would break: every codeword fits, none prefixes another, none missing."""
    assert len(codes) == len(lengths) == size
    assert all(0 <= code < 1 << length for code, length in zip(codes, lengths, strict=True))
    words = sorted(format(code, f"0{length}b") for code, length in zip(codes, lengths, strict=True))
    assert all(not b.startswith(a) for a, b in itertools.pairwise(words))
    assert sum(Fraction(1, 2**length) for length in lengths) == 1  # Kraft: a complete code


def test_analysis_window_is_the_standards() -> None:
    window = mp3_tables.ANALYSIS_WINDOW
    assert len(window) == 512
    # Spot values as printed in ISO/IEC 11172-3 Table C.1 (9 decimals).
    printed = {1: -0.000000477, 64: 0.000101566, 128: 0.000971317, 192: 0.003134727, 256: 0.035780907}
    printed |= {320: 0.003134727, 383: -0.000953674, 511: 0.000000477}
    for index, value in printed.items():
        assert round(window[index], 9) == value
    assert max(range(512), key=lambda i: abs(window[i])) == 256
    assert all(abs(window[i]) == abs(window[512 - i]) for i in range(1, 256))


def test_scalefactor_bands_cover_the_spectrum() -> None:
    offsets = aac_tables.SWB_OFFSETS_16K
    assert (offsets[0], offsets[-1], len(offsets) - 1) == (0, aac.FRAME_SAMPLES, 43)
    assert all(a < b and (b - a) % 2 == 0 for a, b in itertools.pairwise(offsets))


@pytest.mark.parametrize(("signal", "floor_db"), [("tone", 35.0), ("noise", 30.0)])
def test_aac_round_trip_through_ffmpeg(signal: str, floor_db: float) -> None:
    count = RATE
    x = tone(440, count) if signal == "tone" else noise(count)
    frames = aac.encode(x, count)
    assert len(frames) == aac.frame_count(count) == count // aac.FRAME_SAMPLES + 1 + 1
    decoded = decode_packets("aac", frames, aac.AUDIO_SPECIFIC_CONFIG)
    y = [v * FULL_SCALE for v in decoded[aac.PRIMING_SAMPLES :]]
    assert snr_db(x, y, 2048, count - 2048) > floor_db


@pytest.mark.parametrize(("signal", "floor_db"), [("tone", 20.0), ("noise", 10.0)])
def test_mp3_round_trip_through_ffmpeg(signal: str, floor_db: float) -> None:
    """Bounded by 32 kbps: 1048 bits a granule, values up to 15 (table 15)."""
    count = RATE
    x = tone(330, count) if signal == "tone" else noise(count)
    frames = list(mp3.encode(x, mp3.frame_count(1000)))
    assert {len(f) for f in frames} == {mp3.FRAME_BYTES} and len(frames) == 28
    decoded = decode_packets("mp3float", frames)
    y = [v * FULL_SCALE for v in decoded[mp3.CODEC_DELAY_SAMPLES :]]
    assert snr_db(x, y, 2048, count - 2048) > floor_db


def test_aac_codes_large_values_with_escape_sequences() -> None:
    """The encoder aims its peak at ``PEAK`` (> 15), so codebook 11's escapes are exercised."""
    spectrum = aac.spectrum(tone(440, 2 * aac.FRAME_SAMPLES))
    gain = aac.gain_for_peak(max(map(abs, spectrum)))
    assert 16 < max(map(abs, aac.quantize(spectrum, gain))) <= aac.PEAK


def test_silence_encodes_to_silence() -> None:
    assert list(mp3.encode([0.0] * 1000, 3)) == [mp3.SILENT_FRAME] * 3
    decoded = decode_packets("aac", aac.encode([0.0] * 3000, 3000), aac.AUDIO_SPECIFIC_CONFIG)
    assert len(decoded) == aac.frame_count(3000) * aac.FRAME_SAMPLES
    assert max(map(abs, decoded)) == 0.0
