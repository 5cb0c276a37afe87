"""The RecordingFileStatusUpdated event in both delivery schemas, and its delivery.

An Event Grid subscription delivers the event in the schema it was created with, so the
emulator keeps both: ``{state_dir}/events/{id}.json`` holds the Event Grid schema (a JSON array
of one event) and ``cloudevents/{id}.json`` the same event in the CloudEvents 1.0 schema (one
object, as a structured-mode delivery carries it). When a webhook is configured the event is
POSTed there once, in the schema chosen by ``--event-schema``, the way Event Grid delivers it;
the outcome of that POST goes to ``deliveries/{id}.json``.

Sources for the two shapes and the delivery:

- Event Grid schema: the keys and their order of the shared samples and
  Azure/azure-rest-api-specs ``specification/eventgrid/data-plane/Microsoft.Communication/stable/
  2018-01-01/examples/event-grid-schema/recording_file_status_updated.json``.
- CloudEvents schema: the same repository's ``.../examples/cloud-events-schema/
  recording_file_status_updated.json`` (``source`` = the resource's ARM id, ``subject``,
  ``type``, ``time``, ``id``, ``data``, ``specversion`` ``1.0``; no ``datacontenttype``), copied
  in ``tests/fixtures/vendor/specs-cloud-events-schema.json``.
- Delivery: Event Grid's webhook headers (``aeg-event-type: Notification``,
  ``aeg-subscription-name``, ``aeg-delivery-count``, ``aeg-metadata-version`` - the spec version
  for CloudEvents - and ``aeg-data-version``, Event Grid schema only; learn.microsoft.com
  "Event Hubs as an event handler", *Message headers*); CloudEvents go out in the HTTP binding's
  structured mode, one event per request, ``Content-Type: application/cloudevents+json``.
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
EVENT_GRID_SCHEMA = "eventgrid"
CLOUD_EVENTS_SCHEMA = "cloudevents"
SCHEMAS = (EVENT_GRID_SCHEMA, CLOUD_EVENTS_SCHEMA)
CLOUD_EVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


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
    server_call: str,
    recording_id: str,
    chunks: list[dict[str, Any]],
    start_time: datetime,
    duration_ms: int,
    kind: RecordingKind,
) -> list[dict[str, Any]]:
    """The event as a JSON array of one, keys in the order of the shared sample."""
    subject = f"/recording/call/{call_id}/serverCallId/{server_call}/recordingId/{recording_id}"
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


def cloud_event(event: list[dict[str, Any]]) -> dict[str, Any]:
    """The CloudEvents 1.0 form of an Event Grid schema event (array of one), keys as the spec's."""
    [grid] = event
    return {
        "source": grid["topic"],
        "subject": grid["subject"],
        "type": grid["eventType"],
        "time": grid["eventTime"],
        "id": grid["id"],
        "data": grid["data"],
        "specversion": "1.0",
    }


def delivery(event: list[dict[str, Any]], schema: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of Event Grid's POST of ``event`` to a webhook in ``schema``."""
    headers = {
        "aeg-event-type": "Notification",
        "aeg-subscription-name": "EMULATOR",
        "aeg-delivery-count": "0",
    }
    if schema == CLOUD_EVENTS_SCHEMA:
        body = json.dumps(cloud_event(event)).encode("utf-8")
        return body, {"Content-Type": CLOUD_EVENTS_CONTENT_TYPE, **headers, "aeg-metadata-version": "1.0"}
    return json.dumps(event).encode("utf-8"), {
        "Content-Type": "application/json",
        **headers,
        "aeg-data-version": event[0]["dataVersion"],
        "aeg-metadata-version": event[0]["metadataVersion"],
    }


class EventPublisher:
    """Writes each event to the state dir in both schemas and POSTs it to the webhook, if any."""

    def __init__(self, state_dir: Path, webhook_url: str | None, schema: str = EVENT_GRID_SCHEMA) -> None:
        self.events_dir = state_dir / "events"
        self.cloud_events_dir = state_dir / "cloudevents"
        self.deliveries_dir = state_dir / "deliveries"
        self.events_dir.mkdir(parents=True, exist_ok=True)
        self.cloud_events_dir.mkdir(parents=True, exist_ok=True)
        self.webhook_url = webhook_url
        self.schema = schema

    def publish(self, event: list[dict[str, Any]]) -> None:
        event_id = event[0]["id"]
        write_json_atomic(self.cloud_events_dir / f"{event_id}.json", cloud_event(event))
        write_json_atomic(self.events_dir / f"{event_id}.json", event)
        if self.webhook_url:
            outcome = self._deliver(self.webhook_url, event)
            write_json_atomic(self.deliveries_dir / f"{event_id}.json", outcome)

    def _deliver(self, url: str, event: list[dict[str, Any]]) -> dict[str, Any]:
        """One POST, as Event Grid's first attempt; the outcome is recorded, never raised."""
        parts = urlsplit(url)
        body, headers = delivery(event, self.schema)
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
            return {
                "url": url,
                "schema": self.schema,
                "status": response.status,
                "time": acs_timestamp(utc_now()),
            }
        except OSError as exc:
            print(f"emulator: webhook delivery to {url} failed: {exc}", file=sys.stderr, flush=True)
            return {"url": url, "error": str(exc), "time": acs_timestamp(utc_now())}
        finally:
            connection.close()
