"""Wall-clock time and the timestamp format ACS uses (ISO 8601, 7 fractional digits, ``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def acs_timestamp(moment: datetime) -> str:
    """Format like the samples, e.g. ``2026-11-20T09:14:03.5120000Z`` (.NET's 7 digits)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0Z"


def milliseconds(start: datetime, end: datetime) -> int:
    return round((end - start).total_seconds() * 1000)
