"""The unauthenticated test API under ``/_emulator/``: seed documents, register calls, look up
recordings and events, inject faults, stats.

None of these requests is counted in the stats, so a test can assert that a client sent
nothing at all to the emulated service.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from archiver.dev.emulator.app import Emulator
from archiver.dev.emulator.calls import DEFAULT_PARTICIPANTS, registration
from archiver.dev.emulator.clock import utc_now
from archiver.dev.emulator.documents import check_document_id, new_document_id
from archiver.dev.emulator.errors import bad_request, not_found
from archiver.dev.emulator.events import (
    CLOUD_EVENTS_SCHEMA,
    EVENT_GRID_SCHEMA,
    new_recording_id,
    recording_event,
    server_call_id,
)
from archiver.dev.emulator.faults import TARGETS, parse_fault
from archiver.dev.emulator.formats import CONTENT_TYPES, FORMATS, canonical, kind_from_request
from archiver.dev.emulator.http_types import Request, Response, json_response
from archiver.dev.emulator.locations import chunk_locations, seed_locations
from archiver.dev.emulator.producer import ChunkSpec, produce
from archiver.dev.emulator.timeline import END_REASON_LAST

DEFAULT_SEED_DURATION_MS = 5000
MAX_SEED_DURATION_MS = 4 * 3600 * 1000  # a chunk is at most four hours long
MAX_SEED_SIZE = 1 << 40


def _integer(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_request(f"{key} must be an integer from {low} to {high}", key)
    return value


def _string(body: dict[str, Any], key: str, default: str) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value:
        raise bad_request(f"{key} must be a non-empty string", key)
    return value


def health(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    return json_response(200, {"status": "ok", "url": app.public_url})


def seed_document(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    """Create (or replace) a document; the response says where it is served and its event."""
    body = request.json_object()
    fmt = body.get("format")
    fmt = None if fmt is None else canonical(fmt, FORMATS, "format")
    content_type = body.get("contentType")
    if content_type is None:
        content_type = "audioVideo" if fmt in (None, "mp4") else "audio"
    kind = kind_from_request(
        canonical(content_type, CONTENT_TYPES, "contentType"), body.get("channelType"), fmt, strict=False
    )
    index = _integer(body, "index", 0, 0, 10_000)
    document_id = check_document_id(body.get("documentId") or new_document_id(index))
    participants = body.get("participants", list(DEFAULT_PARTICIPANTS))
    if not isinstance(participants, list) or not all(isinstance(p, str) for p in participants):
        raise bad_request("participants must be a list of identifiers", "participants")
    raw_metadata = body.get("metadata")
    if raw_metadata is not None and not isinstance(raw_metadata, str):
        raise bad_request("metadata must be the metadata file's JSON text, as a string", "metadata")
    size_bytes = body.get("sizeBytes")
    if size_bytes is not None:
        size_bytes = _integer(body, "sizeBytes", 0, 0, MAX_SEED_SIZE)
    duration_ms = _integer(body, "durationMs", DEFAULT_SEED_DURATION_MS, 1, MAX_SEED_DURATION_MS)
    call_id = _string(body, "callId", str(uuid.uuid4()))
    end_reason = _string(body, "endReason", END_REASON_LAST)
    publish = body.get("publish", False)
    if not isinstance(publish, bool):
        raise bad_request("publish must be true or false", "publish")
    start_time = utc_now() - timedelta(milliseconds=duration_ms)

    document = produce(
        app.documents,
        ChunkSpec(
            document_id=document_id,
            index=index,
            kind=kind,
            resource_id=app.config.immutable_resource_id,
            call_id=call_id,
            participants=tuple(participants),
            start_time=start_time,
            duration_ms=duration_ms,
            raw_metadata=None if raw_metadata is None else raw_metadata.encode("utf-8"),
            size_bytes=size_bytes,
        ),
    )
    locations = chunk_locations(app.public_url, document_id, kind)
    event = recording_event(
        topic=app.config.topic,
        call_id=call_id,
        server_call=server_call_id(call_id),
        recording_id=new_recording_id(),
        chunks=[{"documentId": document_id, "index": index, "endReason": end_reason, **locations}],
        start_time=start_time,
        duration_ms=duration_ms,
        kind=kind,
    )
    if publish:
        app.publisher.publish(event)
    return json_response(
        200,
        {
            "documentId": document_id,
            **locations,
            **seed_locations(app.public_url, document_id),
            "sha256": document.sha256,
            "size": document.size,
            "metadataSha256": document.metadata_sha256,
            "metadataSize": document.metadata_size,
            "event": event,
        },
    )


def forget_document(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    """Drop a document, as when the retention window closes: later requests get 404."""
    existed = app.documents.remove(check_document_id(params["document"]))
    return json_response(200, {"documentId": params["document"], "existed": existed})


def register_call(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    """Say who is in a call (and, optionally, its callId) before a recording is started on it.

    The emulator has no calls; without this, a call named by a start request has two default
    participants and ids derived from its locator (``calls``).
    """
    key, call = registration(request.json_object())
    app.calls.register(key, call)
    return json_response(
        200,
        {
            key.field: key.value,
            "callId": call.call_id,
            "serverCallId": call.server_call_id,
            "callConnectionId": call.call_connection_id,
            "participants": list(call.participants),
        },
    )


def recording(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    """A recording's state as the emulator keeps it, including its event and documents once stopped.

    Today's stop answers 204 with no body, so this is how a test finds the event it published.
    """
    return json_response(200, app.recordings.get(params["recording"]).to_json())


def event(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    """A published event, ``?schema=eventgrid`` (default, array of one) or ``cloudevents`` (object)."""
    schema = request.query("schema") or EVENT_GRID_SCHEMA
    if schema not in (EVENT_GRID_SCHEMA, CLOUD_EVENTS_SCHEMA):
        raise bad_request(f"schema must be {EVENT_GRID_SCHEMA} or {CLOUD_EVENTS_SCHEMA}", "schema")
    folder = app.publisher.events_dir if schema == EVENT_GRID_SCHEMA else app.publisher.cloud_events_dir
    event_id = params["event"]
    try:
        uuid.UUID(event_id)
        stored = (folder / f"{event_id}.json").read_bytes()
    except (ValueError, FileNotFoundError):
        raise not_found(f"event {event_id} not found", "eventId") from None
    return json_response(200, json.loads(stored))


def add_faults(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    body = request.json_object()
    document_id = body.get("documentId")
    if document_id != "*":
        document_id = check_document_id(document_id)
    target = body.get("target", "any")
    if target not in TARGETS:
        raise bad_request(f"target must be one of {', '.join(TARGETS)}", "target")
    raw_faults = body.get("faults")
    if not isinstance(raw_faults, list) or not raw_faults:
        raise bad_request("faults must be a non-empty list", "faults")
    faults = [parse_fault(raw) for raw in raw_faults]
    queued = app.faults.add(document_id, target, faults)
    return json_response(200, {"documentId": document_id, "target": target, "queued": queued})


def list_faults(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    return json_response(200, {"pending": app.faults.pending()})


def clear_faults(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    app.faults.clear()
    return json_response(200, {"pending": []})


def stats(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    return json_response(200, app.log.snapshot())


def reset_stats(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    app.log.reset()
    return json_response(200, app.log.snapshot())
