"""Today's Call Automation recording API, as the official SDKs call it.

Operations, status codes and bodies are the stable REST spec's (Azure/azure-rest-api-specs
``specification/communication/data-plane/CallAutomation/stable/2025-05-15/
communicationservicescallautomation.json``, tag ``Recording``, and its examples
``CallRecording_*.json``), which is what azure-communication-callautomation 1.6 generates from
(``_generated/operations/_operations.py``, ``CallRecordingOperations``; it sends api-version
``2026-03-12``):

- ``POST /calling/recordings`` ``StartCallRecordingRequest`` -> 200 ``RecordingStateResponse``
  ``{"recordingId", "recordingState", "recordingKind"}`` (the SDK accepts 200 or 202);
- ``GET /calling/recordings/{recordingId}`` -> 200 ``RecordingStateResponse``;
- ``DELETE /calling/recordings/{recordingId}`` -> 204, no body (stop);
- ``POST /calling/recordings/{recordingId}:pause`` and ``:resume`` -> 202, no body;
- anything else -> ``CommunicationErrorResponse`` (``errors``) with the status the SDK maps:
  404 ``ResourceNotFoundError`` for an unknown recording, 400 for a bad request or combination.

``StartCallRecordingRequest`` fields: ``callLocator`` (``{"kind": "serverCallLocator" |
"groupCallLocator" | "roomCallLocator", "serverCallId" | "groupCallId" | "roomId"}``) or
``callConnectionId`` (exactly one), ``recordingStateCallbackUri`` (optional here, unlike the seed),
``recordingContentType`` / ``recordingChannelType`` / ``recordingFormatType`` (defaults and
supported combinations in ``formats``), ``audioChannelParticipantOrdering`` and
``channelAffinity`` (``channels``), ``pauseOnStart`` and ``externalStorage``
(``{"recordingStorageKind": "azureCommunicationServices" | "azureBlobStorage",
"recordingDestinationContainerUrl"}``; the SDK's ``recording_storage``). The spec notes that
a room locator is "not supported for Start Recording", yet the SDK offers ``room_id``: the
emulator accepts it. ``RecordingState`` has only ``active`` and ``inactive``, so a paused
recording reads ``inactive``; ``recordingKind`` is always ``azureCommunicationServices``.

The start request's ``Repeatability-Request-ID`` (sent by the SDK on every start) is honoured
(``repeatability``): a repeated id gets the first answer again and starts nothing.
"""

from __future__ import annotations

from archiver.dev.emulator import repeatability
from archiver.dev.emulator.app import Emulator
from archiver.dev.emulator.callbacks import FIELD as CALLBACK_FIELD
from archiver.dev.emulator.callbacks import RECORDING_KIND, callback_state, is_deliverable
from archiver.dev.emulator.calls import start_key
from archiver.dev.emulator.channels import layout
from archiver.dev.emulator.errors import bad_request, not_implemented
from archiver.dev.emulator.finalize import finalize
from archiver.dev.emulator.formats import kind_from_request
from archiver.dev.emulator.http_types import Request, Response, json_response
from archiver.dev.emulator.recordings import CALL_AUTOMATION_API, Recording, RecordingPlan

# The first stable Call Automation API; a request with this api-version or a later one on a
# path both APIs share (GET/DELETE /calling/recordings/{id}) is answered in today's shapes.
FIRST_VERSION = "2023-03-06"
STORAGE = "externalStorage"
OWN_STORAGE = "azureCommunicationServices"
BLOB_STORAGE = "azureBlobStorage"


def is_todays_version(request: Request) -> bool:
    """True if the request's ``api-version`` is today's Call Automation API (not the seed's)."""
    version = request.query("api-version")
    return version is not None and version[:10] >= FIRST_VERSION


def state_response(recording: Recording) -> dict[str, str]:
    """``RecordingStateResponse``: the service's two states and the recording's kind."""
    return {
        "recordingId": recording.recording_id,
        "recordingState": callback_state(recording.state),
        "recordingKind": RECORDING_KIND,
    }


def _check_storage(value: object) -> None:
    """Only the service's own storage is emulated; bring-your-own blob storage is a clear 501."""
    if value is None:
        return
    kind = value.get("recordingStorageKind") if isinstance(value, dict) else None
    if not isinstance(kind, str) or kind.lower() not in (OWN_STORAGE.lower(), BLOB_STORAGE.lower()):
        raise bad_request(f"{STORAGE}.recordingStorageKind must be {OWN_STORAGE} or {BLOB_STORAGE}", STORAGE)
    if kind.lower() == BLOB_STORAGE.lower():
        raise not_implemented(
            f"the emulator keeps recordings in its own storage ({OWN_STORAGE}); {BLOB_STORAGE}"
            " (bring your own container) is not emulated: start without recording_storage, or with"
            " AzureCommunicationsRecordingStorage",
            STORAGE,
        )


def _callback(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise bad_request(f"{CALLBACK_FIELD} must be a URI", CALLBACK_FIELD)
    is_deliverable(value)  # a 400 unless loopback (called) or .invalid (never called)
    return value


def _pause_on_start(value: object) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_request("pauseOnStart must be true or false", "pauseOnStart")
    return value


def plan_from(app: Emulator, body: dict[str, object]) -> RecordingPlan:
    """Validate a ``StartCallRecordingRequest`` into what the recording will be."""
    key = start_key(body)
    _check_storage(body.get(STORAGE))
    callback = _callback(body.get(CALLBACK_FIELD))
    kind = kind_from_request(
        body.get("recordingContentType"),
        body.get("recordingChannelType"),
        body.get("recordingFormatType"),
        strict=True,
    )
    pause_on_start = _pause_on_start(body.get("pauseOnStart"))
    call = app.calls.find(key)
    chosen = layout(body, call.participants, unmixed=kind.channel_type == "unmixed")
    return RecordingPlan(
        api=CALL_AUTOMATION_API,
        call=call,
        conversation_id=None,
        callback_uri=callback,
        kind=kind,
        participants=chosen.participants,
        channels=chosen.channels,
        pause_on_start=pause_on_start,
    )


def start(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    """``CallRecording_StartRecording``; state callbacks go to the callback URI from now on."""
    request_id = request.headers.get(repeatability.HEADER)
    earlier = app.starts.recall(request_id) if request_id else None
    if earlier is not None:
        return earlier
    recording = app.recordings.start(plan_from(app, request.json_object()))
    response = json_response(200, state_response(recording))
    if request_id:
        app.starts.remember(request_id, response)
    return response


def get_properties(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    """``CallRecording_GetRecordingProperties``."""
    return json_response(200, state_response(app.recordings.get(params["recording"])))


def pause(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    """``CallRecording_PauseRecording``: 202 and no body."""
    app.recordings.pause(params["recording"])
    return Response(202)


def resume(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    """``CallRecording_ResumeRecording``: 202 and no body."""
    app.recordings.resume(params["recording"])
    return Response(202)


def stop(app: Emulator, request: Request, params: dict[str, str]) -> Response:
    """``CallRecording_StopRecording``: 204 once the chunks are written and the event published.

    The service publishes the event a little later; here it is out before the answer, so a test
    can read it at once (``GET /_emulator/recordings/{recordingId}`` names it).
    """
    finalize(app, app.recordings.stop(params["recording"]))
    return Response(204)
