"""The official ACS SDK downloads from our emulator: proof that the emulator speaks the real
protocol (HMAC for the resource host, x-ms-host, ranges) and that our signer is the SDK's."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from azure.communication.callautomation import CallAutomationClient
from azure.core.pipeline.transport import RequestsTransport

from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess
from tests.integration.helpers import logged_requests, seed


class ToEmulator(RequestsTransport):
    """Deliver the SDK's requests for *.asm.skype.com to the loopback emulator, unchanged
    otherwise: the SDK signs and sends exactly what it would send to ACS."""

    def __init__(self, emulator_url: str) -> None:
        super().__init__()
        self._netloc = urlsplit(emulator_url).netloc

    def send(self, request: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url)
        request.headers["Host"] = parts.netloc
        request.url = urlunsplit(("http", self._netloc, parts.path, parts.query, ""))
        return super().send(request, **kwargs)


def sdk_client(emulator: EmulatorProcess) -> CallAutomationClient:
    return CallAutomationClient.from_connection_string(
        emulator.connection_string, transport=ToEmulator(emulator.url)
    )


def download(emulator: EmulatorProcess, url: str, **options: int) -> bytes:
    # The SDK returns the streaming HttpResponse despite its annotation (azure-sdk-for-python#42835).
    response: Any = sdk_client(emulator).download_recording(url, **options)
    return b"".join(response.iter_bytes())


def test_official_sdk_downloads_a_recording_from_the_emulator(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    document, _ = seed(admin, format="mp4", content_type="audioVideo", channel_type="mixed")
    url = f"https://us-storage.asm.skype.com/v1/objects/{document['documentId']}/content/video"
    body = download(emulator, url)
    assert hashlib.sha256(body).hexdigest() == document["sha256"]
    [request] = logged_requests(admin, "/content/video")
    assert request["authorized"] is True and request["status"] == 200


def test_official_sdk_range_download(emulator: EmulatorProcess, admin: EmulatorAdmin) -> None:
    document, _ = seed(admin)
    url = f"https://eu-storage.asm.skype.com/v1/objects/{document['documentId']}/content/audio"
    whole = download(emulator, url)
    part = download(emulator, url, offset=100, length=1000)
    assert part == whole[100:1100]
