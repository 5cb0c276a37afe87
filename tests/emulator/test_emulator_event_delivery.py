"""After stop, with the emulator's settings: long recordings split into chunks, and the event
delivered to a webhook in the CloudEvents schema as Event Grid delivers it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.communication.callautomation import CallAutomationClient
from callback_receiver import CallbackReceiver, Received

from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess
from archiver.dev.emulator.sdk import LoopbackTransport

CALL = "aHR0cHM6Ly9leGFtcGxlLmludmFsaWQvY2h1bmtz"


@pytest.fixture(scope="module")
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as server:
        yield server


@pytest.fixture(scope="module")
def chunking(receiver: CallbackReceiver) -> Iterator[EmulatorProcess]:
    """An emulator that cuts media into 1 s chunks and delivers CloudEvents to ``receiver``."""
    with EmulatorProcess(
        max_media_seconds=4,
        chunk_seconds=1,
        webhook_url=receiver.url("/api/events"),
        event_schema="cloudevents",
    ) as process:
        yield process


@pytest.fixture(scope="module")
def client(chunking: EmulatorProcess) -> Iterator[CallAutomationClient]:
    with CallAutomationClient.from_connection_string(
        chunking.connection_string, transport=LoopbackTransport(chunking.url)
    ) as sdk:
        yield sdk


def delivery_of(receiver: CallbackReceiver, event_id: str) -> Received:
    [found] = [r for r in receiver.received if r.body["id"] == event_id]
    return found


def test_a_long_recording_is_split_into_chunks(
    chunking: EmulatorProcess, client: CallAutomationClient, receiver: CallbackReceiver
) -> None:
    started = client.start_recording(
        server_call_id=CALL, recording_content_type="audio", recording_format_type="mp3"
    )
    time.sleep(2.4)
    client.stop_recording(str(started.recording_id))
    with chunking.admin() as admin:
        event_id = admin.recording(str(started.recording_id))["eventId"]
        [event] = admin.event(event_id)
        chunks = event["data"]["recordingStorageInfo"]["recordingChunks"]
        assert [c["index"] for c in chunks] == [0, 1, 2]
        assert [c["endReason"] for c in chunks] == ["ChunkMaximumSizeExceeded"] * 2 + ["SessionEnded"]
        metadata = [json.loads(admin.signed_request("GET", c["metadataLocation"]).content) for c in chunks]
    assert [m["chunkIndex"] for m in metadata] == [0, 1, 2]
    assert all(m["chunkDuration"] <= 1000 for m in metadata)
    assert sum(m["chunkDuration"] for m in metadata) == event["data"]["recordingDurationMs"]
    starts = [m["chunkStartTime"] for m in metadata]
    assert starts == sorted(starts) and len(set(starts)) == 3
    # The webhook got the same event, in the CloudEvents schema.
    assert delivery_of(receiver, event_id).body["data"] == event["data"]


def test_the_webhook_gets_a_cloud_event_as_event_grid_delivers_it(
    chunking: EmulatorProcess, client: CallAutomationClient, receiver: CallbackReceiver
) -> None:
    started = client.start_recording(server_call_id=CALL, recording_content_type="audio")
    client.stop_recording(str(started.recording_id))
    with chunking.admin() as admin:
        event_id = admin.recording(str(started.recording_id))["eventId"]
        cloud = admin.event(event_id, schema="cloudevents")
        [grid] = admin.event(event_id)
    delivered = delivery_of(receiver, event_id)
    assert delivered.path == "/api/events"
    assert delivered.body == cloud and cloud["specversion"] == "1.0"
    assert (cloud["source"], cloud["subject"]) == (grid["topic"], grid["subject"])
    headers = delivered.headers
    assert headers["content-type"] == "application/cloudevents+json; charset=utf-8"
    assert (headers["aeg-event-type"], headers["aeg-metadata-version"]) == ("Notification", "1.0")
    assert "aeg-data-version" not in headers
    outcome = json.loads((chunking.state_dir / "deliveries" / f"{event_id}.json").read_text())
    assert (outcome["schema"], outcome["status"]) == ("cloudevents", 200)


def test_the_seeds_chunk_count_still_wins(chunking: EmulatorProcess) -> None:
    with chunking.admin() as admin:
        stopped = _seed_recording(admin, chunkCount=2)
        [event] = admin.event(stopped["eventId"])
    assert len(event["data"]["recordingStorageInfo"]["recordingChunks"]) == 2


def _seed_recording(admin: EmulatorAdmin, **body: Any) -> dict[str, Any]:
    body.setdefault("recordingStateCallbackUri", "https://callback.invalid/")
    started = admin.call_api("POST", "/calling/conversations/conv-chunks/recordings", body).json()
    stopped: dict[str, Any] = admin.call_api("DELETE", f"/calling/recordings/{started['recordingId']}").json()
    return stopped
