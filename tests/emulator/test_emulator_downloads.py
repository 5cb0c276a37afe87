"""Serving documents: both URL families, ranges, raw metadata, deletion, auth and stats."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from emulator_media import check_mp4

from archiver.acs_auth import sign_headers
from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
SAMPLE_DOCUMENT = "0-eus-d6-3b9f2c7e8a1d4f50b6c2e9a7d8f01234"


def assert_error(response_status: int, body: bytes, status: int) -> None:
    assert response_status == status
    assert set(json.loads(body)) == {"code", "message", "target", "details"}


def test_sample_document_is_served_with_its_raw_metadata(admin: EmulatorAdmin) -> None:
    raw = (SAMPLES / "metadata-documented.json").read_text()
    seeded = admin.seed_document(document_id=SAMPLE_DOCUMENT, format="mp4", metadata=raw, size_bytes=4096)
    assert seeded["documentId"] == SAMPLE_DOCUMENT
    for url in (seeded["metadataLocation"], seeded["metadataDownloadLocation"]):
        response = admin.signed_request("GET", url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.content == raw.encode()
    for url in (seeded["contentLocation"], seeded["downloadLocation"]):
        response = admin.signed_request("GET", url)
        assert response.headers["content-type"] == "video/mp4"
        assert len(response.content) == seeded["size"] == 4096
        assert hashlib.sha256(response.content).hexdigest() == seeded["sha256"]


def test_seeded_documents_default_to_generated_media(admin: EmulatorAdmin) -> None:
    seeded = admin.seed_document(duration_ms=2000)
    response = admin.signed_request("GET", seeded["contentLocation"])
    assert seeded["contentLocation"].endswith("/content/video")
    check_mp4(response.content)
    metadata = admin.signed_request("GET", seeded["metadataLocation"]).json()
    assert metadata["chunkDuration"] == 2000
    assert hashlib.sha256(response.content).hexdigest() == seeded["sha256"]


def test_seeded_content_is_deterministic_per_document(admin: EmulatorAdmin) -> None:
    first = admin.seed_document(document_id="0-eus-d6-deterministic", size_bytes=100_000)
    again = admin.seed_document(document_id="0-eus-d6-deterministic", size_bytes=100_000)
    other = admin.seed_document(size_bytes=100_000)
    assert first["sha256"] == again["sha256"] != other["sha256"]


@pytest.mark.parametrize(
    ("header", "status", "start", "end"),
    [
        ("bytes=0-99", 206, 0, 99),
        ("bytes=9990-", 206, 9990, 9999),
        ("bytes=-5", 206, 9995, 9999),
        ("bytes=9000-20000", 206, 9000, 9999),
        ("bytes=5-2", 200, 0, 9999),  # malformed: ignored
        ("bytes=0-1,5-6", 200, 0, 9999),  # several ranges: whole file
        (None, 200, 0, 9999),
    ],
)
def test_ranges(admin: EmulatorAdmin, header: str | None, status: int, start: int, end: int) -> None:
    seeded = admin.seed_document(document_id="0-eus-d6-ranges", size_bytes=10_000)
    whole = admin.signed_request("GET", seeded["contentLocation"]).content
    response = admin.signed_request(
        "GET", seeded["contentLocation"], headers={"Range": header} if header else None
    )
    assert response.status_code == status
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.content == whole[start : end + 1]
    assert response.headers["accept-ranges"] == "bytes"
    if status == 206:
        assert response.headers["content-range"] == f"bytes {start}-{end}/10000"
    else:
        assert "content-range" not in response.headers


@pytest.mark.parametrize("header", ["bytes=10000-", "bytes=20000-30000", "bytes=-0"])
def test_unsatisfiable_range_is_416(admin: EmulatorAdmin, header: str) -> None:
    seeded = admin.seed_document(document_id="0-eus-d6-ranges", size_bytes=10_000)
    response = admin.signed_request("GET", seeded["contentLocation"], headers={"Range": header})
    assert_error(response.status_code, response.content, 416)
    assert response.headers["content-range"] == "bytes */10000"


def test_ranges_apply_to_metadata_too(admin: EmulatorAdmin) -> None:
    seeded = admin.seed_document(metadata='{"callId": "x"}')
    response = admin.signed_request("GET", seeded["metadataLocation"], headers={"Range": "bytes=1-8"})
    assert (response.status_code, response.content) == (206, b'"callId"')


def test_head_sends_headers_only(admin: EmulatorAdmin) -> None:
    seeded = admin.seed_document(format="mp3", size_bytes=777)
    response = admin.signed_request("HEAD", seeded["contentLocation"])
    assert response.status_code == 200
    assert response.headers["content-length"] == "777"
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.content == b""


def test_delete_location_deletes(admin: EmulatorAdmin) -> None:
    seeded = admin.seed_document(format="wav", size_bytes=10)
    assert admin.signed_request("DELETE", seeded["deleteLocation"]).status_code == 200
    for url in (seeded["contentLocation"], seeded["metadataLocation"], seeded["downloadLocation"]):
        response = admin.signed_request("GET", url)
        assert_error(response.status_code, response.content, 404)
    response = admin.signed_request("DELETE", seeded["deleteLocation"])
    assert_error(response.status_code, response.content, 404)


def test_forgotten_documents_are_gone(admin: EmulatorAdmin, emulator: EmulatorProcess) -> None:
    seeded = admin.seed_document(size_bytes=10)
    assert (emulator.state_dir / "documents" / seeded["documentId"]).is_dir()
    admin.forget_document(seeded["documentId"])
    response = admin.signed_request("GET", seeded["contentLocation"])
    assert_error(response.status_code, response.content, 404)
    assert json.loads(response.content)["code"] == "NotFound"
    assert not (emulator.state_dir / "documents" / seeded["documentId"]).exists()


def test_downloads_need_a_valid_signature_for_the_resource(
    admin: EmulatorAdmin, emulator: EmulatorProcess
) -> None:
    seeded = admin.seed_document(size_bytes=10)
    url = seeded["contentLocation"]
    key = base64.b64decode(emulator.access_key)
    cases = {
        "unsigned": {},
        "wrong key": sign_headers("GET", url, acs_host=admin.resource_host, key=b"wrong key"),
        "wrong x-ms-host": sign_headers("GET", url, acs_host="fabrikam.communication.azure.com", key=key),
        "stale date": sign_headers(
            "GET", url, acs_host=admin.resource_host, key=key, date="Mon, 01 Jan 2024 00:00:00 GMT"
        ),
        "other path": sign_headers("GET", seeded["metadataLocation"], acs_host=admin.resource_host, key=key),
    }
    for name, headers in cases.items():
        response = admin.http.get(url, headers=headers)
        assert response.status_code == 401, name
        assert json.loads(response.content)["code"] == "Unauthorized"


def test_stats_count_requests_and_bytes_but_not_admin_calls(admin: EmulatorAdmin) -> None:
    seeded = admin.seed_document(size_bytes=5000)
    admin.reset_stats()
    admin.signed_request("GET", seeded["contentLocation"])
    admin.signed_request("GET", seeded["downloadLocation"], headers={"Range": "bytes=0-999"})
    admin.http.get(seeded["contentLocation"])  # unsigned: logged as unauthorized, nothing served
    admin.seed_document(size_bytes=1)  # admin: not logged
    stats = admin.stats()
    assert stats["requestCount"] == 3
    assert stats["bytesServed"] == {seeded["documentId"]: 6000}
    full, ranged, unsigned = stats["requests"]
    assert (full["method"], full["status"], full["bytesSent"], full["authorized"]) == ("GET", 200, 5000, True)
    assert full["path"] == seeded["contentLocation"].removeprefix(admin.url)
    assert (ranged["status"], ranged["range"], ranged["bytesSent"]) == (206, "bytes=0-999", 1000)
    assert (unsigned["status"], unsigned["authorized"]) == (401, False)  # bytesSent: the error body
    admin.reset_stats()
    assert admin.stats() == {"requests": [], "bytesServed": {}, "requestCount": 0}


def test_admin_rejects_invalid_seeds(admin: EmulatorAdmin) -> None:
    import httpx

    for fields in (
        {"document_id": "../escape"},
        {"format": "ogg"},
        {"size_bytes": -1},
        {"metadata": {"a": 1}},
    ):
        with pytest.raises(httpx.HTTPStatusError) as caught:
            admin.seed_document(**fields)
        assert caught.value.response.status_code == 400
