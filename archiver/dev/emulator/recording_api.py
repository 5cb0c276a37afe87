"""The seed's Call Recording API (2021): start, state, pause, resume and stop a recording.

Today's API is ``call_automation_api``; both drive the same recordings (``recordings``).
"""

from __future__ import annotations

from archiver.dev.emulator.app import Emulator
from archiver.dev.emulator.callbacks import is_deliverable
from archiver.dev.emulator.calls import DEFAULT_PARTICIPANTS, seed_call
from archiver.dev.emulator.errors import bad_request
from archiver.dev.emulator.finalize import finalize
from archiver.dev.emulator.formats import kind_from_request
from archiver.dev.emulator.http_types import Request, Response, json_response
from archiver.dev.emulator.recordings import SEED_API, Recording, RecordingPlan

MAX_CHUNKS = 10


def _participants(value: object) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_PARTICIPANTS
    if not isinstance(value, list) or not value or not all(isinstance(p, str) and p for p in value):
        raise bad_request("participants must be a non-empty list of identifiers", "participants")
    return tuple(value)


def _chunk_count(value: object) -> int | None:
    if value is None:
        return None  # one, unless the emulator's --chunk-seconds splits it
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CHUNKS:
        raise bad_request(f"chunkCount must be an integer from 1 to {MAX_CHUNKS}", "chunkCount")
    return value


def _state(recording: Recording) -> dict[str, str]:
    return {"recordingId": recording.recording_id, "recordingState": recording.state}


def start(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    """Start recording; state changes from now on are POSTed to the callback URI (``callbacks``)."""
    body = request.json_object()
    callback = body.get("recordingStateCallbackUri")
    if not isinstance(callback, str) or not callback:
        raise bad_request("recordingStateCallbackUri is required", "recordingStateCallbackUri")
    is_deliverable(callback)  # a 400 unless loopback (called) or .invalid (never called)
    kind = kind_from_request(
        body.get("recordingContentType"),
        body.get("recordingChannelType"),
        body.get("recordingFormatType"),
        strict=True,
    )
    participants = _participants(body.get("participants"))
    recording = app.recordings.start(
        RecordingPlan(
            api=SEED_API,
            call=seed_call(params["conversation"], participants),
            conversation_id=params["conversation"],
            callback_uri=callback,
            kind=kind,
            participants=participants,
            chunk_count=_chunk_count(body.get("chunkCount")),
        )
    )
    # The seed's documents call it recordingInstanceId; later ones recordingId.
    return json_response(
        200, {"recordingId": recording.recording_id, "recordingInstanceId": recording.recording_id}
    )


def get_state(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    return json_response(200, _state(app.recordings.get(params["recording"], params.get("conversation"))))


def pause(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    app.recordings.pause(params["recording"], params.get("conversation"))
    return Response(200)


def resume(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    app.recordings.resume(params["recording"], params.get("conversation"))
    return Response(200)


def stop(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    """Stop, then produce the files and publish; the body (an extension) names the event."""
    recording = app.recordings.stop(params["recording"], params.get("conversation"))
    event = finalize(app, recording)
    return json_response(
        200,
        {
            "recordingId": recording.recording_id,
            "eventId": event[0]["id"],
            "documentIds": recording.document_ids,
        },
    )
