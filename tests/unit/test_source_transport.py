"""The source transport's batched TLS reads: fewer pieces, never a wait for bytes not yet sent.

A real TLS server on 127.0.0.1 (certificates from the emulator's own generator) answers on a
kept-alive connection; the client is ``SourceTransport`` as the archiver builds it.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from archiver.dev.emulator.tls import TlsFiles, make_certificates, server_context
from archiver.transport import SourceTransport

HOST = "us-storage.asm.skype.com"
BODY = os.urandom(1024 * 1024 + 123)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certificates(tmp_path_factory.mktemp("tls"), (HOST,))


def _serve(listener: socket.socket, context: ssl.SSLContext, answer: Callable[[ssl.SSLSocket], None]) -> None:
    """Answer every request on one kept-alive connection until the client closes it."""
    raw, _ = listener.accept()
    try:
        conn = context.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError):  # the client refused our certificate: nothing to serve
        raw.close()
        return
    with conn:
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                try:
                    data = conn.recv(65536)
                except OSError:  # the answer closed the connection
                    return
                if not data:
                    return
                buffer += data
            _, buffer = buffer.split(b"\r\n\r\n", 1)
            answer(conn)


@pytest.fixture
def server(tls_files: TlsFiles) -> Iterator[Callable[[Callable[[ssl.SSLSocket], None]], str]]:
    listener = socket.create_server(("127.0.0.1", 0))
    threads: list[threading.Thread] = []

    def start(answer: Callable[[ssl.SSLSocket], None]) -> str:
        thread = threading.Thread(
            target=_serve, args=(listener, server_context(tls_files), answer), daemon=True
        )
        thread.start()
        threads.append(thread)
        return f"https://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    listener.close()
    for thread in threads:
        thread.join(timeout=5)


def _client(tls_files: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> httpx.Client:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.ca_file))
    return httpx.Client(transport=SourceTransport(httpx.Limits()), timeout=httpx.Timeout(5.0))


def _get(client: httpx.Client, url: str) -> list[bytes]:
    request = client.build_request("GET", url + "/media", extensions={"sni_hostname": HOST})
    response = client.send(request, stream=True)
    try:
        return list(response.iter_bytes())
    finally:
        response.close()


def test_a_body_arrives_whole_in_fewer_pieces_than_tls_records(
    server: Callable[[Callable[[ssl.SSLSocket], None]], str],
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def answer(conn: ssl.SSLSocket) -> None:
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(BODY)}\r\n\r\n".encode() + BODY)

    url = server(answer)
    with _client(tls_files, monkeypatch) as client:
        pieces = _get(client, url)
        again = _get(client, url)  # the same kept-alive connection serves a second request
    assert b"".join(pieces) == BODY and b"".join(again) == BODY
    records = len(BODY) // 16384 + 1
    assert len(pieces) < records  # records that had already arrived were taken together
    assert max(len(piece) for piece in pieces) > 16384


def test_a_body_followed_by_the_server_closing_arrives_whole(
    server: Callable[[Callable[[ssl.SSLSocket], None]], str],
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The end of the stream met while collecting records costs none of the records."""

    def answer(conn: ssl.SSLSocket) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(BODY)}\r\nConnection: close\r\n\r\n"
        conn.sendall(head.encode() + BODY)
        conn.shutdown(socket.SHUT_RDWR)

    url = server(answer)
    with _client(tls_files, monkeypatch) as client:
        assert b"".join(_get(client, url)) == BODY


def test_a_read_returns_what_has_arrived_without_waiting_for_the_rest(
    server: Callable[[Callable[[ssl.SSLSocket], None]], str],
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server sends half the body, pauses, then the rest: the first half is not held back."""
    seen: list[float] = []
    half = len(BODY) // 2

    def answer(conn: ssl.SSLSocket) -> None:
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(BODY)}\r\n\r\n".encode() + BODY[:half])
        time.sleep(1.0)
        seen.append(time.monotonic())
        conn.sendall(BODY[half:])

    url = server(answer)
    received = 0
    before_pause = 0
    with _client(tls_files, monkeypatch) as client:
        request = client.build_request("GET", url + "/media", extensions={"sni_hostname": HOST})
        response = client.send(request, stream=True)
        body = bytearray()
        for piece in response.iter_bytes():
            body += piece
            received += len(piece)
            if not seen:
                before_pause = received
        response.close()
    assert bytes(body) == BODY
    assert before_pause == half  # everything sent before the pause was handed over during it


def test_a_certificate_for_another_name_is_refused(
    server: Callable[[Callable[[ssl.SSLSocket], None]], str],
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = server(lambda conn: None)
    with _client(tls_files, monkeypatch) as client, pytest.raises(httpx.ConnectError):
        request = client.build_request("GET", url + "/media", extensions={"sni_hostname": "evil.example.com"})
        client.send(request)


def test_a_body_that_stalls_ends_in_a_read_timeout(
    server: Callable[[Callable[[ssl.SSLSocket], None]], str],
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The source's read timeout still applies under TLS: a stalled body is an error, not a hang."""
    release = threading.Event()

    def answer(conn: ssl.SSLSocket) -> None:
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(BODY)}\r\n\r\n".encode() + BODY[:1000])
        release.wait(10)

    url = server(answer)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.ca_file))
    client = httpx.Client(transport=SourceTransport(httpx.Limits()), timeout=httpx.Timeout(0.5))
    try:
        with pytest.raises(httpx.ReadTimeout):
            _get(client, url)
    finally:
        release.set()
        client.close()


def test_a_connection_cut_mid_body_is_a_transport_error(
    server: Callable[[Callable[[ssl.SSLSocket], None]], str],
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cut after part of the body surfaces as httpx's transport error, which the source resumes."""

    def answer(conn: ssl.SSLSocket) -> None:
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(BODY)}\r\n\r\n".encode() + BODY[:100_000])
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()  # linger 0: a reset, not a clean close

    url = server(answer)
    with _client(tls_files, monkeypatch) as client, pytest.raises(httpx.TransportError):
        _get(client, url)
