"""Published events and metadata: the samples' shape, chunking, pauses, webhook delivery."""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from emulator_support import Recorder, only_chunk

from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")


def shape(value: Any) -> Any:
    """The keys of every object, in order, with lists reduced to their first element's shape."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


def parse_time(text: str) -> datetime:
    assert TIMESTAMP.match(text), text
    return datetime.fromisoformat(text[:26] + "+00:00")


def test_event_has_the_shape_of_the_sample(record: Recorder, emulator: EmulatorProcess) -> None:
    sample = json.loads((SAMPLES / "eventgrid-mixed-mp4.json").read_text())
    event = record("conv-shape", participants=["8:acs:a", "4:+1555"])
    assert shape(event) == shape(sample)
    [envelope] = event
    assert uuid.UUID(envelope["id"]).version == 4
    assert envelope["topic"] == (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-emulator"
        "/providers/Microsoft.Communication/communicationServices/contoso"
    )
    assert envelope["eventType"] == "Microsoft.Communication.RecordingFileStatusUpdated"
    assert (envelope["dataVersion"], envelope["metadataVersion"]) == ("1.0", "1")
    parse_time(envelope["eventTime"])
    parse_time(envelope["data"]["recordingStartTime"])
    server_call_id = base64.urlsafe_b64encode(b"conv-shape").decode().rstrip("=")
    subject = re.match(
        r"^/recording/call/([^/]+)/serverCallId/([^/]+)/recordingId/([^/]+)$", envelope["subject"]
    )
    assert subject is not None and subject.groups()[:2] == ("conv-shape", server_call_id)
    data = envelope["data"]
    assert (data["sessionEndReason"], data["recordingContentType"]) == ("CallEnded", "AudioVideo")
    assert (data["recordingChannelType"], data["recordingFormatType"]) == ("Mixed", "Mp4")
    chunk = only_chunk(event)
    assert re.match(r"^0-eus-d6-[0-9a-f]{32}$", chunk["documentId"])
    assert (chunk["index"], chunk["endReason"]) == (0, "SessionEnded")
    base = f"{emulator.url}/v1/objects/{chunk['documentId']}"
    assert chunk["contentLocation"] == f"{base}/content/video"
    assert chunk["metadataLocation"] == f"{base}/content/acsmetadata"
    assert chunk["deleteLocation"] == base


def test_metadata_has_the_documented_shape_and_real_pauses(record: Recorder, admin: EmulatorAdmin) -> None:
    sample = json.loads((SAMPLES / "metadata-documented.json").read_text())
    event = record("conv-pauses", active_seconds=0.4, pauses=(0.4, 0.2), participants=["8:acs:a", "4:+1555"])
    chunk = only_chunk(event)
    metadata = admin.signed_request("GET", chunk["metadataLocation"]).json()
    assert shape(metadata) == shape(sample)
    assert (metadata["callId"], metadata["chunkDocumentId"], metadata["chunkIndex"]) == (
        "conv-pauses",
        chunk["documentId"],
        0,
    )
    uuid.UUID(metadata["resourceId"])
    started = parse_time(event[0]["data"]["recordingStartTime"])
    assert parse_time(metadata["chunkStartTime"]) == started
    first, second = metadata["pauseResumeIntervals"]
    assert 350 <= first["duration"] < 800 and 150 <= second["duration"] < 600
    first_at, second_at = parse_time(first["startTime"]), parse_time(second["startTime"])
    assert started < first_at < second_at
    assert (second_at - first_at).total_seconds() * 1000 >= first["duration"]
    # The media covers active time only (three stretches of about 0.4 s).
    assert 1150 <= metadata["chunkDuration"] <= 2000
    assert event[0]["data"]["recordingDurationMs"] == metadata["chunkDuration"]


def test_chunk_count_splits_the_recording(record: Recorder, admin: EmulatorAdmin) -> None:
    event = record("conv-chunks", chunkCount=3, recordingContentType="audio", recordingFormatType="mp3")
    chunks = event[0]["data"]["recordingStorageInfo"]["recordingChunks"]
    assert [c["index"] for c in chunks] == [0, 1, 2]
    assert [c["endReason"] for c in chunks] == ["ChunkMaximumSizeExceeded"] * 2 + ["SessionEnded"]
    assert len({c["documentId"] for c in chunks}) == 3
    total = 0.0
    starts = []
    for chunk in chunks:
        assert chunk["documentId"].startswith(f"{chunk['index']}-eus-d6-")
        assert admin.signed_request("GET", chunk["contentLocation"]).status_code == 200
        metadata = admin.signed_request("GET", chunk["metadataLocation"]).json()
        assert (metadata["chunkIndex"], metadata["chunkDocumentId"]) == (chunk["index"], chunk["documentId"])
        total += metadata["chunkDuration"]
        starts.append(parse_time(metadata["chunkStartTime"]))
    assert starts == sorted(starts) and len(set(starts)) == 3
    assert total == event[0]["data"]["recordingDurationMs"] == 3000


def test_seeded_documents_publish_only_when_asked(admin: EmulatorAdmin, emulator: EmulatorProcess) -> None:
    quiet = admin.seed_document(format="mp3")
    assert not (emulator.state_dir / "events" / f"{quiet['event'][0]['id']}.json").exists()
    loud = admin.seed_document(format="mp3", publish=True, call_id="call-1", index=2)
    stored = json.loads((emulator.state_dir / "events" / f"{loud['event'][0]['id']}.json").read_text())
    assert stored == loud["event"]
    assert stored[0]["subject"].startswith("/recording/call/call-1/serverCallId/")
    assert only_chunk(stored)["index"] == 2


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[str, list[tuple[dict[str, str], Any]]]]:
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield (
        f"http://127.0.0.1:{server.server_address[1]}/runtime/webhooks/eventgrid?functionName=ingress",
        (_Collector.received),
    )
    server.shutdown()
    server.server_close()


def test_events_are_posted_to_the_webhook_and_urls_use_the_public_url(
    webhook: tuple[str, list[tuple[dict[str, str], Any]]],
) -> None:
    url, received = webhook
    resource_id = (
        "/subscriptions/1/resourceGroups/rg/providers/Microsoft.Communication/communicationServices/acs-x"
    )
    with (
        EmulatorProcess(
            webhook_url=url, public_url="https://us-storage.asm.skype.com", resource_id=resource_id
        ) as em,
        em.admin() as admin,
    ):
        seeded = admin.seed_document(format="wav", publish=True)
        assert seeded["contentLocation"].startswith("https://us-storage.asm.skype.com/v1/objects/")
        assert seeded["downloadLocation"].startswith("https://us-storage.asm.skype.com/recording/download/")
        headers, body = received[-1]
        assert headers["aeg-event-type"] == "Notification"
        assert headers["content-type"] == "application/json"
        assert body == seeded["event"] and body[0]["topic"] == resource_id
        delivery = json.loads((em.state_dir / "deliveries" / f"{body[0]['id']}.json").read_text())
        assert delivery["status"] == 200
        started = admin.call_api(
            "POST", "/calling/conversations/c/recordings", {"recordingStateCallbackUri": "https://cb.invalid"}
        )
        stopped = admin.call_api("DELETE", f"/calling/recordings/{started.json()['recordingId']}")
        assert received[-1][1][0]["id"] == stopped.json()["eventId"]
