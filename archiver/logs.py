"""Structured log lines: a marker alerts can match, then ``key=value`` fields.

Fields are identifiers we generate or validated (event, call, document ids, sizes, reasons);
callers never pass URLs with queries, headers, keys or participant identities.

Each line is also the source of the operational metrics (``archiver.metrics``): what a line
says happened is counted from the line itself, so logs and metrics never disagree.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from archiver import metrics

ACCEPTED = "ARCHIVER_ACCEPTED"
REJECTED = "ARCHIVER_REJECTED"
ARCHIVED = "ARCHIVER_ARCHIVED"
RETRY = "ARCHIVER_RETRY"
AT_RISK = "ARCHIVER_AT_RISK"
FAILED = "ARCHIVER_FAILED"
CONFIG = "ARCHIVER_CONFIG"
INTEGRITY = "ARCHIVER_INTEGRITY"  # the fixity check's result (error level when not intact)
MISSING = "ARCHIVER_MISSING"  # ACS reports a recording the archive does not hold

_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/@+=,-]")


def _value(value: Any) -> str:
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    return _UNSAFE.sub("_", text)[:200]


def emit(logger: logging.Logger, level: int, marker: str, message: str, **fields: Any) -> None:
    """One line: ``MARKER message k=v k=v``; fields also go to ``extra`` for structured sinks."""
    pairs = " ".join(f"{key}={_value(value)}" for key, value in fields.items() if value is not None)
    logger.log(level, "%s %s %s", marker, message, pairs, extra={"archiver": {"marker": marker, **fields}})
    metrics.observe(marker, fields)
