"""Loopback endpoints for the recording state callback tests, each started and stopped by its test.

``CallbackReceiver`` is a small HTTP server on 127.0.0.1 that records every POST and answers
with a chosen status; ``SilentListener`` accepts connections (through the kernel's backlog) and
never answers, the shape of a hung webhook; ``closed_port`` names a port nobody listens on.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Received:
    path: str  # path and query, as sent
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    status = 200
    received: list[Received]
    arrived: threading.Condition


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        item = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(body))
        with self.server.arrived:
            self.server.received.append(item)
            self.server.arrived.notify_all()
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


class CallbackReceiver:
    """Records POSTed callbacks; ``with CallbackReceiver() as receiver: ...`` stops it on exit."""

    def __init__(self, status: int = 200) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.status = status
        self._server.received = []
        self._server.arrived = threading.Condition()
        self._thread = threading.Thread(target=self._server.serve_forever, name="callback-receiver")

    def url(self, path: str = "/callbacks") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    @property
    def received(self) -> list[Received]:
        """Everything received so far."""
        with self._server.arrived:
            return list(self._server.received)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` callbacks, once they have all arrived (or fail after ``timeout``)."""
        with self._server.arrived:
            arrived = self._server.arrived.wait_for(lambda: len(self._server.received) >= count, timeout)
            received = list(self._server.received)
        assert arrived, f"expected {count} callbacks within {timeout} s, got {len(received)}"
        return received[:count]

    def __enter__(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class SilentListener:
    """A listening socket that never accepts: connections open, requests are never answered."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)

    def url(self, path: str = "/callbacks") -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}{path}"

    def __enter__(self) -> SilentListener:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._socket.close()


def closed_port() -> int:
    """A loopback port that was free a moment ago and has no listener: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def wait_until(check: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Poll ``check()`` until it returns something truthy; return it (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, f"condition not met within {timeout} s"
            return result
        time.sleep(interval)
