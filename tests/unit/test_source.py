"""The download client's error paths, on httpx.MockTransport (no server needed for these)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from archiver.errors import (
    ConfigurationError,
    PermanentError,
    SourceMissing,
    SourceNotAllowed,
    SourceUnavailable,
)
from archiver.settings import settings_from
from archiver.source import RetryPolicy, SourceClient

SETTINGS = settings_from(
    {"ACS_CONNECTION_STRING": "endpoint=https://acs-contoso.communication.azure.com/;accesskey=aGVsbG8="}
)
URL = "https://us-storage.asm.skype.com/v1/objects/0-eus-d6-abc/content/video"
BODY = bytes(range(256)) * 4096  # 1 MiB


def client(
    handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float] | None = None
) -> SourceClient:
    record = sleeps if sleeps is not None else []
    return SourceClient(
        SETTINGS,
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=4, base_seconds=0.01, cap_seconds=0.02),
        sleep=record.append,
    )


def serve_range(request: httpx.Request, body: bytes = BODY) -> httpx.Response:
    header = request.headers.get("range")
    if not header:
        return httpx.Response(200, content=body, headers={"content-type": "video/mp4"})
    start = int(header.removeprefix("bytes=").split("-")[0])
    return httpx.Response(
        206,
        content=body[start:],
        headers={"content-range": f"bytes {start}-{len(body) - 1}/{len(body)}", "content-type": "video/mp4"},
    )


def download(source: SourceClient, offset: int = 0) -> bytes:
    stream = source.open_media(URL, offset=offset)
    return b"".join(stream)


def test_requests_are_signed_for_the_acs_resource_host() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return serve_range(request)

    assert download(client(handler)) == BODY
    request = seen[0]
    assert request.headers["x-ms-host"] == "acs-contoso.communication.azure.com"
    assert request.headers["authorization"].startswith(
        "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&"
    )
    assert request.url.host == "us-storage.asm.skype.com"


def test_transient_status_is_retried_with_backoff_honouring_retry_after() -> None:
    answers = iter([httpx.Response(503, headers={"retry-after": "1"}), httpx.Response(429)])
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or serve_range(request)

    assert download(client(handler, sleeps)) == BODY
    assert len(sleeps) == 2 and sleeps[0] >= 1.0


def test_gives_up_after_the_attempts_with_a_transient_error() -> None:
    with pytest.raises(SourceUnavailable) as info:
        download(client(lambda r: httpx.Response(502)))
    assert info.value.reason == "source_http_502"


def test_html_page_instead_of_media_is_not_archived() -> None:
    answers = iter([httpx.Response(200, text="<html>oops</html>", headers={"content-type": "text/html"})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or serve_range(request)

    assert download(client(handler)) == BODY


class _BreaksAfter(httpx.SyncByteStream):
    def __init__(self, data: bytes, cut: int) -> None:
        self.data, self.cut = data, cut

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[: self.cut]
        raise httpx.ReadError("connection reset by peer")


def test_reset_mid_body_resumes_with_a_range_request() -> None:
    ranges: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ranges.append(request.headers.get("range"))
        if len(ranges) == 1:
            return httpx.Response(
                200, stream=_BreaksAfter(BODY, 300_000), headers={"content-length": str(len(BODY))}
            )
        return serve_range(request)

    assert download(client(handler)) == BODY
    assert ranges == [None, "bytes=300000-"]


def test_empty_first_answer_is_retried() -> None:
    answers = iter([httpx.Response(200, content=b"")])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or serve_range(request)

    assert download(client(handler)) == BODY


def test_unauthorized_is_a_configuration_error_naming_the_setting() -> None:
    with pytest.raises(ConfigurationError) as info:
        download(client(lambda r: httpx.Response(401)))
    assert "ACS_CONNECTION_STRING" in str(info.value)


def test_not_found_is_reported_as_source_missing() -> None:
    with pytest.raises(SourceMissing):
        download(client(lambda r: httpx.Response(404)))


def test_other_client_errors_are_permanent() -> None:
    with pytest.raises(PermanentError):
        download(client(lambda r: httpx.Response(410, text="gone")))


def test_redirect_to_allowed_host_is_followed_and_resigned() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "us-storage.asm.skype.com":
            return httpx.Response(
                302, headers={"location": "https://eu-storage.asm.skype.com/v1/objects/moved"}
            )
        return serve_range(request)

    assert download(client(handler)) == BODY
    assert [r.url.host for r in seen] == ["us-storage.asm.skype.com", "eu-storage.asm.skype.com"]
    assert seen[0].headers["authorization"] != seen[1].headers["authorization"]


def test_redirect_off_the_allowlist_is_refused_without_a_request() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(307, headers={"location": "https://attacker.example/steal"})

    with pytest.raises(SourceNotAllowed) as info:
        download(client(handler))
    assert info.value.reason == "redirect_not_allowed"
    assert hosts == ["us-storage.asm.skype.com"]


def test_metadata_larger_than_the_limit_is_refused() -> None:
    from archiver.errors import InvalidMetadata

    source = client(lambda r: httpx.Response(200, content=b"{" + b" " * 5000 + b"}"))
    with pytest.raises(InvalidMetadata) as info:
        source.fetch_small(URL, max_bytes=1000)
    assert info.value.reason == "metadata_too_large"


def test_token_auth_sends_bearer_and_x_ms_host() -> None:
    class Token:
        token = "eyJ0eXAi.fake.token"

    class Credential:
        def get_token(self, *scopes: str) -> Token:
            assert scopes == ("https://communication.azure.com/.default",)
            return Token()

    seen: list[httpx.Request] = []
    settings = settings_from({"ACS_ENDPOINT": "https://acs-contoso.communication.azure.com"})

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return serve_range(request)

    source = SourceClient(settings, transport=httpx.MockTransport(handler), credential=Credential())  # type: ignore[arg-type]
    assert b"".join(source.open_media(URL)) == BODY
    assert seen[0].headers["authorization"] == "Bearer eyJ0eXAi.fake.token"
    assert seen[0].headers["x-ms-host"] == "acs-contoso.communication.azure.com"
