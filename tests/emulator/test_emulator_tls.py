"""The emulator over TLS, as production is: the archiver and the official SDK reach it at a
production-shaped host, verify its certificate against that name, and refuse a wrong one."""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.communication.callautomation import CallAutomationClient
from azure.core.exceptions import ServiceRequestError

from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess
from archiver.dev.emulator.sdk import LoopbackTransport
from archiver.dev.emulator.tls import make_certificates
from archiver.errors import SourceUnavailable
from archiver.settings import SettingsError, settings_from
from archiver.source import RetryPolicy, SourceClient

STORAGE = "https://us-storage.asm.skype.com"
RESOURCE_HOST = "tls.communication.azure.com"


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(tls=True, public_url=STORAGE, resource_host=RESOURCE_HOST) as process:
        yield process


@pytest.fixture(scope="module")
def tls_admin(tls_emulator: EmulatorProcess) -> Iterator[EmulatorAdmin]:
    with tls_emulator.admin() as admin:
        yield admin


@pytest.fixture(scope="module")
def document(tls_admin: EmulatorAdmin) -> dict[str, Any]:
    return tls_admin.seed_document(format="wav", size_bytes=300_000)


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA the emulator's certificate does not come from."""
    return make_certificates(tmp_path_factory.mktemp("other-ca"), ("us-storage.asm.skype.com",)).ca_file


def _source(emulator: EmulatorProcess, **extra: str) -> SourceClient:
    settings = settings_from(
        {
            "ACS_CONNECTION_STRING": emulator.connection_string,
            "LOCAL_SOURCE_URL": emulator.url,
            **extra,
        }
    )
    return SourceClient(settings, retry=RetryPolicy(attempts=1))


def test_the_emulator_serves_https_with_a_ca_it_names(
    tls_emulator: EmulatorProcess, tls_admin: EmulatorAdmin
) -> None:
    assert tls_emulator.url.startswith("https://127.0.0.1:")
    assert tls_emulator.ca_file is not None and tls_emulator.ca_file.is_file()
    assert tls_admin.health()["status"] == "ok"
    with pytest.raises(httpx.ConnectError):  # the public trust store does not know the throwaway CA
        httpx.get(f"{tls_emulator.url}/_emulator/health", trust_env=False)


def test_a_plain_emulator_has_no_ca(emulator: EmulatorProcess) -> None:
    assert emulator.url.startswith("http://") and emulator.ca_file is None


def test_local_source_url_accepts_https_on_loopback_only() -> None:
    base = {"ACS_CONNECTION_STRING": f"endpoint=https://{RESOURCE_HOST}/;accesskey=aGVsbG8="}
    assert settings_from({**base, "LOCAL_SOURCE_URL": "https://127.0.0.1:8443/"}).local_source_url == (
        "https://127.0.0.1:8443"
    )
    for refused in ("https://10.0.0.5:8443", "ftp://127.0.0.1:21"):
        with pytest.raises(SettingsError, match="LOCAL_SOURCE_URL"):
            settings_from({**base, "LOCAL_SOURCE_URL": refused})


def test_the_archiver_downloads_over_tls_verified_against_the_production_name(
    tls_emulator: EmulatorProcess,
    tls_admin: EmulatorAdmin,
    document: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tls_emulator.ca_file is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_emulator.ca_file))
    url = document["contentLocation"]
    assert url.startswith(f"{STORAGE}/v1/objects/")
    tls_admin.reset_stats()
    with _source(tls_emulator) as source:
        body = b"".join(source.open_media(url))
    assert hashlib.sha256(body).hexdigest() == document["sha256"]
    [request] = [r for r in tls_admin.stats()["requests"] if "/content/" in r["path"]]
    assert request["authorized"] is True and request["status"] == 200


def test_the_archiver_refuses_a_certificate_from_another_ca(
    tls_emulator: EmulatorProcess, document: dict[str, Any], other_ca: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(other_ca))
    with _source(tls_emulator) as source, pytest.raises(SourceUnavailable) as refused:
        source.fetch_small(document["metadataLocation"], max_bytes=1 << 20)
    assert refused.value.reason == "connection_error"


def test_the_archiver_refuses_a_certificate_without_the_host_it_asked_for(
    tls_emulator: EmulatorProcess, document: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The right CA but the wrong name: SNI and the hostname check use the URL's host."""
    assert tls_emulator.ca_file is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_emulator.ca_file))
    elsewhere = document["metadataLocation"].replace(STORAGE, "https://recordings.example.org")
    with (
        _source(tls_emulator, ALLOWED_SOURCE_HOSTS="recordings.example.org") as source,
        pytest.raises(SourceUnavailable) as refused,
    ):
        source.fetch_small(elsewhere, max_bytes=1 << 20)
    assert refused.value.reason == "connection_error"


def test_the_official_sdk_downloads_over_tls(
    tls_emulator: EmulatorProcess, document: dict[str, Any], other_ca: Path
) -> None:
    def download(ca_file: Path | None) -> bytes:
        transport = LoopbackTransport(tls_emulator.url, ca_file=ca_file)
        client = CallAutomationClient.from_connection_string(
            tls_emulator.connection_string, transport=transport, retry_total=0
        )
        with client:
            # The SDK returns the streaming HttpResponse despite its annotation (azure-sdk-for-python#42835).
            response: Any = client.download_recording(document["contentLocation"])
            return b"".join(response.iter_bytes())

    assert hashlib.sha256(download(tls_emulator.ca_file)).hexdigest() == document["sha256"]
    with pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED"):
        download(other_ca)
    with pytest.raises(ValueError, match="ca_file"):
        LoopbackTransport(tls_emulator.url)


def test_https_needs_the_ssl_module_to_trust_the_ca(tls_emulator: EmulatorProcess) -> None:
    """The CA file is a plain PEM any TLS client can load."""
    assert tls_emulator.ca_file is not None
    context = ssl.create_default_context(cafile=str(tls_emulator.ca_file))
    assert context.cert_store_stats()["x509_ca"] == 1
