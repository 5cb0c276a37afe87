"""A recording made with the official Call Automation SDK is archived, verified and indexed.

The application's side is ``CallAutomationClient`` (azure-communication-callautomation) against
the emulator: start, pause, resume, stop. The emulator publishes ``RecordingFileStatusUpdated``
to a loopback webhook as Event Grid would (both delivery schemas, one emulator each); that
delivery goes through the Function App's ``ingest_recording_event`` and
``archive_recording_chunk`` into Azurite. The archive is then checked chunk by chunk against
the SDK's own download of the same chunk, and the participant index against the metadata.
The recordings are long enough for the emulator (``--chunk-seconds 1``) to split them, so
multi-chunk archives go through the SDK path too. Last, the archiver's identity mode (an Entra
ID token instead of the access key) archives a recording the same way.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.communication.callautomation import CallAutomationClient, PhoneNumberIdentifier

from archiver import layout, participants
from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess
from archiver.dev.emulator.sdk import LocalTokenCredential, LoopbackTransport
from archiver.events import jobs_from_event, split_payload
from archiver.runtime import Runtime, get_runtime, reset_runtime
from tests.emulator.callback_receiver import CallbackReceiver
from tests.integration.helpers import deliver, work
from tests.support import ACCESS_KEY, RESOURCE_HOST

STORAGE = "https://us-storage.asm.skype.com"  # where the SDK may download from
PEOPLE = [
    "8:acs:aaaaaaaa-0000-4000-8000-000000000001_00000021-0000-0000-0000-000000000001",
    "4:+14255550199",
    "8:orgid:2b9f6e3a-1111-4222-8333-444455556666",
]


@pytest.fixture(scope="module")
def webhook() -> Iterator[CallbackReceiver]:
    """Where the emulator delivers its events, as Event Grid delivers to a webhook."""
    with CallbackReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module", params=["eventgrid", "cloudevents"])
def schema(request: pytest.FixtureRequest) -> str:
    """The Event Grid subscription's delivery schema."""
    value: str = request.param
    return value


@pytest.fixture(scope="module")
def emulator(schema: str, webhook: CallbackReceiver) -> Iterator[EmulatorProcess]:
    """This module's emulator (it replaces the session's): storage URLs, 1 s chunks, a webhook."""
    with EmulatorProcess(
        access_key=ACCESS_KEY,
        resource_host=RESOURCE_HOST,
        public_url=STORAGE,
        max_media_seconds=4,
        chunk_seconds=1,
        webhook_url=webhook.url(f"/api/events/{schema}"),
        event_schema=schema,
    ) as process:
        yield process


def sdk_client(emulator: EmulatorProcess, credential: Any = None) -> CallAutomationClient:
    """The SDK as an application builds it: the connection string (or an identity), to 127.0.0.1."""
    transport = LoopbackTransport(emulator.url)
    if credential is not None:
        return CallAutomationClient(f"https://{RESOURCE_HOST}", credential, transport=transport)
    return CallAutomationClient.from_connection_string(emulator.connection_string, transport=transport)


def record_a_call(client: CallAutomationClient, admin: EmulatorAdmin) -> str:
    """Record a three-person call, unmixed, with a pause; return the recording id."""
    server_call = base64.urlsafe_b64encode(f"conv/{uuid.uuid4()}".encode()).decode().rstrip("=")
    admin.register_call(server_call_id=server_call, participants=PEOPLE, call_id=str(uuid.uuid4()))
    started = client.start_recording(
        server_call_id=server_call,
        recording_content_type="audio",
        recording_channel_type="unmixed",
        recording_format_type="wav",
        audio_channel_participant_ordering=[PhoneNumberIdentifier("+14255550199")],
    )
    recording_id = str(started.recording_id)
    time.sleep(0.8)
    client.pause_recording(recording_id)
    time.sleep(0.3)
    client.resume_recording(recording_id)
    time.sleep(1.4)
    client.stop_recording(recording_id)
    return recording_id


def delivered_payload(webhook: CallbackReceiver, event_id: str) -> bytes:
    """The body Event Grid POSTed for ``event_id``: an array (Event Grid) or one object (CloudEvents)."""
    for received in webhook.received:
        events = received.body if isinstance(received.body, list) else [received.body]
        if any(e["id"] == event_id for e in events):
            return json.dumps(received.body).encode()
    raise AssertionError(f"event {event_id} was never delivered")


def sdk_download(client: CallAutomationClient, url: str) -> bytes:
    # The SDK returns the streaming HttpResponse despite its annotation (azure-sdk-for-python#42835).
    response: Any = client.download_recording(url)
    return b"".join(response.iter_bytes())


def assert_archived(runtime: Runtime, client: CallAutomationClient, payload: bytes) -> int:
    """Every chunk archived and verified against the SDK's download; returns the chunk count."""
    jobs = [job for raw in split_payload(payload) for job in jobs_from_event(raw, runtime.settings)]
    archive = runtime.store.archive
    for job in jobs:
        manifest = json.loads(archive.download_blob(layout.chunk_manifest_blob(job)).readall())
        stored = archive.download_blob(manifest["media"]["blob"]).readall()
        source = sdk_download(client, str(job.chunk.content_url))
        assert stored == source and len(stored) > 44
        assert hashlib.sha256(stored).hexdigest() == manifest["media"]["sha256"]
        props = archive.get_blob_client(manifest["media"]["blob"]).get_blob_properties()
        assert (
            base64.b64encode(bytes(props.content_settings.content_md5)).decode()
            == manifest["media"]["contentMd5"]
        )
        stored_metadata = archive.download_blob(layout.metadata_blob(job)).readall()
        assert stored_metadata == sdk_download(client, str(job.chunk.metadata_url))  # byte for byte
        assert_indexed(runtime, job.chunk.document_id, manifest["media"]["blob"], json.loads(stored_metadata))
    recording = json.loads(archive.download_blob(layout.recording_manifest_blob(jobs[0].recording)).readall())
    assert recording["chunkCount"] == len(jobs) == len(recording["chunks"])
    return len(jobs)


def assert_indexed(runtime: Runtime, document_id: str, media_blob: str, metadata: dict[str, Any]) -> None:
    """Each participant of the chunk is in the index, with the channel the metadata gives them."""
    channels = {p["participantId"]: p["channel"] for p in metadata["participants"]}
    assert channels == {PEOPLE[1]: 0, PEOPLE[0]: 1, PEOPLE[2]: 2}  # the phone number was ordered first
    for person, channel in channels.items():
        [entry] = [e for e in participants.find(runtime.store, person) if e.document_id == document_id]
        assert (entry.channel, entry.media.blob) == (channel, media_blob)


def test_a_recording_made_with_the_sdk_is_archived_verified_and_indexed(
    runtime: Runtime, admin: EmulatorAdmin, emulator: EmulatorProcess, webhook: CallbackReceiver, schema: str
) -> None:
    with sdk_client(emulator) as client:
        recording_id = record_a_call(client, admin)
        event_id = admin.recording(recording_id)["eventId"]
        payload = delivered_payload(webhook, event_id)
        delivered = json.loads(payload)
        if schema == "cloudevents":
            assert (
                delivered["specversion"] == "1.0" and delivered["source"] == admin.event(event_id)[0]["topic"]
            )
        else:
            assert delivered == admin.event(event_id)
        deliver(payload)
        report = work(runtime)
        assert (report.raised, report.errors) == (0, [])
        chunks = assert_archived(runtime, client, payload)
    assert chunks >= 2  # 2.2 s of media in chunks of at most 1 s
    downloads = [r for r in admin.stats()["requests"] if r["path"].startswith("/v1/objects/")]
    assert downloads and all(r["authorized"] and r["credential"] == "hmac" for r in downloads)


def test_identity_mode_archives_with_an_entra_id_token(
    monkeypatch: pytest.MonkeyPatch,
    archiver_env: dict[str, str],
    admin: EmulatorAdmin,
    emulator: EmulatorProcess,
    webhook: CallbackReceiver,
) -> None:
    """``ACS_ENDPOINT`` instead of a key: the archiver sends a Bearer token and x-ms-host."""
    monkeypatch.delenv("ACS_CONNECTION_STRING")
    monkeypatch.setenv("ACS_ENDPOINT", f"https://{RESOURCE_HOST}")
    # DefaultAzureCredential stands in for `az login`; the emulator takes any well-formed token.
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", LocalTokenCredential)
    reset_runtime()
    runtime = get_runtime()
    assert runtime.settings.acs_access_key is None
    with sdk_client(emulator, LocalTokenCredential()) as client:
        recording_id = record_a_call(client, admin)
        payload = delivered_payload(webhook, admin.recording(recording_id)["eventId"])
        admin.reset_stats()
        deliver(payload)
        assert work(runtime).raised == 0
        archiver_requests = admin.stats()["requests"]
        assert_archived(runtime, client, payload)
    assert archiver_requests and {(r["status"] < 300, r["credential"]) for r in archiver_requests} == {
        (True, "bearer")
    }
