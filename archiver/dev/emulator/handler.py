"""The HTTP request handler: parse, authenticate, dispatch, and send the response.

Media goes out with ``socket.sendfile`` (zero-copy ``os.sendfile`` on Linux) straight from
the file on disk, so multi-GB documents stream at disk speed with flat memory; over TLS it is
read and encrypted in large pieces (``sendfile`` cannot encrypt, and the standard library's
fallback would send 8 KiB at a time). The handler is
also where the transport-level faults happen: throttling and aborting with a TCP reset.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import ssl
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from archiver.dev.emulator import routes
from archiver.dev.emulator.app import Emulator
from archiver.dev.emulator.auth import authenticate
from archiver.dev.emulator.errors import ApiError, not_found
from archiver.dev.emulator.http_types import Request, Response, error_response

MAX_BODY_BYTES = 64 << 20
_COPY_PIECE = 1 << 20
TLS_HANDSHAKE_SECONDS = 30.0


class EmulatorServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the shared ``Emulator`` state."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self, address: tuple[str, int], emulator: Emulator, tls: ssl.SSLContext | None = None
    ) -> None:
        super().__init__(address, EmulatorRequestHandler)
        self.emulator = emulator
        self.tls = tls

    def finish_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        """With TLS, the handshake happens here, on the connection's own thread.

        Wrapping the listening socket instead would run every handshake on the accept loop,
        where one slow or failing client would hold up all the others.
        """
        if self.tls is None or not isinstance(request, socket.socket):
            super().finish_request(request, client_address)
            return
        request.settimeout(TLS_HANDSHAKE_SECONDS)
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:  # a client that refused our certificate, say
            sys.stderr.write(f"emulator: TLS handshake with {client_address} failed: {exc}\n")
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            self.shutdown_request(wrapped)  # the plain socket it came from is detached


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the service and httpx use
    # Headers and body go out in separate writes: with Nagle on, a small body waits for the
    # client's delayed ACK (~40 ms on Linux) on every metadata request. The service has no such stall.
    disable_nagle_algorithm = True
    server_version = "acs-recording-emulator"
    sys_version = ""
    timeout = 120  # a stalled client must not hold a thread for ever
    server: EmulatorServer

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"emulator: {self.address_string()} {format % args}\n")

    def _handle(self) -> None:
        app = self.server.emulator
        path = urlsplit(self.path).path
        admin = routes.is_admin_path(path)
        request = Request(
            method=self.command,
            target=self.path,
            path=path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=b"",
        )
        response, credential = self._answer(app, request, admin)
        client_request_id = request.headers.get("x-ms-client-request-id")
        if client_request_id and not admin:  # the service echoes it; SDK logs correlate by it
            response.headers.setdefault("x-ms-client-request-id", client_request_id)
        sent = self._send(response)
        if not admin:
            app.log.record(
                method=self.command,
                path=self.path,
                status=response.status,
                bytes_sent=sent,
                range_header=self.headers.get("Range"),
                authorized=credential is not None,
                document_id=response.document_id,  # set only when a document's bytes are sent
                credential=credential,
            )

    def _answer(self, app: Emulator, request: Request, admin: bool) -> tuple[Response, str | None]:
        """Authenticate and dispatch; return the response and the credential kind that passed.

        Any error becomes the service's error body in the shape of the API the request is for
        (``routes.error_style``), so each SDK can read the errors of its own API.
        """
        found = routes.match(request.method, request.path)
        credential: str | None = None
        try:
            request = dataclasses.replace(request, body=self._read_body())
            if not admin:
                credential = authenticate(app, request)
            if found is None:
                raise not_found(f"no such resource: {request.method} {request.path}")
            route, params = found
            return route.handler(app, request, params), credential
        except ApiError as error:
            failure = error
        except Exception as exc:  # noqa: BLE001 - a bug must answer 500, not kill the connection
            print(
                f"emulator: error handling {self.command} {self.path}: {exc!r}", file=sys.stderr, flush=True
            )
            failure = ApiError(500, "InternalServerError", str(exc))
        return error_response(failure, routes.error_style(found[0] if found else None, request)), credential

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise ApiError(411, "LengthRequired", "send the body with a Content-Length")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise ApiError(400, "BadRequest", "Content-Length is not a number") from None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise ApiError(413, "PayloadTooLarge", f"bodies are limited to {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, response: Response) -> int:
        """Send the response; return how many body bytes went out."""
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(response.length))
        self.end_headers()
        if self.command == "HEAD":
            return 0
        limit = response.length
        if response.reset_after is not None:
            limit = min(limit, response.reset_after)
        try:
            if limit == 0:
                sent = 0
            elif response.file is not None:
                with response.file.open("rb") as source:
                    sent = self._send_file(source, response.file_offset, limit, response.bytes_per_second)
            else:
                sent = self._send_bytes(response.body[:limit], response.bytes_per_second)
        except FileNotFoundError:  # forgotten while the headers went out
            self._abort()
            return 0
        except OSError:  # the client went away
            self.close_connection = True
            return 0
        if response.reset_after is not None:
            self._abort()
        return sent

    def _send_file(self, source: BinaryIO, offset: int, count: int, rate: int | None) -> int:
        if count <= 0:
            return 0  # socket.sendfile would read a count of 0 as "to the end of the file"
        if rate is None and not isinstance(self.connection, ssl.SSLSocket):
            return int(self.connection.sendfile(source, offset, count))
        if rate is None:
            return self._send_file_tls(source, offset, count)
        source.seek(offset)
        sent = 0
        while sent < count:
            piece = source.read(min(count - sent, _COPY_PIECE))
            if not piece:
                break
            sent += self._send_bytes(piece, rate)
        return sent

    def _send_file_tls(self, source: BinaryIO, offset: int, count: int) -> int:
        """Read into one reused buffer and encrypt from it: no per-piece allocation."""
        source.seek(offset)
        buffer = bytearray(_COPY_PIECE)
        view = memoryview(buffer)
        sent = 0
        while sent < count:
            read = source.readinto(view[: min(count - sent, _COPY_PIECE)])  # type: ignore[attr-defined]
            if not read:
                break
            self.connection.sendall(view[:read])
            sent += read
        return sent

    def _send_bytes(self, data: bytes, rate: int | None) -> int:
        if rate is None:
            self.connection.sendall(data)
            return len(data)
        step = max(1, rate // 10)  # ten writes a second
        for start in range(0, len(data), step):
            began = time.monotonic()
            piece = data[start : start + step]
            self.connection.sendall(piece)
            time.sleep(max(0.0, len(piece) / rate - (time.monotonic() - began)))
        return len(data)

    def _abort(self) -> None:
        """Drop the connection with a TCP reset (SO_LINGER 0), not an orderly close."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # The file objects still hold the socket; it really closes (with the RST) in finish().
        self.connection.close()
