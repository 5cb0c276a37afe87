"""A log of the requests that reached the emulated service (admin requests are not counted).

Tests use it to assert what a client did: how many requests, which ranges, whether they
were authorized and with which credential (``hmac`` or ``bearer``), and how many body bytes of
each document went out.
"""

from __future__ import annotations

import threading
from typing import Any

from archiver.dev.emulator.clock import acs_timestamp, utc_now


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._bytes_served: dict[str, int] = {}

    def record(
        self,
        *,
        method: str,
        path: str,
        status: int,
        bytes_sent: int,
        range_header: str | None,
        authorized: bool,
        document_id: str | None,
        credential: str | None = None,
    ) -> None:
        entry = {
            "method": method,
            "path": path,
            "status": status,
            "bytesSent": bytes_sent,
            "range": range_header,
            "authorized": authorized,
            "credential": credential,
            "time": acs_timestamp(utc_now()),
        }
        with self._lock:
            self._requests.append(entry)
            if document_id is not None and bytes_sent:
                self._bytes_served[document_id] = self._bytes_served.get(document_id, 0) + bytes_sent

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": list(self._requests),
                "bytesServed": dict(self._bytes_served),
                "requestCount": len(self._requests),
            }

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._bytes_served.clear()
