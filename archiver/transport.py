"""The source's HTTP transport: httpx's own, reading a TLS body in fewer, larger pieces.

A TLS socket's ``recv`` returns at most one TLS record (16 KiB), so httpx hands a media body
over in 16 KiB pieces, and every piece climbs through httpcore, h11 and httpx, then through
the copy (CRC64, block fill): a quarter of the copy's download CPU was that climb, per record.
Here each read first waits for data as httpcore always does, then also takes, without
waiting, the records that have already arrived, up to the size httpcore asked for (64 KiB).
Nothing else changes: same pool, limits, TLS verification, timeouts and error mapping.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable

import httpcore
import httpx


def _waiting_records(sock: ssl.SSLSocket, want: int, timeout: float | None) -> list[bytes]:
    """Records already received on ``sock``, up to ``want`` bytes, without blocking.

    Stops at the first thing that is not a waiting record: nothing there yet, the end of the
    stream, or an error. What was collected is returned either way, and the next (blocking)
    read meets the same condition and reports it through httpcore's own error mapping, so an
    error can never cost bytes already received.
    """
    pieces: list[bytes] = []
    sock.setblocking(False)
    try:
        while want > 0:
            try:
                piece = sock.recv(want)
            except OSError:  # SSLWantReadError (nothing waiting), EOF, reset: all end the batch
                break
            if not piece:
                break
            pieces.append(piece)
            want -= len(piece)
    finally:
        sock.settimeout(timeout)
    return pieces


class _BatchedStream(httpcore.NetworkStream):
    """A network stream whose reads on TLS return every record that is already there."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._inner.read(max_bytes, timeout)  # blocks, with httpcore's own error mapping
        sock = self._inner.get_extra_info("socket")
        if not data or len(data) >= max_bytes or not isinstance(sock, ssl.SSLSocket):
            return data
        more = _waiting_records(sock, max_bytes - len(data), timeout)
        return b"".join([data, *more]) if more else data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _BatchedStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class _BatchedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, with every stream it opens batched."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        return _BatchedStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class SourceTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` (TLS verified, environment trusted) over the batched backend.

    httpx builds its connection pool without a way to name the network backend, so the pool
    is rebuilt here with the same settings plus the backend (pinned httpx <0.29; the tests
    download through this transport over TLS).
    """

    def __init__(self, limits: httpx.Limits) -> None:
        context = httpx.create_ssl_context()  # verified; SSL_CERT_FILE honoured, as httpx does
        super().__init__(verify=context, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_BatchedBackend(),
        )
