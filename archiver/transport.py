"""The source's HTTP transport: httpx's own, with TLS read from the socket in large chunks.

Through ``ssl.SSLSocket`` every TLS record (at most 16 KiB) costs OpenSSL two ``read``
system calls and every ``recv`` hands httpx one record: for a media body that is four
system calls and one climb through httpcore, h11 and httpx per 16 KiB, a third of the copy's
download CPU. Here TLS runs over memory BIOs, as asyncio runs it: the socket is read 1 MiB at
a time into the incoming BIO and records are decrypted from memory, so a read returns every
record that has already arrived (up to what httpcore asks for) and blocks only when none has.
The TLS itself is Python's: same ``SSLContext`` (certificates verified, SNI, hostname checked
during the handshake), same pool, limits and timeouts, and socket errors mapped to httpcore's
as its own streams map them.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import Iterable

import httpcore
import httpx

RAW_READ_BYTES = 1024 * 1024


class _TlsStream(httpcore.NetworkStream):
    """TLS over a connected socket through memory BIOs."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, server_hostname: str | None) -> None:
        self._sock = sock
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        self._raw = bytearray(RAW_READ_BYTES)

    # Moving bytes between the socket and the BIOs -------------------------------------

    def _flush(self, timeout: float | None) -> None:
        data = self._outgoing.read()
        if data:
            try:
                self._sock.settimeout(timeout)
                self._sock.sendall(data)
            except TimeoutError as exc:
                raise httpcore.WriteTimeout(exc) from exc
            except OSError as exc:
                raise httpcore.WriteError(exc) from exc

    def _receive(self, timeout: float | None) -> None:
        """Wait for bytes from the socket and feed them to TLS (end of stream included)."""
        try:
            self._sock.settimeout(timeout)
            count = self._sock.recv_into(self._raw)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.ReadError(exc) from exc
        if count:
            self._incoming.write(memoryview(self._raw)[:count])
        else:
            self._incoming.write_eof()

    def handshake(self, timeout: float | None) -> _TlsStream:
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush(timeout)
                self._receive(timeout)
            except (ssl.SSLError, httpcore.ReadError) as exc:  # certificate refused, protocol, reset
                raise httpcore.ConnectError(exc) from exc
            except httpcore.ReadTimeout as exc:
                raise httpcore.ConnectTimeout(exc) from exc
        self._flush(timeout)
        return self

    # httpcore's NetworkStream -----------------------------------------------------------

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Every decrypted byte already here, up to ``max_bytes``; waits only if there is none.

        b"" at the end of the stream, as ``SSLSocket`` with ragged EOFs suppressed returns it.
        """
        pieces: list[bytes] = []
        wanted = max_bytes
        while wanted > 0:
            try:
                piece = self._tls.read(wanted)
            except ssl.SSLWantReadError:
                if pieces:
                    break
                self._receive(timeout)
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
            except ssl.SSLError as exc:  # a damaged or forged record
                raise httpcore.ReadError(exc) from exc
            if not piece:
                break
            pieces.append(piece)
            wanted -= len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        while view:
            try:
                written = self._tls.write(view)
            except ssl.SSLWantReadError:  # the peer must speak first (a key update)
                self._flush(timeout)
                self._receive(timeout)
                continue
            except ssl.SSLError as exc:
                raise httpcore.WriteError(exc) from exc
            view = view[written:]
            self._flush(timeout)

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.UnsupportedProtocol("TLS inside TLS (an HTTPS proxy) is not supported")

    def get_extra_info(self, info: str) -> object:
        if info == "ssl_object":
            return self._tls
        if info == "socket":
            return self._sock
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "is_readable":  # an idle pooled connection the server closed or wrote to
            return self._incoming.pending > 0 or bool(select.select([self._sock], [], [], 0)[0])
        return None


class _TcpStream(httpcore.NetworkStream):
    """httpcore's plain socket stream, upgraded to ``_TlsStream`` instead of ``SSLSocket``."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        sock = self._inner.get_extra_info("socket")
        try:
            return _TlsStream(sock, ssl_context, server_hostname).handshake(timeout)
        except BaseException:
            self._inner.close()
            raise

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, whose connections do TLS through ``_TlsStream``."""

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
        return _TcpStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class SourceTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` (TLS verified, environment trusted) over the chunked-TLS backend.

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
            network_backend=_Backend(),
        )
