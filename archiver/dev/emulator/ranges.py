"""``Range: bytes=...`` parsing for one range, as the download client uses it."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SINGLE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(Exception):
    """The range starts past the end of the file: answer 416 with ``bytes */size``."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The requested range, or ``None`` to send the whole file.

    Forms: ``bytes=a-b``, ``bytes=a-``, ``bytes=-n`` (the last n bytes). A header that is
    malformed or asks for several ranges is ignored, as RFC 9110 allows.
    """
    if not header:
        return None
    match = _SINGLE.match(header.strip().replace(" ", ""))
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable()
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable()
    return ByteRange(start, min(end, size - 1))
