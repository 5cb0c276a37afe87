"""An MSB-first bit writer for the audio encoders.

``h264.BitWriter`` moves one bit at a time, which is fine for a few headers but too slow for
the thousands of Huffman codewords an audio file needs. This one keeps each field as a string
of ``0``/``1`` and converts the lot to bytes once, so a frame costs one ``int(..., 2)``.
"""

from __future__ import annotations


class BitWriter:
    """Collects fields most significant bit first; ``to_bytes`` pads with zero bits."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0

    @property
    def bit_length(self) -> int:
        return self._length

    def write(self, value: int, width: int) -> None:
        """Append ``value`` as an unsigned field of exactly ``width`` bits."""
        if not 0 <= value < (1 << width) and width > 0:
            raise ValueError(f"{value} does not fit in {width} bits")
        if width:
            self._parts.append(format(value, f"0{width}b"))
            self._length += width

    def write_code(self, code: str) -> None:
        """Append a precomputed codeword given as text, e.g. ``"0110"``."""
        self._parts.append(code)
        self._length += len(code)

    def extend(self, other: BitWriter) -> None:
        self._parts.extend(other._parts)
        self._length += other._length

    def to_bytes(self, size: int | None = None) -> bytes:
        """The bits, zero-padded to a whole byte or to exactly ``size`` bytes."""
        total = size * 8 if size is not None else -(-self._length // 8) * 8
        if self._length > total:
            raise ValueError(f"{self._length} bits do not fit in {total // 8} bytes")
        if total == 0:
            return b""
        return int("".join(self._parts).ljust(total, "0"), 2).to_bytes(total // 8, "big")


def codewords(codes: tuple[int, ...], lengths: tuple[int, ...]) -> tuple[str, ...]:
    """Huffman codewords as bit strings, ready for ``BitWriter.write_code``."""
    return tuple(format(code, f"0{length}b") for code, length in zip(codes, lengths, strict=True))
