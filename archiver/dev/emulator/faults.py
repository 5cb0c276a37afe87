"""Injected faults: the service's known misbehaviours, queued per document and target.

Each request for a document's content, metadata or delete consumes the first fault queued
for it, looking in this order: (document, target), (document, "any"), ("*", target),
("*", "any"). Faults are consumed only by authenticated requests: a fault models the
service misbehaving for a legitimate caller.

``status``, ``html`` and ``redirect`` replace the answer (nothing is deleted); ``delay`` and
``slow`` serve normally, late or throttled; ``empty`` and ``reset`` act after the request was
carried out (a faulted delete still deletes: the answer is what gets lost).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from archiver.dev.emulator.errors import bad_request

TARGETS = ("content", "metadata", "delete", "any")
KINDS = ("status", "empty", "html", "reset", "redirect", "delay", "slow")


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 200
    retry_after: int | None = None
    body: str | None = None
    content_type: str | None = None
    after_bytes: int = 0
    location: str = ""
    seconds: float = 0.0
    bytes_per_second: int = 0
    raw: dict[str, Any] = field(default_factory=dict, compare=False)  # as the test sent it


def _int(raw: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_request(f"fault {key} must be an integer from {low} to {high}", key)
    return value


def _text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"fault {key} must be a string", key)
    return value


def parse_fault(raw: object) -> Fault:
    """Validate one fault description from the admin API."""
    fault = _parse(raw)
    assert isinstance(raw, dict)
    return replace(fault, raw=dict(raw))


def _parse(raw: object) -> Fault:
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        raise bad_request(f"each fault needs a kind, one of {', '.join(KINDS)}", "kind")
    return _PARSERS.get(raw["kind"], _parse_plain)(raw)


def _parse_status(raw: dict[str, Any]) -> Fault:
    retry_after = raw.get("retryAfter")
    if retry_after is not None:
        retry_after = _int(raw, "retryAfter", 0, 0, 86400)
    return Fault(
        "status",
        status=_int(raw, "status", 503, 100, 599),
        retry_after=retry_after,
        body=_text(raw, "body"),
        content_type=_text(raw, "contentType"),
    )


def _parse_html(raw: dict[str, Any]) -> Fault:
    return Fault("html", status=_int(raw, "status", 200, 100, 599), body=_text(raw, "body"))


def _parse_reset(raw: dict[str, Any]) -> Fault:
    return Fault("reset", after_bytes=_int(raw, "afterBytes", 0, 0, 1 << 62))


def _parse_redirect(raw: dict[str, Any]) -> Fault:
    location = _text(raw, "location")
    if not location:
        raise bad_request("a redirect fault needs a location", "location")
    return Fault("redirect", status=_int(raw, "status", 302, 300, 399), location=location)


def _parse_delay(raw: dict[str, Any]) -> Fault:
    seconds = raw.get("seconds", 1)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 600:
        raise bad_request("a delay fault needs seconds from 0 to 600", "seconds")
    return Fault("delay", seconds=float(seconds))


def _parse_slow(raw: dict[str, Any]) -> Fault:
    return Fault("slow", bytes_per_second=_int(raw, "bytesPerSecond", 65536, 1, 1 << 40))


def _parse_plain(raw: dict[str, Any]) -> Fault:
    """Kinds without parameters (``empty``)."""
    return Fault(raw["kind"])


_PARSERS: dict[str, Callable[[dict[str, Any]], Fault]] = {
    "status": _parse_status,
    "html": _parse_html,
    "reset": _parse_reset,
    "redirect": _parse_redirect,
    "delay": _parse_delay,
    "slow": _parse_slow,
}


class FaultBook:
    """FIFO queues of faults keyed by (document id or "*", target)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[tuple[str, str], deque[Fault]] = {}

    def add(self, document_id: str, target: str, faults: list[Fault]) -> int:
        with self._lock:
            queue = self._queues.setdefault((document_id, target), deque())
            queue.extend(faults)
            return len(queue)

    def take(self, document_id: str, target: str) -> Fault | None:
        keys = [(document_id, target), (document_id, "any"), ("*", target), ("*", "any")]
        with self._lock:
            for key in keys:
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
        return None

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"documentId": doc, "target": target, "faults": [f.raw for f in queue]}
                for (doc, target), queue in self._queues.items()
                if queue
            ]
