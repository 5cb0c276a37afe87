"""Injected faults: each kind behaves as specified, and queues are consumed in order."""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from archiver.dev.emulator.client import EmulatorAdmin

SIZE = 100_000


@pytest.fixture
def doc(admin: EmulatorAdmin) -> dict[str, Any]:
    seeded: dict[str, Any] = admin.seed_document(document_id="0-eus-d6-faults", format="mp4", size_bytes=SIZE)
    return seeded


def get(admin: EmulatorAdmin, url: str, **headers: str) -> httpx.Response:
    return admin.signed_request("GET", url, headers=headers or None)


def assert_healthy(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    response = get(admin, doc["contentLocation"])
    assert response.status_code == 200 and len(response.content) == SIZE


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 401, 403, 404])
def test_status_faults(admin: EmulatorAdmin, doc: dict[str, Any], status: int) -> None:
    admin.inject(doc["documentId"], "content", {"kind": "status", "status": status, "retryAfter": 2})
    response = get(admin, doc["contentLocation"])
    assert response.status_code == status
    assert response.headers["retry-after"] == "2"
    assert set(response.json()) == {"code", "message", "target", "details"}
    assert_healthy(admin, doc)  # one fault, one request


def test_status_fault_with_an_html_body(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    page = "<html><body>Bad Request</body></html>"
    admin.inject(
        doc["documentId"],
        "content",
        {"kind": "status", "status": 400, "body": page, "contentType": "text/html"},
    )
    response = get(admin, doc["contentLocation"])
    assert (response.status_code, response.text, response.headers["content-type"]) == (400, page, "text/html")
    assert "retry-after" not in response.headers


def test_empty_fault_is_a_200_with_no_bytes(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    admin.inject(doc["documentId"], "content", {"kind": "empty"})
    response = get(admin, doc["contentLocation"])
    assert (response.status_code, response.headers["content-length"], response.content) == (200, "0", b"")
    assert response.headers["content-type"] == "video/mp4"
    assert_healthy(admin, doc)


def test_html_fault_is_a_200_web_page(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    admin.inject(doc["documentId"], "content", {"kind": "html", "status": 200})
    response = get(admin, doc["contentLocation"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def test_redirect_fault(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    target = f"{admin.url}/elsewhere"
    admin.inject(doc["documentId"], "content", {"kind": "redirect", "status": 307, "location": target})
    response = get(admin, doc["contentLocation"])
    assert (response.status_code, response.headers["location"]) == (307, target)


def test_delay_fault_then_serves_normally(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    admin.inject(doc["documentId"], "content", {"kind": "delay", "seconds": 0.5})
    began = time.monotonic()
    response = get(admin, doc["contentLocation"])
    assert time.monotonic() - began >= 0.5
    assert response.status_code == 200 and len(response.content) == SIZE


def test_slow_fault_throttles_the_body(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    admin.inject(doc["documentId"], "content", {"kind": "slow", "bytesPerSecond": 200_000})
    began = time.monotonic()
    response = get(admin, doc["contentLocation"])
    elapsed = time.monotonic() - began
    assert response.status_code == 200 and len(response.content) == SIZE
    assert 0.4 <= elapsed < 5


def test_reset_fault_sends_n_bytes_then_a_tcp_reset(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    admin.inject(doc["documentId"], "content", {"kind": "reset", "afterBytes": 1000})
    with pytest.raises(httpx.TransportError):
        get(admin, doc["contentLocation"])
    last = admin.stats()["requests"][-1]
    assert (last["status"], last["bytesSent"]) == (200, 1000)
    assert_healthy(admin, doc)


def test_reset_fault_is_a_reset_not_a_clean_close(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    """On the wire: the full Content-Length is promised, then the connection is reset."""
    admin.inject(doc["documentId"], "content", {"kind": "reset", "afterBytes": 0})
    url = doc["contentLocation"]
    parts = urlsplit(url)
    headers = admin.signed_headers("GET", url)
    request = f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    request += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(request.encode())
        received = b""
        with pytest.raises(ConnectionResetError):
            while True:
                piece = connection.recv(65536)
                if not piece:
                    break  # a clean close would end here, failing the test
                received += piece
    if received:  # the headers may or may not arrive before the reset is processed
        assert received.startswith(b"HTTP/1.1 200") and f"Content-Length: {SIZE}".encode() in received


def test_faults_are_fifo_and_per_target(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    admin.inject(
        doc["documentId"], "content", {"kind": "status", "status": 503}, {"kind": "status", "status": 500}
    )
    admin.inject(doc["documentId"], "metadata", {"kind": "status", "status": 429})
    assert get(admin, doc["metadataLocation"]).status_code == 429
    assert get(admin, doc["metadataLocation"]).status_code == 200
    assert get(admin, doc["contentLocation"]).status_code == 503
    assert get(admin, doc["downloadLocation"]).status_code == 500  # the seed's URL is the same content
    assert_healthy(admin, doc)


def test_any_target_and_any_document(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    other = admin.seed_document(size_bytes=10)
    admin.inject("*", "any", {"kind": "status", "status": 502})
    assert get(admin, other["metadataLocation"]).status_code == 502
    admin.inject(doc["documentId"], "any", {"kind": "status", "status": 500})
    response = admin.signed_request("DELETE", doc["deleteLocation"])
    assert response.status_code == 500
    assert_healthy(admin, doc)  # a failed delete deleted nothing
    assert admin.signed_request("DELETE", doc["deleteLocation"]).status_code == 200


def test_specific_faults_come_before_wildcards(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    admin.inject("*", "content", {"kind": "status", "status": 502})
    admin.inject(doc["documentId"], "content", {"kind": "status", "status": 503})
    assert get(admin, doc["contentLocation"]).status_code == 503
    assert get(admin, doc["contentLocation"]).status_code == 502


def test_unsigned_requests_do_not_consume_faults(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    admin.inject(doc["documentId"], "content", {"kind": "status", "status": 503})
    assert admin.http.get(doc["contentLocation"]).status_code == 401
    assert get(admin, doc["contentLocation"]).status_code == 503


def test_clear_faults_and_pending(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    admin.inject(doc["documentId"], "content", {"kind": "empty"}, {"kind": "delay", "seconds": 1})
    [pending] = admin.pending_faults()
    assert (pending["documentId"], pending["target"], len(pending["faults"])) == (
        doc["documentId"],
        "content",
        2,
    )
    admin.clear_faults()
    assert admin.pending_faults() == []
    assert_healthy(admin, doc)


@pytest.mark.parametrize(
    "body",
    [
        {"documentId": "x", "target": "content", "faults": [{"kind": "explode"}]},
        {"documentId": "x", "target": "everything", "faults": [{"kind": "empty"}]},
        {"documentId": "x", "target": "content", "faults": []},
        {"documentId": "x", "target": "content", "faults": [{"kind": "status", "status": 999}]},
        {"documentId": "x", "target": "content", "faults": [{"kind": "redirect"}]},
        {"target": "content", "faults": [{"kind": "empty"}]},
    ],
)
def test_invalid_faults_are_rejected(admin: EmulatorAdmin, body: dict[str, Any]) -> None:
    assert admin.http.post(f"{admin.url}/_emulator/faults", json=body).status_code == 400


def test_reset_applies_to_metadata_too(admin: EmulatorAdmin, doc: dict[str, Any]) -> None:
    admin.inject(doc["documentId"], "metadata", {"kind": "reset", "afterBytes": 10})
    with pytest.raises(httpx.TransportError):
        get(admin, doc["metadataLocation"])
    assert get(admin, doc["metadataLocation"]).status_code == 200
