"""The RecordingFileStatusUpdated event (Event Grid schema) and its delivery.

Every event is written to ``{state_dir}/events/{id}.json`` and, when a webhook is configured,
POSTed there once the way Event Grid delivers (a JSON array of one event, header
``aeg-event-type: Notification``); the outcome of that POST goes to ``deliveries/{id}.json``.
"""

from __future__ import annotations

import base64
import http.client
import json
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archiver.dev.emulator.clock import acs_timestamp, utc_now
from archiver.dev.emulator.files import write_json_atomic
from archiver.dev.emulator.formats import RecordingKind

EVENT_TYPE = "Microsoft.Communication.RecordingFileStatusUpdated"
WEBHOOK_TIMEOUT_SECONDS = 30.0  # Event Grid waits this long for an answer


def topic_for(resource_name: str) -> str:
    return (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-emulator"
        f"/providers/Microsoft.Communication/communicationServices/{resource_name}"
    )


def server_call_id(conversation_id: str) -> str:
    """The conversation id as unpadded base64url text, the shape of a real serverCallId."""
    return base64.urlsafe_b64encode(conversation_id.encode("utf-8")).decode("ascii").rstrip("=")


def new_recording_id() -> str:
    """An id shaped like the service's: unpadded base64url of a small JSON document."""
    value = json.dumps(
        {"PlatformEndpointId": str(uuid.uuid4()), "ResourceSpecificId": str(uuid.uuid4())},
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii").rstrip("=")


def recording_event(
    *,
    topic: str,
    call_id: str,
    conversation_id: str,
    recording_id: str,
    chunks: list[dict[str, Any]],
    start_time: datetime,
    duration_ms: int,
    kind: RecordingKind,
) -> list[dict[str, Any]]:
    """The event as a JSON array of one, keys in the order of the shared sample."""
    subject = (
        f"/recording/call/{call_id}/serverCallId/{server_call_id(conversation_id)}/recordingId/{recording_id}"
    )
    data: dict[str, Any] = {
        "recordingStorageInfo": {"recordingChunks": chunks},
        "recordingStartTime": acs_timestamp(start_time),
        "recordingDurationMs": duration_ms,
        "sessionEndReason": "CallEnded",
        **kind.event_values(),
    }
    return [
        {
            "id": str(uuid.uuid4()),
            "topic": topic,
            "subject": subject,
            "data": data,
            "eventType": EVENT_TYPE,
            "dataVersion": "1.0",
            "metadataVersion": "1",
            "eventTime": acs_timestamp(utc_now()),
        }
    ]


class EventPublisher:
    """Writes each event to the state dir and POSTs it to the webhook, if any."""

    def __init__(self, state_dir: Path, webhook_url: str | None) -> None:
        self.events_dir = state_dir / "events"
        self.deliveries_dir = state_dir / "deliveries"
        self.events_dir.mkdir(parents=True, exist_ok=True)
        self.webhook_url = webhook_url

    def publish(self, event: list[dict[str, Any]]) -> None:
        event_id = event[0]["id"]
        write_json_atomic(self.events_dir / f"{event_id}.json", event)
        if self.webhook_url:
            outcome = self._deliver(self.webhook_url, event)
            write_json_atomic(self.deliveries_dir / f"{event_id}.json", outcome)

    def _deliver(self, url: str, event: list[dict[str, Any]]) -> dict[str, Any]:
        """One POST, as Event Grid's first attempt; the outcome is recorded, never raised."""
        parts = urlsplit(url)
        body = json.dumps(event).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "aeg-event-type": "Notification",
            "aeg-subscription-name": "EMULATOR",
            "aeg-delivery-count": "0",
            "aeg-data-version": "1.0",
            "aeg-metadata-version": "1",
        }
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port or 80, timeout=WEBHOOK_TIMEOUT_SECONDS
        )
        try:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            return {"url": url, "status": response.status, "time": acs_timestamp(utc_now())}
        except OSError as exc:
            print(f"emulator: webhook delivery to {url} failed: {exc}", file=sys.stderr, flush=True)
            return {"url": url, "error": str(exc), "time": acs_timestamp(utc_now())}
        finally:
            connection.close()
