"""The allowlist decides where credentials may go: test the edges attackers use."""

from __future__ import annotations

import pytest

from archiver.errors import SourceNotAllowed
from archiver.settings import settings_from
from archiver.urls import check_source_url

SETTINGS = settings_from(
    {
        "ACS_CONNECTION_STRING": "endpoint=https://acs-contoso.communication.azure.com/;accesskey=aGVsbG8=",
        "ALLOWED_SOURCE_HOSTS": "media.contoso.example,*.recordings.contoso.example",
    }
)


@pytest.mark.parametrize(
    "url",
    [
        "https://us-storage.asm.skype.com/v1/objects/x/content/video",
        "https://eu-storage.asm.skype.com:443/v1/objects/x/content/audio",
        "https://x.asyncgw.teams.microsoft.com/v1/objects/x",
        "https://x.ams.gov.teams.microsoft.us/v1/objects/x",
        "https://acs-contoso.communication.azure.com/recording/download/x",
        "https://media.contoso.example/x",
        "https://a.recordings.contoso.example/x",
    ],
)
def test_allowed(url: str) -> None:
    assert check_source_url(url, SETTINGS) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://us-storage.asm.skype.com/v1/objects/x",
        "https://asm.skype.com.evil.example/x",
        "https://evilasm.skype.com/x",
        "https://asm.skype.com/x",
        "https://us-storage.asm.skype.com.evil.example/x",
        "https://user:pw@us-storage.asm.skype.com/x",
        "https://us-storage.asm.skype.com@evil.example/x",
        "https://us-storage.asm.skype.com:8443/x",
        "https://169.254.169.254/metadata/identity",
        "https://127.0.0.1/x",
        "http://127.0.0.1:10000/x",
        "https://[::1]/x",
        "https://recordings.contoso.example/x",
        "https://other-acs.communication.azure.com/recording/download/x",
        "ftp://us-storage.asm.skype.com/x",
        "https://us-storage.asm.skype.com./x",
        "https://us-storage.asm.skype.com/x\r\nHost: evil",
        "https://xn--asm-skype-com.evil.example/x",
        "https://us-storage.аsm.skype.com/x",  # Cyrillic a
        "//us-storage.asm.skype.com/x",
        "https://" + "a" * 3000 + ".asm.skype.com/x",
    ],
)
def test_refused(url: str) -> None:
    with pytest.raises(SourceNotAllowed):
        check_source_url(url, SETTINGS)


def test_local_source_url_allows_exactly_that_loopback_origin() -> None:
    local = settings_from(
        {
            "ACS_CONNECTION_STRING": "endpoint=https://acs-contoso.communication.azure.com/;accesskey=aGVsbG8=",
            "LOCAL_SOURCE_URL": "http://127.0.0.1:8090",
        }
    )
    assert check_source_url("http://127.0.0.1:8090/v1/objects/x/content/audio", local)
    for url in ("http://127.0.0.1:8091/x", "http://localhost:8090/x", "http://169.254.169.254:8090/x"):
        with pytest.raises(SourceNotAllowed):
            check_source_url(url, local)
