"""The seed's Call Recording API: lifecycle and every documented error."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from archiver.acs_auth import sign_headers
from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess

CALLBACK = {"recordingStateCallbackUri": "https://callback.invalid/events"}


def start(admin: EmulatorAdmin, conversation: str = "conv-api", **body: Any) -> str:
    response = admin.call_api(
        "POST", f"/calling/conversations/{conversation}/Recordings", {**CALLBACK, **body}
    )
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["recordingId"] == payload["recordingInstanceId"]
    recording_id: str = payload["recordingId"]
    return recording_id


def state(admin: EmulatorAdmin, path: str) -> str:
    response = admin.call_api("GET", path)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"recordingId", "recordingState"}
    value: str = response.json()["recordingState"]
    return value


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "target", "details"}
    assert body["details"] == []
    return body


def test_lifecycle_start_pause_resume_stop(admin: EmulatorAdmin, emulator: EmulatorProcess) -> None:
    recording_id = start(admin, "conv-life")
    short = f"/calling/recordings/{recording_id}"
    long = f"/calling/conversations/conv-life/recordings/{recording_id}"
    assert state(admin, short) == "active"
    assert admin.call_api("POST", f"{short}/Pause").status_code == 200
    assert state(admin, long) == "paused"
    assert admin.call_api("POST", f"{long}/resume").status_code == 200
    assert state(admin, short) == "active"
    stopped = admin.call_api("DELETE", long)
    assert stopped.status_code == 200
    assert stopped.json()["recordingId"] == recording_id
    assert (emulator.state_dir / "events" / f"{stopped.json()['eventId']}.json").exists()
    assert state(admin, short) == "inactive"
    assert (emulator.state_dir / "recordings" / f"{recording_id}.json").exists()


def test_stop_while_paused_is_allowed(admin: EmulatorAdmin) -> None:
    recording_id = start(admin)
    assert admin.call_api("POST", f"/calling/recordings/{recording_id}/pause").status_code == 200
    assert admin.call_api("DELETE", f"/calling/recordings/{recording_id}").status_code == 200


def test_invalid_transitions_are_400(admin: EmulatorAdmin) -> None:
    recording_id = start(admin)
    base = f"/calling/recordings/{recording_id}"
    assert_error(admin.call_api("POST", f"{base}/resume"), 400)  # not paused
    assert admin.call_api("POST", f"{base}/pause").status_code == 200
    assert_error(admin.call_api("POST", f"{base}/pause"), 400)  # already paused
    assert admin.call_api("DELETE", base).status_code == 200
    assert_error(admin.call_api("POST", f"{base}/pause"), 400)  # stopped
    assert_error(admin.call_api("POST", f"{base}/resume"), 400)
    body = assert_error(admin.call_api("DELETE", base), 400)  # stopped twice
    assert body["code"] == "BadRequest"


def test_unknown_recording_is_404(admin: EmulatorAdmin) -> None:
    for method, path in [
        ("GET", "/calling/recordings/nope"),
        ("POST", "/calling/recordings/nope/pause"),
        ("POST", "/calling/recordings/nope/resume"),
        ("DELETE", "/calling/recordings/nope"),
    ]:
        assert assert_error(admin.call_api(method, path), 404)["code"] == "NotFound"


def test_recording_under_another_conversation_is_404(admin: EmulatorAdmin) -> None:
    recording_id = start(admin, "conv-a")
    assert_error(admin.call_api("GET", f"/calling/conversations/conv-b/recordings/{recording_id}"), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"recordingContentType": "audio", "recordingChannelType": "unmixed", "recordingFormatType": "mp4"},
        {"recordingContentType": "audioVideo", "recordingChannelType": "mixed", "recordingFormatType": "wav"},
        {"recordingContentType": "audioVideo", "recordingChannelType": "unmixed"},
        {"recordingContentType": "audio", "recordingChannelType": "unmixed", "recordingFormatType": "mp3"},
        {"recordingFormatType": "flac"},
        {"recordingContentType": 3},
        {"participants": []},
        {"participants": "8:acs:x"},
        {"chunkCount": 0},
    ],
)
def test_invalid_start_requests_are_400(admin: EmulatorAdmin, body: dict[str, Any]) -> None:
    response = admin.call_api("POST", "/calling/conversations/c/recordings", {**CALLBACK, **body})
    assert_error(response, 400)


def test_start_needs_a_callback_and_json(admin: EmulatorAdmin) -> None:
    assert_error(admin.call_api("POST", "/calling/conversations/c/recordings", {}), 400)
    response = admin.signed_request("POST", "/calling/conversations/c/recordings", body=b"{not json")
    assert_error(response, 400)


def test_enums_are_case_insensitive(admin: EmulatorAdmin) -> None:
    start(
        admin,
        recordingContentType="AUDIO",
        recordingChannelType="Unmixed",
        recordingFormatType="WAV",
    )


def test_api_version_query_is_accepted(admin: EmulatorAdmin) -> None:
    response = admin.call_api(
        "POST", "/calling/conversations/c/recordings?api-version=2021-04-15-preview1", CALLBACK
    )
    assert response.status_code == 200


def test_unsigned_request_is_401(admin: EmulatorAdmin) -> None:
    response = admin.http.post(f"{admin.url}/calling/conversations/c/recordings", json=CALLBACK)
    body = assert_error(response, 401)
    assert body["code"] == "Unauthorized"


def test_wrong_key_is_401_with_the_reason(admin: EmulatorAdmin) -> None:
    other = EmulatorAdmin(admin.url, access_key="d3Jvbmcta2V5", resource_host=admin.resource_host)
    with other:
        body = assert_error(other.call_api("POST", "/calling/conversations/c/recordings", CALLBACK), 401)
    assert "signature mismatch" in body["message"]


def test_body_is_part_of_the_signature(admin: EmulatorAdmin) -> None:
    url = f"{admin.url}/calling/conversations/c/recordings"
    headers = admin.signed_headers("POST", url, b'{"recordingStateCallbackUri": "https://a.invalid"}')
    response = admin.http.post(
        url, content=b'{"recordingStateCallbackUri": "https://b.invalid"}', headers=headers
    )
    assert "x-ms-content-sha256" in assert_error(response, 401)["message"]


def test_wrong_resource_host_is_401(admin: EmulatorAdmin) -> None:
    other = EmulatorAdmin(
        admin.url, access_key=admin.access_key, resource_host="fabrikam.communication.azure.com"
    )
    with other:
        body = assert_error(other.call_api("GET", "/calling/recordings/x"), 401)
    assert "x-ms-host" in body["message"]


def test_stale_date_is_401(admin: EmulatorAdmin, emulator: EmulatorProcess) -> None:
    url = f"{admin.url}/calling/recordings/x"
    key = base64.b64decode(emulator.access_key)
    headers = sign_headers(
        "GET", url, acs_host=admin.resource_host, key=key, date="Mon, 01 Jan 2024 00:00:00 GMT"
    )
    body = assert_error(admin.http.get(url, headers=headers), 401)
    assert "skew" in body["message"]


def test_unknown_path_is_404_with_error_body(admin: EmulatorAdmin) -> None:
    assert_error(admin.signed_request("GET", "/nothing/here"), 404)
