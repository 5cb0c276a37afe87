"""The modified discrete cosine transform, fast enough in pure Python for AAC's 2048 points.

``X[k] = sum(x[n] * cos(2*pi/N * (n + n0) * (k + 1/2)))`` for ``n < N``, ``k < N/2``, with
``n0 = (N/2 + 1) / 2``: the forward transform of ISO/IEC 14496-3 (AAC) and of Layer III.

Computed directly that is N*N/2 multiplications (two million for AAC, per frame); instead the
N inputs are folded into an N/2-point DCT-IV (time-domain aliasing, done by the decoder in
reverse) and the DCT-IV is computed with an N/4-point complex FFT and two twiddle passes. The
direct form stays here as the reference the tests compare against.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Sequence
from functools import lru_cache


def mdct_direct(x: Sequence[float]) -> list[float]:
    """The definition, term by term (slow; for tests and tiny sizes)."""
    n = len(x)
    n0 = (n / 2 + 1) / 2
    return [
        sum(x[i] * math.cos(2 * math.pi / n * (i + n0) * (k + 0.5)) for i in range(n)) for k in range(n // 2)
    ]


@lru_cache(maxsize=8)
def _fft_plan(size: int) -> tuple[tuple[int, ...], tuple[complex, ...]]:
    """Bit-reversal permutation and twiddle factors of a radix-2 FFT of ``size`` points."""
    bits = size.bit_length() - 1
    order = tuple(int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(size))
    twiddles = tuple(cmath.exp(-2j * math.pi * k / size) for k in range(size // 2))
    return order, twiddles


def fft(values: Sequence[complex]) -> list[complex]:
    """Iterative radix-2 FFT, ``V[k] = sum(v[n] * exp(-2j*pi*n*k/size))``; size a power of 2."""
    size = len(values)
    if size & (size - 1):
        raise ValueError("the FFT size must be a power of two")
    order, twiddles = _fft_plan(size)
    data = [values[i] for i in order]
    span = 1
    while span < size:
        step = size // (2 * span)
        factors = twiddles[::step][:span]
        for start in range(0, size, 2 * span):
            for offset, factor in enumerate(factors):
                top = start + offset
                product = data[top + span] * factor
                data[top + span] = data[top] - product
                data[top] += product
        span *= 2
    return data


class Mdct:
    """A forward MDCT of ``size`` inputs (a multiple of 8 whose quarter is a power of two)."""

    def __init__(self, size: int) -> None:
        if size % 8 or (size // 4) & (size // 4 - 1):
            raise ValueError("the MDCT size must be 8 times a power of two")
        self.size = size
        half = size // 2
        # DCT-IV of M = ``half`` points through an M/2-point FFT (see ``_dct_iv``).
        self._pre = tuple(cmath.exp(-1j * math.pi * n / half) for n in range(half // 2))
        self._post = tuple(cmath.exp(-1j * math.pi * (k + 0.25) / half) for k in range(half // 2))

    def __call__(self, x: Sequence[float]) -> list[float]:
        return self._dct_iv(self._fold(x))

    def _fold(self, x: Sequence[float]) -> list[float]:
        """Fold N inputs (quarters a, b, c, d) into the DCT-IV input (-c_r - d, a - b_r)."""
        q = self.size // 4
        a, b, c, d = x[:q], x[q : 2 * q], x[2 * q : 3 * q], x[3 * q :]
        first = [-c[q - 1 - i] - d[i] for i in range(q)]
        second = [a[i] - b[q - 1 - i] for i in range(q)]
        return first + second

    def _dct_iv(self, u: list[float]) -> list[float]:
        """``X[k] = sum(u[n] * cos(pi/M * (n + 1/2) * (k + 1/2)))`` for M = len(u).

        Pairing ``t[p] = u[2p] + i*u[M-1-2p]`` turns the sum into
        ``e^(-i*pi*(q + 1/4)/M) * FFT(t[p] * e^(-i*pi*p/M))[q]``, whose real part is ``X[2q]``
        and whose imaginary part is ``-X[M-1-2q]``.
        """
        m = len(u)
        twisted = [complex(u[2 * p], u[m - 1 - 2 * p]) * self._pre[p] for p in range(m // 2)]
        spectrum = fft(twisted)
        out = [0.0] * m
        for q, (value, post) in enumerate(zip(spectrum, self._post, strict=True)):
            turned = value * post
            out[2 * q] = turned.real
            out[m - 1 - 2 * q] = -turned.imag
        return out
