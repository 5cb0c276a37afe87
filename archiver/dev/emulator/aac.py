"""A small AAC-LC encoder (mono, 16 kHz) in pure Python, so the emulator's MP4 audio is audible.

It is the simplest encoder the standard allows, and still real AAC that every decoder plays:

- every frame is one long window (``ONLY_LONG_SEQUENCE``, sine window): the synthetic tones
  have no transients, so block switching would buy nothing;
- one scalefactor for the whole frame (``global_gain``), chosen so the largest quantized value
  is about ``PEAK`` and the frame fits the decoder's buffer; no psychoacoustic model;
- every band holding a non-zero value uses the escape codebook 11, every other band codebook 0;
- no TNS, no pulse data, no gain control, no PNS.

A frame is one ``raw_data_block()`` (ISO/IEC 14496-3, 4.4.2): a single channel element, then
the END element, byte aligned; in MP4 each one is a sample. The first frame covers 1024 samples
of zeros before the input (an MDCT frame spans two hops), so decoders output 1024 samples of
priming first; ``mp4`` hides them with an edit list.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice, pairwise
from operator import mul

from archiver.dev.emulator.aac_tables import (
    CODEBOOK_11,
    CODEBOOK_11_CODES,
    CODEBOOK_11_LENGTHS,
    ESCAPE,
    MAX_MAGNITUDE,
    SCALEFACTOR_SAME,
    SWB_OFFSETS_16K,
)
from archiver.dev.emulator.bits import BitWriter, codewords
from archiver.dev.emulator.mdct import Mdct

SAMPLE_RATE = 16_000
FRAME_SAMPLES = 1024
PRIMING_SAMPLES = FRAME_SAMPLES  # decoder output that precedes the first input sample
# AudioSpecificConfig: object type 2 (AAC LC), sampling frequency index 8 (16 kHz), one channel.
AUDIO_SPECIFIC_CONFIG = bytes([0x14, 0x08])

PEAK = 100  # target for the largest quantized magnitude: ~40 dB of signal to quantization noise
MAX_FRAME_BITS = 6144  # the decoder input buffer per channel (ISO/IEC 14496-3, 4.5.3.2)
SF_OFFSET = 100  # a scalefactor s scales by 2**((s - SF_OFFSET) / 4)
_SILENCE = 1e-6  # a spectrum peak below a millionth of a 16-bit step is digital silence
_ROUNDING = 0.4054  # the usual AAC quantizer bias towards zero (as in the reference encoder)
_ID_SCE = 0
_ID_END = 7
_SECTION_ESCAPE = 31  # long windows code section lengths in 5-bit steps
_WINDOW = tuple(math.sin(math.pi * (n + 0.5) / (2 * FRAME_SAMPLES)) for n in range(2 * FRAME_SAMPLES))
_CODEWORDS_11 = codewords(CODEBOOK_11_CODES, CODEBOOK_11_LENGTHS)
_BANDS = tuple(pairwise(SWB_OFFSETS_16K))
_MDCT = Mdct(2 * FRAME_SAMPLES)


def frame_count(sample_count: int) -> int:
    """Frames needed to carry ``sample_count`` samples past the encoder's one-frame delay."""
    return -(-sample_count // FRAME_SAMPLES) + 1


def encode(samples: Iterable[float], sample_count: int) -> list[bytes]:
    """Encode ``sample_count`` PCM samples (16-bit scale, +-32768) into raw AAC frames."""
    return [encode_frame(spectrum(block)) for block in _blocks(samples, frame_count(sample_count))]


def spectrum(block: Sequence[float]) -> list[float]:
    """The MDCT of one sine-windowed block of ``2 * FRAME_SAMPLES`` samples.

    Scaled by 2 as the standard's encoder does (``X[k] = 2 * sum(z[n] * cos(...))``, ISO/IEC
    14496-3, 4.6.18.3): against the decoder's ``(2/N) * sum(X[k] * cos(...))``, windowed and
    overlapped, that reproduces the input at the decoder's 16-bit scale.
    """
    return [2.0 * value for value in _MDCT(list(map(mul, _WINDOW, block)))]


def encode_frame(values: Sequence[float]) -> bytes:
    """One raw_data_block: the smallest global gain that keeps the peak and the frame in bounds."""
    peak = max(map(abs, values), default=0.0)
    if peak >= _SILENCE:
        for gain in range(gain_for_peak(peak), 256, 2):
            block = _raw_data_block(quantize(values, gain), gain)
            if len(block) * 8 <= MAX_FRAME_BITS:
                return block
    return _raw_data_block([0] * FRAME_SAMPLES, SF_OFFSET)  # silence (or nothing fits: unreachable)


def quantize(values: Sequence[float], gain: int) -> list[int]:
    """``sign(x) * int((|x| / step) ** 0.75 + 0.4054)`` with ``step = 2 ** ((gain - 100) / 4)``."""
    inverse = _step_inverse(gain)
    return [
        (1 if x > 0 else -1) * min(MAX_MAGNITUDE, int((abs(x) * inverse) ** 0.75 + _ROUNDING)) if x else 0
        for x in values
    ]


def _step_inverse(gain: int) -> float:
    return math.pow(2.0, -(gain - SF_OFFSET) / 4)


def gain_for_peak(peak: float) -> int:
    """The smallest gain whose step maps ``peak`` to at most ``PEAK``."""
    gain = SF_OFFSET + math.ceil(4 * math.log2(peak / PEAK ** (4 / 3)))
    return max(0, min(255, gain))


def _blocks(samples: Iterable[float], frames: int) -> Iterator[list[float]]:
    """Overlapping windows of two hops: zeros before the first sample, zeros after the last."""
    source = iter(samples)
    previous = [0.0] * FRAME_SAMPLES
    for _ in range(frames):
        current = list(islice(source, FRAME_SAMPLES))
        current += [0.0] * (FRAME_SAMPLES - len(current))
        yield previous + current
        previous = current


def _raw_data_block(quantized: Sequence[int], gain: int) -> bytes:
    writer = BitWriter()
    writer.write(_ID_SCE, 3)
    writer.write(0, 4)  # element_instance_tag
    _individual_channel_stream(writer, quantized, gain)
    writer.write(_ID_END, 3)
    return writer.to_bytes()


def _individual_channel_stream(writer: BitWriter, quantized: Sequence[int], gain: int) -> None:
    codebooks = _band_codebooks(quantized)
    writer.write(gain, 8)  # global_gain
    writer.write(0, 1)  # ics_reserved_bit
    writer.write(0, 2)  # window_sequence: ONLY_LONG_SEQUENCE
    writer.write(0, 1)  # window_shape: sine
    writer.write(len(codebooks), 6)  # max_sfb
    writer.write(0, 1)  # predictor_data_present
    _section_data(writer, codebooks)
    for codebook in codebooks:  # scale_factor_data: the same scalefactor everywhere
        if codebook:
            writer.write_code(SCALEFACTOR_SAME)
    writer.write(0, 1)  # pulse_data_present
    writer.write(0, 1)  # tns_data_present
    writer.write(0, 1)  # gain_control_data_present
    for (start, end), codebook in zip(_BANDS, codebooks, strict=False):
        if codebook:
            _spectral_pairs(writer, quantized, start, end)


def _band_codebooks(quantized: Sequence[int]) -> list[int]:
    """Codebook 11 for each band with a non-zero value, 0 otherwise, up to the last such band."""
    codebooks = [CODEBOOK_11 if any(quantized[start:end]) else 0 for start, end in _BANDS]
    while codebooks and not codebooks[-1]:
        codebooks.pop()
    return codebooks


def _section_data(writer: BitWriter, codebooks: Sequence[int]) -> None:
    """Runs of bands sharing a codebook: 4-bit codebook, then the run length in 5-bit steps."""
    band = 0
    while band < len(codebooks):
        run = 1
        while band + run < len(codebooks) and codebooks[band + run] == codebooks[band]:
            run += 1
        writer.write(codebooks[band], 4)
        remaining = run
        while remaining >= _SECTION_ESCAPE:
            writer.write(_SECTION_ESCAPE, 5)
            remaining -= _SECTION_ESCAPE
        writer.write(remaining, 5)
        band += run


def _spectral_pairs(writer: BitWriter, quantized: Sequence[int], start: int, end: int) -> None:
    """Codebook 11: a codeword per pair, then the signs, then escape sequences for values >= 16."""
    for i in range(start, end, 2):
        y, z = quantized[i], quantized[i + 1]
        my, mz = min(abs(y), ESCAPE), min(abs(z), ESCAPE)
        writer.write_code(_CODEWORDS_11[my * 17 + mz])
        if y:
            writer.write(1 if y < 0 else 0, 1)
        if z:
            writer.write(1 if z < 0 else 0, 1)
        if my == ESCAPE:
            _escape(writer, abs(y))
        if mz == ESCAPE:
            _escape(writer, abs(z))


def _escape(writer: BitWriter, magnitude: int) -> None:
    """``N - 4`` one bits, a zero, then the ``N`` bits below the leading one (``N >= 4``)."""
    n = magnitude.bit_length() - 1
    writer.write((1 << (n - 4 + 1)) - 2, n - 4 + 1)
    writer.write(magnitude - (1 << n), n)
