"""Layer III's hybrid filterbank, encoder side: polyphase analysis, MDCT per subband, alias reduction.

Each granule of 576 PCM samples becomes 576 frequency lines in three steps (ISO/IEC 11172-3,
Annex C, "Analysis subband filter" and "Layer III encoding"):

1. the polyphase filterbank turns every 32 samples into one sample in each of 32 subbands
   (window ``C[i]``, fold by 64, then the cosine matrix ``M[k][i]``);
2. each subband's 18 new samples, with the previous granule's 18, go through a 36-point MDCT
   with the sine window (long blocks only: the tones have no transients to switch for); odd
   subbands have every other sample negated first, undoing the decoder's frequency inversion;
3. the eight butterflies at each subband boundary are applied, the inverse of the decoder's
   alias reduction.

Pure Python with ``map``/``sum`` over precomputed rows keeps one second of audio well under a
tenth of a second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import mul

from archiver.dev.emulator.mp3_tables import ANALYSIS_WINDOW

SUBBANDS = 32
LINES_PER_SUBBAND = 18
GRANULE_SAMPLES = SUBBANDS * LINES_PER_SUBBAND  # 576
_WINDOW_LENGTH = len(ANALYSIS_WINDOW)  # 512
_HISTORY = _WINDOW_LENGTH - SUBBANDS  # samples kept from earlier granules: 480
# Alias-reduction coefficients c[i] (ISO/IEC 11172-3, Table B.9).
_ALIAS_C = (-0.6, -0.535, -0.33, -0.185, -0.095, -0.041, -0.0142, -0.0037)
_ALIAS_CS = tuple(1 / math.sqrt(1 + c * c) for c in _ALIAS_C)
_ALIAS_CA = tuple(c / math.sqrt(1 + c * c) for c in _ALIAS_C)

# The window in time order, oldest sample first, so it multiplies a plain slice of the input.
_WINDOW_OLDEST_FIRST = tuple(reversed(ANALYSIS_WINDOW))
_MATRIX = tuple(
    tuple(math.cos((2 * k + 1) * (i - 16) * math.pi / 64) for i in range(64)) for k in range(SUBBANDS)
)
# The decoder's 36-point IMDCT has no normalisation (ISO/IEC 11172-3, 2.4.3.4.10.2), so the
# forward transform carries it: 1/9 = 2 / (36 / 2) makes the windowed overlap-add give unity.
_MDCT_ROWS = tuple(
    tuple(
        math.sin(math.pi / 36 * (i + 0.5)) * math.cos(math.pi / 72 * (2 * i + 19) * (2 * m + 1)) / 9
        for i in range(2 * LINES_PER_SUBBAND)
    )
    for m in range(LINES_PER_SUBBAND)
)


class HybridFilterbank:
    """Stateful: the analysis window and the MDCT both overlap the previous granule."""

    def __init__(self) -> None:
        self._history = [0.0] * _HISTORY
        self._previous = [[0.0] * LINES_PER_SUBBAND for _ in range(SUBBANDS)]

    def granule(self, samples: Sequence[float]) -> list[float]:
        """576 lines (subband-major, 18 per subband) for the next 576 samples (full scale 1.0)."""
        if len(samples) != GRANULE_SAMPLES:
            raise ValueError(f"a granule is {GRANULE_SAMPLES} samples")
        buffer = self._history + list(samples)
        self._history = buffer[-_HISTORY:]
        blocks = [_analyse(buffer, SUBBANDS * t) for t in range(LINES_PER_SUBBAND)]
        lines: list[float] = []
        for band in range(SUBBANDS):
            current = [block[band] for block in blocks]
            if band % 2:
                current[1::2] = [-value for value in current[1::2]]
            window = self._previous[band] + current
            self._previous[band] = current
            lines.extend(sum(map(mul, row, window)) for row in _MDCT_ROWS)
        _reduce_aliasing(lines)
        return lines


def _analyse(buffer: Sequence[float], start: int) -> list[float]:
    """One output of the polyphase filterbank: 32 subband samples for 32 new input samples.

    ``buffer[start:start + 512]`` is the window oldest first, so ``z[m]`` is the standard's
    ``Z[511 - m]`` and ``Y[i] = sum(Z[i + 64 j])`` reads it backwards in steps of 64.
    """
    z = list(map(mul, _WINDOW_OLDEST_FIRST, buffer[start : start + _WINDOW_LENGTH]))
    y = [sum(z[_WINDOW_LENGTH - 1 - i :: -64]) for i in range(64)]
    return [sum(map(mul, row, y)) for row in _MATRIX]


def _reduce_aliasing(lines: list[float]) -> None:
    """The encoder's butterflies: the inverse rotation of the decoder's alias reduction."""
    for band in range(1, SUBBANDS):
        edge = band * LINES_PER_SUBBAND
        for i, (cs, ca) in enumerate(zip(_ALIAS_CS, _ALIAS_CA, strict=True)):
            below, above = lines[edge - 1 - i], lines[edge + i]
            lines[edge - 1 - i] = below * cs + above * ca
            lines[edge + i] = above * cs - below * ca
