"""Today's API: authentication as the service accepts it, and errors in each API's own shape.

The SDK signs calls to the resource's own endpoint for their ``Host`` and sends no
``x-ms-host`` (only downloads from storage hosts carry it); Entra ID tokens are accepted when
well formed for ``https://communication.azure.com/.default``.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from azure.communication.callautomation import CallAutomationClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError

from archiver.acs_auth import sign_headers
from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess
from archiver.dev.emulator.sdk import LocalTokenCredential, LoopbackTransport, unsigned_token

TODAY = "api-version=2026-03-12"
SCOPE = "https://communication.azure.com/.default"


def start_body(call: str = "aHR0cHM6Ly9leGFtcGxlLmludmFsaWQvYXV0aA") -> bytes:
    return json.dumps({"callLocator": {"kind": "serverCallLocator", "serverCallId": call}}).encode()


def endpoint_request(
    admin: EmulatorAdmin, method: str, path: str, *, host: str, body: bytes = b"", sign_for: str | None = None
) -> httpx.Response:
    """A request the way the SDK sends it to the endpoint: signed for ``Host``, no ``x-ms-host``."""
    assert admin.access_key is not None
    url = f"https://{host}{path}"
    headers = sign_headers(
        method, url, acs_host=sign_for or host, key=base64.b64decode(admin.access_key), body=body
    )
    del headers["x-ms-host"]
    headers |= {"Host": host, "Content-Type": "application/json"}
    return admin.http.request(method, f"{admin.url}{path}", content=body, headers=headers)


def bearer_request(
    admin: EmulatorAdmin, method: str, path: str, token: str, body: bytes = b""
) -> httpx.Response:
    """A request with an Entra ID token, naming the resource in ``x-ms-host`` (identity mode)."""
    headers = {"Authorization": f"Bearer {token}", "x-ms-host": admin.resource_host}
    headers |= {"Content-Type": "application/json"} if body else {}
    return admin.http.request(method, f"{admin.url}{path}", content=body, headers=headers)


def wrapped_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """Today's ``CommunicationErrorResponse``: the error's fields under ``error``."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "target", "details"}
    error: dict[str, Any] = body["error"]
    return error


# --- HMAC ----------------------------------------------------------------------------------------


def test_a_call_to_the_endpoint_is_signed_for_its_host_without_x_ms_host(admin: EmulatorAdmin) -> None:
    host = admin.resource_host
    started = endpoint_request(admin, "POST", f"/calling/recordings?{TODAY}", host=host, body=start_body())
    assert started.status_code == 200, started.text
    path = f"/calling/recordings/{started.json()['recordingId']}?{TODAY}"
    assert endpoint_request(admin, "GET", path, host=host).json()["recordingState"] == "active"
    assert endpoint_request(admin, "DELETE", path, host=host).status_code == 204


def test_a_call_for_another_host_is_refused(admin: EmulatorAdmin) -> None:
    # A storage host without x-ms-host: which resource is that for?
    other = endpoint_request(
        admin, "POST", f"/calling/recordings?{TODAY}", host="us-storage.asm.skype.com", body=start_body()
    )
    assert "x-ms-host" in wrapped_error(other, 401)["message"]
    # Signed for another host than the one it was sent to.
    wrong = endpoint_request(
        admin,
        "POST",
        f"/calling/recordings?{TODAY}",
        host=admin.resource_host,
        body=start_body(),
        sign_for="fabrikam.communication.azure.com",
    )
    error = wrapped_error(wrong, 401)
    assert (error["code"], error["message"]) == ("Unauthorized", "signature mismatch")


def test_the_sdk_with_a_wrong_key_gets_client_authentication_error(emulator: EmulatorProcess) -> None:
    wrong = base64.b64encode(b"not the resource's key").decode()
    client = CallAutomationClient.from_connection_string(
        f"endpoint=https://{emulator.resource_host}/;accesskey={wrong}",
        transport=LoopbackTransport(emulator.url),
    )
    with client, pytest.raises(ClientAuthenticationError) as caught:
        client.start_recording(server_call_id="aHR0cHM6Ly9leGFtcGxlLmludmFsaWQvd3Jvbmc")
    assert caught.value.status_code == 401 and "signature mismatch" in str(caught.value)


def test_the_sdk_pointed_at_the_emulators_own_address(emulator: EmulatorProcess) -> None:
    """No transport: the SDK signs for 127.0.0.1:PORT, which is the resource's endpoint here."""
    with CallAutomationClient(emulator.url, AzureKeyCredential(emulator.access_key)) as client:
        started = client.start_recording(group_call_id="5c1d7e2a-0000-4000-8000-00000000abcd")
        assert started.recording_state == "active"
        client.stop_recording(str(started.recording_id))


# --- Entra ID ------------------------------------------------------------------------------------


def test_the_sdk_with_a_token_credential_records(emulator: EmulatorProcess, admin: EmulatorAdmin) -> None:
    client = CallAutomationClient(
        f"https://{emulator.resource_host}", LocalTokenCredential(), transport=LoopbackTransport(emulator.url)
    )
    with client:
        started = client.start_recording(server_call_id="aHR0cHM6Ly9leGFtcGxlLmludmFsaWQvdG9rZW4")
        recording_id = str(started.recording_id)
        client.pause_recording(recording_id)
        assert client.get_recording_properties(recording_id).recording_state == "inactive"
        client.stop_recording(recording_id)
    assert admin.recording(recording_id)["recordingState"] == "inactive"


def test_a_token_downloads_with_x_ms_host(admin: EmulatorAdmin) -> None:
    """The archiver's identity mode: a Bearer token and x-ms-host on a storage URL."""
    seeded = admin.seed_document(size_bytes=321)
    path = seeded["contentLocation"].removeprefix(admin.url)
    response = bearer_request(admin, "GET", path, unsigned_token(SCOPE).token)
    assert response.status_code == 200 and len(response.content) == 321


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (unsigned_token("https://storage.azure.com/.default").token, "audience"),
        (unsigned_token(SCOPE, lifetime=-3600).token, "expired"),
        ("not-a-jwt", "well-formed"),
        ("e30.e30.", "well-formed"),  # no signature
        (".".join(["eyJhbGciOiJSUzI1NiJ9", "bm90IGpzb24", "c2ln"]), "well-formed"),  # payload is not JSON
        ("eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2NvbW11bmljYXRpb24uYXp1cmUuY29tIn0.c2ln", "exp"),
    ],
)
def test_a_bad_token_is_401_with_the_reason(admin: EmulatorAdmin, token: str, reason: str) -> None:
    response = bearer_request(admin, "POST", f"/calling/recordings?{TODAY}", token, start_body())
    error = wrapped_error(response, 401)
    assert reason in error["message"] and token not in error["message"]


def test_a_token_for_the_sdks_double_slash_scope_is_accepted(admin: EmulatorAdmin) -> None:
    """The SDK asks for ``https://communication.azure.com//.default`` (sic)."""
    token = unsigned_token("https://communication.azure.com//.default").token
    response = bearer_request(admin, "POST", f"/calling/recordings?{TODAY}", token, start_body())
    assert response.status_code == 200, response.text
    path = f"/calling/recordings/{response.json()['recordingId']}?{TODAY}"
    assert bearer_request(admin, "DELETE", path, token).status_code == 204


def test_without_credentials_the_reason_names_both_ways(admin: EmulatorAdmin) -> None:
    response = admin.http.post(f"{admin.url}/calling/recordings?{TODAY}", content=start_body())
    message = wrapped_error(response, 401)["message"]
    assert "HMAC-SHA256" in message and "Bearer" in message


# --- Error shapes per API, and the paths both APIs share ----------------------------------------


def test_errors_take_the_shape_of_the_api_version(admin: EmulatorAdmin) -> None:
    today = wrapped_error(admin.call_api("GET", f"/calling/recordings/nope?{TODAY}"), 404)
    assert (today["code"], today["target"]) == ("NotFound", "recordingId")
    seed = admin.call_api("GET", "/calling/recordings/nope")
    assert seed.status_code == 404 and set(seed.json()) == {"code", "message", "target", "details"}
    bad = wrapped_error(admin.call_api("POST", f"/calling/recordings?{TODAY}", {"callLocator": {}}), 400)
    assert bad["target"] == "callLocator"


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({}, "callLocator"),
        ({"callLocator": {"serverCallId": "a"}, "callConnectionId": "b"}, "callLocator"),
        ({"callLocator": {"kind": "groupCallLocator", "serverCallId": "a"}}, "callLocator"),
        ({"callLocator": {"kind": "phoneCallLocator", "serverCallId": "a"}}, "callLocator.kind"),
        ({"callLocator": {"kind": "serverCallLocator", "serverCallId": ""}}, "callLocator.serverCallId"),
        ({"callConnectionId": 7}, "callConnectionId"),
        ({"callConnectionId": "c", "pauseOnStart": "yes"}, "pauseOnStart"),
        (
            {"callConnectionId": "c", "recordingStateCallbackUri": "https://example.com/cb"},
            "recordingStateCallbackUri",
        ),
        ({"callConnectionId": "c", "externalStorage": {"recordingStorageKind": "floppy"}}, "externalStorage"),
        (
            {"callConnectionId": "c", "audioChannelParticipantOrdering": [{"kind": "unknown"}]},
            "audioChannelParticipantOrdering",
        ),
    ],
)
def test_bad_start_requests_are_400(admin: EmulatorAdmin, body: dict[str, Any], target: str) -> None:
    body = {**body, "recordingChannelType": "unmixed", "recordingContentType": "audio"}
    error = wrapped_error(admin.call_api("POST", f"/calling/recordings?{TODAY}", body), 400)
    assert error["target"].startswith(target), error


def test_shared_paths_answer_in_the_shapes_of_the_api_version(admin: EmulatorAdmin) -> None:
    seed_started = admin.call_api(
        "POST",
        "/calling/conversations/conv-shared/recordings",
        {"recordingStateCallbackUri": "https://cb.invalid/"},
    ).json()["recordingId"]
    assert admin.call_api("POST", f"/calling/recordings/{seed_started}:pause?{TODAY}").status_code == 202
    todays = admin.call_api("GET", f"/calling/recordings/{seed_started}?{TODAY}").json()
    assert todays == {
        "recordingId": seed_started,
        "recordingState": "inactive",
        "recordingKind": "azureCommunicationServices",
    }
    seeds = admin.call_api("GET", f"/calling/recordings/{seed_started}").json()
    assert seeds == {"recordingId": seed_started, "recordingState": "paused"}
    stopped = admin.call_api("DELETE", f"/calling/recordings/{seed_started}?{TODAY}")
    assert stopped.status_code == 204 and stopped.content == b""


def test_the_client_request_id_is_echoed(admin: EmulatorAdmin) -> None:
    url = f"{admin.url}/calling/recordings/nope?{TODAY}"
    headers = admin.signed_headers("GET", url) | {"x-ms-client-request-id": "abc-123"}
    assert admin.http.get(url, headers=headers).headers["x-ms-client-request-id"] == "abc-123"


def test_admin_lookups(admin: EmulatorAdmin) -> None:
    missing = admin.http.get(f"{admin.url}/_emulator/recordings/nope")
    assert missing.status_code == 404
    for event_id in ("nope", "00000000-0000-0000-0000-000000000000"):
        assert admin.http.get(f"{admin.url}/_emulator/events/{event_id}").status_code == 404
    bad_schema = admin.http.get(f"{admin.url}/_emulator/events/00000000-0000-0000-0000-000000000000?schema=x")
    assert bad_schema.status_code == 400
    for body in (
        {"participants": ["a"]},
        {"serverCallId": "a", "groupCallId": "b", "participants": ["a"]},
        {"serverCallId": "a", "participants": []},
        {"serverCallId": "a", "participants": ["a", "a"]},
        {"serverCallId": "a", "participants": ["a"], "callId": "not-a-guid"},
    ):
        assert admin.http.post(f"{admin.url}/_emulator/calls", json=body).status_code == 400, body


def test_a_recording_survives_a_slow_client(admin: EmulatorAdmin) -> None:
    """HMAC dates are checked for skew, not freshness to the second."""
    assert admin.access_key is not None
    url = f"{admin.url}/calling/recordings/nope?{TODAY}"
    old = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() - 600))
    headers = sign_headers(
        "GET", url, acs_host=admin.resource_host, key=base64.b64decode(admin.access_key), date=old
    )
    assert admin.http.get(url, headers=headers).status_code == 404
