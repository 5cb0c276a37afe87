"""Our HMAC signer must produce exactly what the official SDK's policy produces."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from azure.communication.callautomation._shared.policy import HMACCredentialsPolicy
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest

from archiver.acs_auth import decode_access_key, sign_headers, verify_request

KEY_B64 = base64.b64encode(b"not-a-real-key-but-32-bytes-long").decode()
ACS_HOST = "contoso.communication.azure.com"
DATE = "Tue, 24 Nov 2026 10:00:00 GMT"


def _sdk_sign(method: str, url: str, body: str | None = None) -> dict[str, str]:
    policy = HMACCredentialsPolicy(f"https://{ACS_HOST}", KEY_B64)
    request = PipelineRequest(HttpRequest(method, url, content=body), PipelineContext(None))
    with mock.patch(
        "azure.communication.callautomation._shared.policy.get_current_utc_time", return_value=DATE
    ):
        policy.on_request(request)
    return dict(request.http_request.headers)


@pytest.mark.parametrize(
    "url",
    [
        "https://us-storage.asm.skype.com/v1/objects/0-eus-d6-3b9f/content/video",
        "https://eu-storage.asm.skype.com/v1/objects/0-weu-d2-01/content/acsmetadata",
        "https://contoso.communication.azure.com/recording/download/0-eus-d11-05bf?api-version=2021-03-07",
    ],
)
def test_signature_matches_official_sdk(url: str) -> None:
    ours = sign_headers("GET", url, acs_host=ACS_HOST, key=decode_access_key(KEY_B64), date=DATE)
    sdk = _sdk_sign("GET", url)
    assert ours["Authorization"] == sdk["Authorization"]
    assert ours["x-ms-content-sha256"] == sdk["x-ms-content-sha256"]
    assert ours["x-ms-date"] == sdk["x-ms-date"]


def test_signature_with_body_matches_official_sdk() -> None:
    body = '{"recordingStateCallbackUri":"https://example.invalid/cb"}'
    url = (
        "https://contoso.communication.azure.com/calling/conversations/abc/Recordings?api-version=2021-04-15"
    )
    ours = sign_headers(
        "POST", url, acs_host=ACS_HOST, key=decode_access_key(KEY_B64), body=body.encode(), date=DATE
    )
    assert ours["Authorization"] == _sdk_sign("POST", url, body)["Authorization"]


def test_signature_covers_the_resource_host_not_the_storage_host() -> None:
    url = "https://us-storage.asm.skype.com/v1/objects/x/content/video"
    key = decode_access_key(KEY_B64)
    headers = sign_headers("GET", url, acs_host=ACS_HOST, key=key, date=DATE)
    assert headers["x-ms-host"] == ACS_HOST
    lowered = {k.lower(): v for k, v in headers.items()}
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert verify_request("GET", url, lowered, acs_host=ACS_HOST, key=key, now=now) is None
    assert (
        verify_request("GET", url, lowered, acs_host="us-storage.asm.skype.com", key=key, now=now)
        == "signature mismatch"
    )


def test_verify_rejects_wrong_key_stale_date_and_tampered_path() -> None:
    url = "https://us-storage.asm.skype.com/v1/objects/x/content/video"
    key = decode_access_key(KEY_B64)
    headers = {
        k.lower(): v for k, v in sign_headers("GET", url, acs_host=ACS_HOST, key=key, date=DATE).items()
    }
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert (
        verify_request("GET", url, headers, acs_host=ACS_HOST, key=b"other", now=now) == "signature mismatch"
    )
    late = now + timedelta(hours=1)
    assert "clock skew" in (verify_request("GET", url, headers, acs_host=ACS_HOST, key=key, now=late) or "")
    other = url.replace("/x/", "/y/")
    assert verify_request("GET", other, headers, acs_host=ACS_HOST, key=key, now=now) == "signature mismatch"
    assert "Authorization" in (verify_request("GET", url, {}, acs_host=ACS_HOST, key=key, now=now) or "")
