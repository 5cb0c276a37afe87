"""The Functions host's view of the app: importable with nothing set, six functions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_imports_with_no_settings_and_no_network() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACS_", "ARCHIVE_", "AzureWebJobs"))}
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('network used at import')\n"
        "socket.socket.connect = refuse\n"
        "import function_app\n"
        "print(len(function_app.app.get_functions()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "6"


def test_functions_triggers_and_bindings(function_app_functions: dict[str, dict[str, object]]) -> None:
    from archiver.settings import JOBS_QUEUE

    assert set(function_app_functions) == {
        "ingest_recording_event",
        "archive_recording_chunk",
        "redrive_failed_jobs",
        "replay_dead_letters",
        "reconcile_with_acs",
        "verify_archive_integrity",
    }
    assert function_app_functions["ingest_recording_event"]["type"] == "eventGridTrigger"
    queue = function_app_functions["archive_recording_chunk"]
    assert queue["type"] == "queueTrigger"
    assert queue["queueName"] == JOBS_QUEUE
    assert queue["connection"] == "AzureWebJobsStorage"
    timer = function_app_functions["redrive_failed_jobs"]
    assert timer["type"] == "timerTrigger"
    assert timer["schedule"] == "0 */5 * * * *"
    schedules = {
        name: function_app_functions[name]["schedule"]
        for name in function_app_functions
        if name != "redrive_failed_jobs" and function_app_functions[name]["type"] == "timerTrigger"
    }
    assert schedules == {
        "replay_dead_letters": "0 */15 * * * *",  # every 15 minutes
        "reconcile_with_acs": "0 7 * * * *",  # hourly
        "verify_archive_integrity": "0 30 3 * * 0",  # weekly
    }


# --- Trigger inputs, decoded by azure.functions' own converters -------------------------------

EVENT_TYPE = "Microsoft.Communication.RecordingFileStatusUpdated"
CALL_ID = "f3b2c1a0-5d4e-4f6a-8b7c-9d0e1f2a3b4c"


def _event_grid_event(event_time: str) -> dict[str, object]:
    return {
        "id": "7283825e-f8f1-4c61-a9ea-752c56890500",
        "topic": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
        "Microsoft.Communication/communicationServices/acs-contoso",
        "subject": f"/recording/call/{CALL_ID}/serverCallId/aHR0cHM6Ly9hcGk",
        "eventType": EVENT_TYPE,
        "eventTime": event_time,
        "dataVersion": "1.0",
        "data": {
            "recordingStorageInfo": {
                "recordingChunks": [
                    {
                        "documentId": "0-eus-d2-3cca2175891f21c6c9a5975a12c0141c",
                        "index": 0,
                        "endReason": "SessionEnded",
                        "contentLocation": "https://eus-storage.asm.skype.com/v1/objects/0-eus-d2-3cca2175891f21c6c9a5975a12c0141c/content/video",
                        "metadataLocation": "https://eus-storage.asm.skype.com/v1/objects/0-eus-d2-3cca2175891f21c6c9a5975a12c0141c/content/acsmetadata",
                    }
                ]
            },
            "recordingStartTime": "2021-05-05T20:49:34.123Z",
            "recordingDurationMs": 60000,
        },
    }


def _jobs_via_converter(event: dict[str, object]) -> list[object]:
    """Decode with the library's converter, rebuild with our glue, parse: the trigger's path."""
    from azure.functions import meta

    from archiver.delivery import delivered_event_json
    from archiver.events import jobs_from_event, split_payload
    from archiver.settings import Settings

    converter = meta.get_binding_registry().get("eventGridTrigger")
    decoded = converter.decode(meta.Datum(type="json", value=json.dumps(event)), trigger_metadata={})
    settings = Settings(
        acs_connection_string=f"endpoint=https://acs-contoso.communication.azure.com/;accesskey={'a' * 44}"
    )
    [raw] = split_payload(delivered_event_json(decoded))
    return list(jobs_from_event(raw, settings))


@pytest.mark.parametrize(
    ("event_time", "expected"),
    [
        ("2021-05-05T20:50:34.2351390Z", datetime(2021, 5, 5, 20, 50, 34, 235139, tzinfo=UTC)),
        ("2021-05-05T20:50:34Z", datetime(2021, 5, 5, 20, 50, 34, tzinfo=UTC)),
        ("2021-05-05T20:50:34.1234567+00:00", datetime(2021, 5, 5, 20, 50, 34, 123456, tzinfo=UTC)),
    ],
)
def test_event_time_stays_utc_through_the_converter(event_time: str, expected: datetime) -> None:
    [job] = _jobs_via_converter(_event_grid_event(event_time))
    assert job.recording.event_time == expected  # type: ignore[attr-defined]
    assert job.recording.event_time.utcoffset() == timedelta(0)  # type: ignore[attr-defined]
    assert job.recording.deadline == expected + timedelta(hours=24)  # type: ignore[attr-defined]


def test_cloud_event_through_the_converter_gives_the_same_job() -> None:
    from tests.support import as_cloud_event

    event = _event_grid_event("2021-05-05T20:50:34.2351390Z")
    cloud = as_cloud_event(event)
    [from_event_grid] = _jobs_via_converter(event)
    [from_cloud_event] = _jobs_via_converter(cloud)
    assert from_cloud_event == from_event_grid


def test_an_event_time_the_converter_refuses_never_reaches_our_code() -> None:
    """The worker fails the invocation: Event Grid retries, then dead-letters (README says so)."""
    from archiver.dev.host import local_host

    event = _event_grid_event("2021-05-05T22:50:34.5+02:00")
    [invocation] = local_host().deliver_event_grid(json.dumps([event]).encode())
    assert isinstance(invocation.error, ValueError)


def test_queue_message_reaches_the_function_as_the_host_sends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A string body with pop receipt and aware times, decoded by the queue converter."""
    from azure.storage.queue import QueueMessage as StorageMessage

    import archiver.worker
    from archiver.dev.host import local_host

    seen: list[object] = []
    monkeypatch.setattr(archiver.worker, "process_message", lambda body, *rest: seen.append(body))

    class _Runtime:
        settings = store = queue = archiver = None

    monkeypatch.setattr("archiver.runtime.get_runtime", _Runtime)
    message = StorageMessage(content='{"job": 1}')
    message.id, message.pop_receipt, message.dequeue_count = "m-1", "AgAAAAMAAAAAAAAA", 2
    message.inserted_on = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    message.expires_on = message.inserted_on + timedelta(days=7)
    message.next_visible_on = message.inserted_on + timedelta(seconds=30)
    invocation = local_host().queue_message_invoker("archive_recording_chunk")(message)
    assert invocation.ok, invocation.error
    assert seen == [b'{"job": 1}']
