"""``python -m archiver.dev demo``: record a call on local services and archive it, end to end.

Starts Azurite and the ACS emulator on loopback, records two simulated calls with the official
Call Automation SDK (``CallAutomationClient``: start, pause, resume, stop, as an application
records its calls; ``LoopbackTransport`` delivers its requests to the emulator), delivers the
published events to the Function App's own functions exactly as the host would, drains the job
queue, prints what landed where, and stops everything it started.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from azure.communication.callautomation import (
    CallAutomationClient,
    CommunicationIdentifier,
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
)

from archiver.commands.tables import format_table
from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess
from archiver.dev.emulator.sdk import LoopbackTransport
from archiver.dev.stack import Azurite

RESOURCE_HOST = "demo-acs.communication.azure.com"
CALLS: list[dict[str, Any]] = [
    {
        "title": "support call, unmixed audio (one WAV channel per participant)",
        "serverCallId": "ZGVtby1zdXBwb3J0LWNhbGw",
        "options": {
            "recording_content_type": "audio",
            "recording_channel_type": "unmixed",
            "recording_format_type": "wav",
        },
        "participants": [
            "8:acs:11111111-2222-3333-4444-555555555555_00000021-0000-0000-0000-0000000000a1",
            "4:+14255550123",
            "8:acs:11111111-2222-3333-4444-555555555555_00000021-0000-0000-0000-0000000000b2",
        ],
    },
    {
        "title": "team meeting, mixed audio and video (MP4)",
        "serverCallId": "ZGVtby10ZWFtLW1lZXRpbmc",
        "options": {
            "recording_content_type": "audioVideo",
            "recording_channel_type": "mixed",
            "recording_format_type": "mp4",
        },
        "participants": [
            "8:acs:11111111-2222-3333-4444-555555555555_00000021-0000-0000-0000-0000000000a1",
            "8:orgid:6f1c2d3e-0000-4000-8000-00000000c3c3",
        ],
    },
]


def _say(text: str = "") -> None:
    print(text, flush=True)


def mask(participant_id: str) -> str:
    """Enough to tell people apart on screen, not enough to identify them."""
    kind, _, rest = participant_id.rpartition(":")
    return f"{kind}:…{rest[-4:]}" if kind else f"…{participant_id[-4:]}"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _identifier(raw_id: str) -> CommunicationIdentifier:
    """The SDK's identifier for a raw id (the demo's people are ACS users and phone numbers)."""
    if raw_id.startswith("4:"):
        return PhoneNumberIdentifier(raw_id.removeprefix("4:"))
    return CommunicationUserIdentifier(raw_id)


def _record(client: CallAutomationClient, admin: EmulatorAdmin, call: dict[str, Any]) -> str:
    """Record ``call`` with the SDK as an application would; return the published event's id."""
    # The emulator has no real calls: say who is in this one, so that the recording has them.
    admin.register_call(server_call_id=call["serverCallId"], participants=call["participants"])
    options = dict(call["options"])
    if options["recording_channel_type"] == "unmixed":  # channel 0 for the first, and so on
        options["audio_channel_participant_ordering"] = [_identifier(p) for p in call["participants"]]
    started = client.start_recording(
        server_call_id=call["serverCallId"],
        recording_state_callback_url="https://example.invalid/callbacks",
        **options,
    )
    recording = str(started.recording_id)
    state = client.get_recording_properties(recording).recording_state
    _say(f"  started   recording {recording[:12]}…  state={state}")
    steps = [
        ("paused", client.pause_recording, 1.2),
        ("resumed", client.resume_recording, 0.6),
        ("stopped", client.stop_recording, 1.2),
    ]
    for name, step, wait in steps:
        time.sleep(wait)
        step(recording)
        _say(f"  {name:<9} recording {recording[:12]}…")
    event_id: str = admin.recording(recording)["eventId"]
    return event_id


def _source_sha256(admin: EmulatorAdmin, url: str) -> str:
    response = admin.signed_request("GET", url)
    response.raise_for_status()
    return hashlib.sha256(response.content).hexdigest()


def run_demo() -> int:
    from archiver import layout, participants
    from archiver.dev.host import drain_queue, local_host
    from archiver.runtime import get_runtime, reset_runtime

    access_key = base64.b64encode(os.urandom(32)).decode()
    _say("Starting Azurite (Blob + Queue) and the ACS recording emulator on 127.0.0.1 ...")
    with (
        Azurite() as azurite,
        EmulatorProcess(access_key=access_key, resource_host=RESOURCE_HOST) as emulator,
    ):
        _say(f"  Azurite blob {azurite.blob_url}  queue {azurite.queue_url}")
        _say(f"  emulator     {emulator.url} (as https://{RESOURCE_HOST})")
        env = {
            "ACS_CONNECTION_STRING": emulator.connection_string,
            "ARCHIVE_STORAGE_CONNECTION_STRING": azurite.connection_string,
            "AzureWebJobsStorage": azurite.connection_string,
            "LOCAL_SOURCE_URL": emulator.url,
        }
        client = CallAutomationClient.from_connection_string(
            emulator.connection_string, transport=LoopbackTransport(emulator.url)
        )
        with _environment(env), emulator.admin() as admin, client:
            reset_runtime()
            runtime = get_runtime()
            events: list[Path] = []
            for call in CALLS:
                _say(f"\nRecording a {call['title']}:")
                event_id = _record(client, admin, call)
                events.append(emulator.state_dir / "events" / f"{event_id}.json")
            _say("\nDelivering the RecordingFileStatusUpdated events to ingest_recording_event ...")
            host = local_host()
            for path in events:
                for invocation in host.deliver_event_grid(path.read_bytes()):
                    if invocation.error is not None:
                        raise invocation.error
            _say("Running archive_recording_chunk on the job queue until it is empty ...")
            worker = host.queue_message_invoker("archive_recording_chunk")
            report = drain_queue(runtime.queue, worker, timeout=300)
            _say(f"  {report.succeeded} chunk job(s) archived, {report.raised} raised")

            sources = {
                chunk["documentId"]: chunk["contentLocation"]
                for path in events
                for chunk in json.loads(path.read_text())[0]["data"]["recordingStorageInfo"][
                    "recordingChunks"
                ]
            }
            rows: list[tuple[str, ...]] = [
                ("blob (container recordings)", "bytes", "sha256", "matches source")
            ]
            for name in sorted(runtime.store.archived_names("")):
                if name.endswith("/manifest.json"):
                    rows.append((name, "", "", "recording complete"))
                    continue
                manifest = runtime.store.chunk_manifest(name) if name.endswith(".manifest.json") else None
                if manifest is None:
                    continue
                media, meta = manifest.media, manifest.metadata
                matches = _source_sha256(admin, sources[manifest.document_id]) == media.sha256
                rows.append(
                    (media.blob, f"{media.size:,}", media.sha256[:16] + "…", "yes" if matches else "NO")
                )
                rows.append((meta.blob, f"{meta.size:,}", meta.sha256[:16] + "…", "byte for byte"))
                rows.append((name, "", "", "commit point"))
            _say("\nArchived:\n" + format_table(rows))
            people = {p: participants.find(runtime.store, p) for call in CALLS for p in call["participants"]}
            index_rows: list[tuple[str, ...]] = [
                ("participant", "index key (sha256)", "recordings", "channel(s)")
            ]
            for person, entries in people.items():
                channels = ",".join("mixed" if e.channel is None else str(e.channel) for e in entries)
                key = layout.participant_digest(person)[:16] + "…"
                index_rows.append(
                    (mask(person), key, str(len({e.recording_manifest for e in entries})), channels)
                )
            _say("\nParticipant index (container participant-index):\n" + format_table(index_rows))
            first = CALLS[0]["participants"][0]
            _say(
                f"\nTry it yourself against your own storage: python -m archiver participants find '{first}'"
            )
            reset_runtime()
    _say("\nStopped Azurite and the emulator. Done.")
    return 0 if report.raised == 0 else 1
