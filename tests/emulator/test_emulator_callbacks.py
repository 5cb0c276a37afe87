"""Recording state callbacks: what the emulator POSTs to ``recordingStateCallbackUri``, and when not.

The receivers are real loopback HTTP endpoints started (and stopped) by each test; the expected
shape is the Call Automation service's (see ``archiver.dev.emulator.callbacks`` for sources),
and the SDK's own model must read it.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from azure.communication.callautomation._generated.models import RecordingStateChanged
from callback_receiver import CallbackReceiver, SilentListener, closed_port, wait_until
from emulator_support import read_event

from archiver.dev.emulator.callbacks import is_deliverable
from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess
from archiver.dev.emulator.errors import ApiError

ENVELOPE = {"id", "source", "type", "data", "time", "specversion", "datacontenttype", "subject"}
DATA = {
    "recordingId",
    "state",
    "startDateTime",
    "recordingKind",
    "callConnectionId",
    "serverCallId",
    "correlationId",
}
FAST = 1.0  # seconds: an API call that waited on a callback would take the 5 s timeout


def start(admin: EmulatorAdmin, conversation: str, callback: str) -> str:
    response = admin.call_api(
        "POST", f"/calling/conversations/{conversation}/recordings", {"recordingStateCallbackUri": callback}
    )
    assert response.status_code == 200, response.text
    recording_id: str = response.json()["recordingId"]
    return recording_id


def timed(admin: EmulatorAdmin, method: str, path: str) -> tuple[int, float, Any]:
    began = time.monotonic()
    response = admin.call_api(method, path)
    return response.status_code, time.monotonic() - began, response.json() if response.content else None


def drive(admin: EmulatorAdmin, conversation: str, recording_id: str) -> dict[str, Any]:
    """Pause, resume and stop; every call answers at once. Returns the stop's answer."""
    base = f"/calling/conversations/{conversation}/recordings/{recording_id}"
    answers = [timed(admin, "POST", f"{base}/pause"), timed(admin, "POST", f"{base}/resume")]
    answers.append(timed(admin, "DELETE", base))
    assert [status for status, _, _ in answers] == [200, 200, 200]
    assert all(seconds < FAST for _, seconds, _ in answers), answers
    stopped: dict[str, Any] = answers[-1][2]
    return stopped


def outcomes(emulator: EmulatorProcess, recording_id: str) -> list[dict[str, Any]]:
    """What the emulator recorded for each callback of ``recording_id``, oldest first."""
    folder = emulator.state_dir / "callbacks"
    records = [json.loads(p.read_text()) for p in folder.glob("*.json")] if folder.exists() else []
    mine = [r for r in records if r["event"][0]["data"]["recordingId"] == recording_id]
    return sorted(mine, key=lambda r: r["event"][0]["time"])


def wait_for_outcomes(
    emulator: EmulatorProcess, recording_id: str, count: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """The first ``count`` outcomes of ``recording_id``'s callbacks, once they are all recorded."""

    def ready() -> list[dict[str, Any]]:
        found = outcomes(emulator, recording_id)
        return found[:count] if len(found) >= count else []

    return wait_until(ready, timeout)


def parse_time(text: str) -> datetime:
    assert text.endswith("+00:00") and len(text.split(".")[1]) == 7 + 6, text  # 7 digits, +00:00
    return datetime.fromisoformat(text[:26] + "+00:00")


def test_state_changes_are_posted_in_order_as_call_automation_events(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    conversation = "conv-callbacks"
    with CallbackReceiver() as receiver:
        callback = receiver.url("/api/callbacks?token=abc")
        recording_id = start(admin, conversation, callback)
        stopped = drive(admin, conversation, recording_id)
        received = receiver.wait_for(4)
        time.sleep(0.2)
        assert len(receiver.received) == 4  # and nothing more arrives
    assert all(r.path == "/api/callbacks?token=abc" for r in received)
    assert all(r.headers["content-type"] == "application/json" for r in received)
    assert all(isinstance(r.body, list) and len(r.body) == 1 for r in received)
    events = [r.body[0] for r in received]
    assert [e["data"]["state"] for e in events] == ["active", "inactive", "active", "inactive"]

    server_call = base64.urlsafe_b64encode(conversation.encode()).decode().rstrip("=")
    subject = f"calling/recordings/{server_call}/recordingId/{recording_id}"
    started_at = json.loads((emulator.state_dir / "recordings" / f"{recording_id}.json").read_text())[
        "startedAt"
    ]
    for event in events:
        assert set(event) == ENVELOPE and set(event["data"]) == DATA
        assert event["type"] == "Microsoft.Communication.RecordingStateChanged"
        assert (event["specversion"], event["datacontenttype"]) == ("1.0", "application/json")
        assert (event["subject"], event["source"]) == (subject, f"{subject}/RecordingStateChanged")
        data = event["data"]
        assert (data["recordingId"], data["recordingKind"]) == (recording_id, "azureCommunicationServices")
        assert (data["serverCallId"], data["correlationId"]) == (server_call, conversation)
        assert data["startDateTime"] == started_at.removesuffix("Z") + "+00:00"
        assert str(uuid.UUID(data["callConnectionId"])) == data["callConnectionId"]
        # The SDK's own model reads every field.
        model = RecordingStateChanged.deserialize(data)
        assert (model.recording_id, model.state, model.recording_kind) == (
            recording_id,
            data["state"],
            "azureCommunicationServices",
        )
        assert model.start_date_time == parse_time(data["startDateTime"])
        assert (model.server_call_id, model.correlation_id) == (server_call, conversation)
    assert len({e["id"] for e in events}) == 4
    assert len({e["data"]["callConnectionId"] for e in events}) == 1
    times = [parse_time(e["time"]) for e in events]
    assert times == sorted(times)
    # Every outcome is recorded, and the file event still follows the stop.
    assert [o["status"] for o in wait_for_outcomes(emulator, recording_id, 4)] == [200] * 4
    assert read_event(emulator, stopped["eventId"])[0]["data"]["recordingStorageInfo"]["recordingChunks"]


@pytest.mark.parametrize("failure", ["refused", "error-status"])
def test_a_failing_callback_never_breaks_the_recording(
    emulator: EmulatorProcess, admin: EmulatorAdmin, failure: str
) -> None:
    conversation = f"conv-callback-{failure}"
    with CallbackReceiver(status=500) as receiver:
        callback = f"http://127.0.0.1:{closed_port()}/gone" if failure == "refused" else receiver.url()
        recording_id = start(admin, conversation, callback)
        stopped = drive(admin, conversation, recording_id)
        records = wait_for_outcomes(emulator, recording_id, 4)
    if failure == "refused":
        assert all("ConnectionRefusedError" in r["error"] for r in records)
    else:
        assert [r["status"] for r in records] == [500] * 4
    assert read_event(emulator, stopped["eventId"])[0]["data"]["recordingStorageInfo"]["recordingChunks"]
    state = admin.call_api("GET", f"/calling/recordings/{recording_id}").json()
    assert state["recordingState"] == "inactive"


def test_a_hung_callback_times_out_in_the_background(emulator: EmulatorProcess, admin: EmulatorAdmin) -> None:
    """A receiver that never answers costs the API nothing; the attempt gives up after ~5 s."""
    conversation = "conv-callback-hung"
    with SilentListener() as listener:
        recording_id = start(admin, conversation, listener.url())
        stopped = drive(admin, conversation, recording_id)
        assert read_event(emulator, stopped["eventId"])[0]["data"]["recordingStorageInfo"]["recordingChunks"]
        [first] = wait_for_outcomes(emulator, recording_id, 1, timeout=15)
    assert first["event"][0]["data"]["state"] == "active"
    assert "timed out" in first["error"]


@pytest.mark.parametrize(
    "callback",
    [
        "https://example.com/callbacks",
        "http://10.0.0.5/callbacks",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost.example.com/callbacks",
        "http://127.0.0.1.nip.io/callbacks",
        "http://invalid.example.com/callbacks",
        "ftp://127.0.0.1/callbacks",
        "127.0.0.1/callbacks",
        "http://127.0.0.1:99999/callbacks",
    ],
)
def test_a_callback_uri_off_this_machine_is_refused(
    emulator: EmulatorProcess, admin: EmulatorAdmin, callback: str
) -> None:
    before = sorted(Path(emulator.state_dir / "recordings").iterdir())
    response = admin.call_api(
        "POST", "/calling/conversations/conv-refused/recordings", {"recordingStateCallbackUri": callback}
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["target"]) == ("BadRequest", "recordingStateCallbackUri")
    assert "loopback" in body["message"] and repr(callback) in body["message"]
    assert sorted(Path(emulator.state_dir / "recordings").iterdir()) == before  # nothing started


def test_a_reserved_invalid_callback_is_accepted_and_never_called(
    emulator: EmulatorProcess, admin: EmulatorAdmin
) -> None:
    recording_id = start(admin, "conv-invalid", "https://callback.invalid/events")
    drive(admin, "conv-invalid", recording_id)
    records = wait_for_outcomes(emulator, recording_id, 4)
    assert all(set(r) == {"url", "time", "skipped", "event"} for r in records)


@pytest.mark.parametrize(
    ("callback", "called"),
    [
        ("http://127.0.0.1:8080/x", True),
        ("https://localhost/x", True),
        ("HTTP://LOCALHOST:9/x", True),
        ("http://127.8.9.10/x", True),
        ("http://[::1]:8080/x?y=1", True),
        ("https://callback.invalid/events", False),
        ("http://invalid/x", False),
    ],
)
def test_accepted_callback_uris(callback: str, called: bool) -> None:
    assert is_deliverable(callback) is called


def test_refusal_is_the_documented_error() -> None:
    with pytest.raises(ApiError) as refused:
        is_deliverable("https://contoso.example/cb")
    assert (refused.value.status, refused.value.target) == (400, "recordingStateCallbackUri")
