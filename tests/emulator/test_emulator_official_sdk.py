"""The official Call Automation SDK records calls against the emulator (today's recording API).

Every test drives ``CallAutomationClient`` (azure-communication-callautomation, with the
emulator's connection string and ``LoopbackTransport``) exactly as an application would: start
with every locator and every supported content/channel/format combination, pause, resume, get
properties, stop; the recording state callbacks reach a loopback receiver in order, and errors
surface as the SDK's own exceptions.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.communication.callautomation import (
    AzureBlobContainerRecordingStorage,
    AzureCommunicationsRecordingStorage,
    CallAutomationClient,
    ChannelAffinity,
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
)
from azure.communication.callautomation._generated.models import RecordingStateChanged
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from callback_receiver import CallbackReceiver, wait_until
from emulator_media import check_mp3, check_mp4, check_wav, dominant_hz
from emulator_support import MAX_MEDIA_SECONDS

from archiver.dev.emulator import pcm
from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess

ALICE = "8:acs:11111111-2222-3333-4444-555555555555_00000021-0000-0000-0000-0000000000a1"
BOB = "4:+14255550123"
CAROL = "8:acs:11111111-2222-3333-4444-555555555555_00000021-0000-0000-0000-0000000000c3"
PEOPLE = [ALICE, BOB, CAROL]
VENDOR = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"


def server_call_id() -> str:
    """A fresh serverCallId shaped like the service's (base64url of a conversation URL)."""
    url = f"https://api.flightproxy.skype.com/api/v2/cp/conv-emulator/conv/{uuid.uuid4()}?i=3"
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def new_call(admin: EmulatorAdmin, participants: list[str] = PEOPLE) -> str:
    call = server_call_id()
    admin.register_call(server_call_id=call, participants=participants)
    return call


def chunks(event: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = event[0]["data"]["recordingStorageInfo"]["recordingChunks"]
    return found


def published(admin: EmulatorAdmin, recording_id: str) -> list[dict[str, Any]]:
    """The RecordingFileStatusUpdated event a stopped recording published (Event Grid schema)."""
    event: list[dict[str, Any]] = admin.event(admin.recording(recording_id)["eventId"])
    return event


def download(admin: EmulatorAdmin, url: str) -> bytes:
    response = admin.signed_request("GET", url)
    assert response.status_code == 200, response.text
    return response.content


def error_of(caught: pytest.ExceptionInfo[Any]) -> tuple[int, str, str]:
    """Status, code and target of the SDK's exception, read from the service's error body."""
    error = caught.value
    assert error.status_code is not None and error.error is not None
    return error.status_code, str(error.error.code), str(getattr(error.error, "target", ""))


# --- Start: every supported combination, through the SDK ----------------------------------------


def check_media(kind: tuple[str, str, str], data: bytes, participants: int) -> None:
    content, channel, fmt = kind
    if fmt == "mp4":
        tracks = check_mp4(data)
        assert (b"vide" in tracks) == (content == "audioVideo") and b"soun" in tracks
    elif fmt == "mp3":
        assert check_mp3(data).frames > 0
    else:
        assert check_wav(data).channels == (participants if channel == "unmixed" else 1)


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        ({}, ("audioVideo", "mixed", "mp4")),  # the service's defaults
        (
            {
                "recording_content_type": "audioVideo",
                "recording_channel_type": "mixed",
                "recording_format_type": "mp4",
            },
            ("audioVideo", "mixed", "mp4"),
        ),
        ({"recording_content_type": "audio", "recording_format_type": "mp3"}, ("audio", "mixed", "mp3")),
        (
            {
                "recording_content_type": "audio",
                "recording_channel_type": "mixed",
                "recording_format_type": "wav",
            },
            ("audio", "mixed", "wav"),
        ),
        (
            {
                "recording_content_type": "audio",
                "recording_channel_type": "unmixed",
                "recording_format_type": "wav",
            },
            ("audio", "unmixed", "wav"),
        ),
        (
            {"recording_content_type": "Audio", "recording_channel_type": "UNMIXED"},
            ("audio", "unmixed", "wav"),
        ),
    ],
)
def test_every_supported_combination_records(
    sdk: CallAutomationClient, admin: EmulatorAdmin, options: dict[str, str], kind: tuple[str, str, str]
) -> None:
    call = new_call(admin)
    started = sdk.start_recording(server_call_id=call, **options)
    assert (started.recording_state, started.recording_kind) == ("active", "azureCommunicationServices")
    recording_id = str(started.recording_id)
    properties = sdk.get_recording_properties(recording_id)
    assert (properties.recording_id, properties.recording_state) == (recording_id, "active")
    sdk.stop_recording(recording_id)
    assert sdk.get_recording_properties(recording_id).recording_state == "inactive"

    event = published(admin, recording_id)
    data = event[0]["data"]
    content, channel, fmt = kind
    assert (data["recordingContentType"], data["recordingChannelType"], data["recordingFormatType"]) == (
        content[0].upper() + content[1:],
        channel.capitalize(),
        fmt.capitalize(),
    )
    [chunk] = chunks(event)
    check_media(kind, download(admin, chunk["contentLocation"]), len(PEOPLE))
    metadata = json.loads(download(admin, chunk["metadataLocation"]))
    info = metadata["recordingInfo"]
    assert (info["contentType"], info["channelType"], info["format"]) == kind
    assert [p["participantId"] for p in metadata["participants"]] == PEOPLE
    assert metadata["callId"] == admin.recording(recording_id)["callId"]


@pytest.mark.parametrize(
    "options",
    [
        {
            "recording_content_type": "audio",
            "recording_channel_type": "unmixed",
            "recording_format_type": "mp4",
        },
        {
            "recording_content_type": "audio",
            "recording_channel_type": "unmixed",
            "recording_format_type": "mp3",
        },
        {"recording_content_type": "audioVideo", "recording_format_type": "wav"},
        {"recording_content_type": "audioVideo", "recording_channel_type": "unmixed"},
        {"recording_format_type": "flac"},
    ],
)
def test_an_unsupported_combination_is_a_400(
    sdk: CallAutomationClient, admin: EmulatorAdmin, options: dict[str, str]
) -> None:
    with pytest.raises(HttpResponseError) as caught:
        sdk.start_recording(server_call_id=new_call(admin), **options)
    status, code, target = error_of(caught)
    assert (status, code) == (400, "BadRequest")
    assert target.startswith("recording")


# --- Pause, resume, properties, stop, and the state callbacks ------------------------------------


def test_lifecycle_with_state_callbacks_in_order(
    sdk: CallAutomationClient, admin: EmulatorAdmin, emulator: EmulatorProcess
) -> None:
    call = new_call(admin)
    with CallbackReceiver() as receiver:
        started = sdk.start_recording(
            server_call_id=call,
            recording_content_type="audio",
            recording_format_type="mp3",
            recording_state_callback_url=receiver.url("/api/recording?token=abc"),
        )
        recording_id = str(started.recording_id)
        states = [started.recording_state]
        for step in (sdk.pause_recording, sdk.resume_recording):
            time.sleep(0.3)
            step(recording_id)
            states.append(sdk.get_recording_properties(recording_id).recording_state)
        sdk.stop_recording(recording_id)
        states.append(sdk.get_recording_properties(recording_id).recording_state)
        received = receiver.wait_for(4)
        time.sleep(0.2)
        assert len(receiver.received) == 4
    assert states == ["active", "inactive", "active", "inactive"]
    assert all(r.path == "/api/recording?token=abc" for r in received)
    events = [r.body[0] for r in received]
    assert [e["data"]["state"] for e in events] == ["active", "inactive", "active", "inactive"]
    kept = admin.recording(recording_id)
    for event in events:
        assert event["type"] == "Microsoft.Communication.RecordingStateChanged"
        assert event["subject"] == f"calling/recordings/{call}/recordingId/{recording_id}"
        model = RecordingStateChanged.deserialize(event["data"])
        assert (model.recording_id, model.server_call_id, model.correlation_id) == (
            recording_id,
            call,
            kept["callId"],
        )
        assert model.call_connection_id == kept["callConnectionId"]
    # The stop published the file event; its chunk has the pause in its metadata.
    [chunk] = chunks(published(admin, recording_id))
    metadata = json.loads(download(admin, chunk["metadataLocation"]))
    assert len(metadata["pauseResumeIntervals"]) == 1


def test_pause_on_start_starts_inactive(sdk: CallAutomationClient, admin: EmulatorAdmin) -> None:
    with CallbackReceiver() as receiver:
        started = sdk.start_recording(
            server_call_id=new_call(admin),
            recording_content_type="audio",
            recording_format_type="wav",
            pause_on_start=True,
            recording_state_callback_url=receiver.url(),
        )
        recording_id = str(started.recording_id)
        assert started.recording_state == "inactive"
        time.sleep(0.3)
        sdk.resume_recording(recording_id)
        sdk.stop_recording(recording_id)
        states = [r.body[0]["data"]["state"] for r in receiver.wait_for(3)]
    assert states == ["inactive", "active", "inactive"]
    [chunk] = chunks(published(admin, recording_id))
    metadata = json.loads(download(admin, chunk["metadataLocation"]))
    [interval] = metadata["pauseResumeIntervals"]
    # Paused from the first moment: the media begins when the resume came.
    assert interval["startTime"] < metadata["chunkStartTime"] and interval["duration"] >= 250


def test_without_a_callback_uri_nothing_is_called(
    sdk: CallAutomationClient, admin: EmulatorAdmin, emulator: EmulatorProcess
) -> None:
    started = sdk.start_recording(server_call_id=new_call(admin), recording_content_type="audio")
    sdk.stop_recording(str(started.recording_id))
    folder = emulator.state_dir / "callbacks"
    records = [json.loads(p.read_text()) for p in folder.glob("*.json")] if folder.exists() else []
    assert not [r for r in records if r["event"][0]["data"]["recordingId"] == started.recording_id]


def test_unknown_recording_is_resource_not_found(sdk: CallAutomationClient) -> None:
    unknown = base64.urlsafe_b64encode(b'{"PlatformEndpointId":"x"}').decode().rstrip("=")
    for operation in (
        sdk.get_recording_properties,
        sdk.pause_recording,
        sdk.resume_recording,
        sdk.stop_recording,
    ):
        with pytest.raises(ResourceNotFoundError) as caught:
            operation(unknown)
        assert error_of(caught) == (404, "NotFound", "recordingId")
        assert "not found" in str(caught.value)


def test_invalid_transitions_are_400(sdk: CallAutomationClient, admin: EmulatorAdmin) -> None:
    recording_id = str(sdk.start_recording(server_call_id=new_call(admin)).recording_id)
    with pytest.raises(HttpResponseError) as caught:
        sdk.resume_recording(recording_id)  # not paused
    assert error_of(caught)[:2] == (400, "BadRequest")
    sdk.pause_recording(recording_id)
    with pytest.raises(HttpResponseError):
        sdk.pause_recording(recording_id)  # already paused
    sdk.stop_recording(recording_id)  # stopping a paused recording is fine
    for operation in (sdk.pause_recording, sdk.resume_recording, sdk.stop_recording):
        with pytest.raises(HttpResponseError) as caught:
            operation(recording_id)
        assert caught.value.status_code == 400


# --- Locators ------------------------------------------------------------------------------------


def subject_ids(event: list[dict[str, Any]]) -> tuple[str, str]:
    parts = event[0]["subject"].split("/")
    return parts[3], parts[5]  # /recording/call/{callId}/serverCallId/{serverCallId}/recordingId/...


@pytest.mark.parametrize("locator", ["server_call_id", "group_call_id", "room_id", "call_connection_id"])
def test_every_locator_starts_a_recording(
    sdk: CallAutomationClient, admin: EmulatorAdmin, locator: str
) -> None:
    value = str(uuid.uuid4()) if locator != "server_call_id" else server_call_id()
    call_id = str(uuid.uuid4())
    admin.register_call(**{locator: value}, participants=[BOB, ALICE], call_id=call_id)
    started = sdk.start_recording(**{locator: value}, recording_content_type="audio")
    recording_id = str(started.recording_id)
    sdk.stop_recording(recording_id)
    kept = admin.recording(recording_id)
    assert kept["callId"] == call_id and kept["participants"] == [BOB, ALICE]
    event = published(admin, recording_id)
    assert subject_ids(event) == (call_id, kept["serverCallId"])
    if locator == "server_call_id":
        assert kept["serverCallId"] == value
    if locator == "call_connection_id":
        assert kept["callConnectionId"] == value


def test_an_unregistered_call_gets_stable_ids_and_default_people(
    sdk: CallAutomationClient, admin: EmulatorAdmin
) -> None:
    group = str(uuid.uuid4())
    first = str(sdk.start_recording(group_call_id=group).recording_id)
    second = str(sdk.start_recording(group_call_id=group.upper()).recording_id)
    kept = [admin.recording(first), admin.recording(second)]
    assert kept[0]["callId"] == kept[1]["callId"] == group  # a group call's GUID is its call id
    assert kept[0]["serverCallId"] not in (group, kept[1]["serverCallId"])  # named differently
    assert len(kept[0]["participants"]) == 2
    for recording_id in (first, second):
        sdk.stop_recording(recording_id)


# --- Unmixed channel layout ----------------------------------------------------------------------


def test_ordering_and_affinity_lay_out_the_channels(sdk: CallAutomationClient, admin: EmulatorAdmin) -> None:
    started = sdk.start_recording(
        server_call_id=new_call(admin),
        recording_content_type="audio",
        recording_channel_type="unmixed",
        recording_format_type="wav",
        audio_channel_participant_ordering=[PhoneNumberIdentifier("+14255550123")],
        channel_affinity=[ChannelAffinity(CommunicationUserIdentifier(CAROL), 3)],
    )
    recording_id = str(started.recording_id)
    time.sleep(1.2)
    sdk.stop_recording(recording_id)
    [chunk] = chunks(published(admin, recording_id))
    metadata = json.loads(download(admin, chunk["metadataLocation"]))
    layout = {p["participantId"]: p["channel"] for p in metadata["participants"]}
    assert layout == {BOB: 0, ALICE: 1, CAROL: 3}
    assert [p["participantId"] for p in metadata["participants"]] == [BOB, ALICE, CAROL]
    wav = check_wav(download(admin, chunk["contentLocation"]))
    assert wav.channels == 4 and metadata["recordingInfo"]["audioConfiguration"]["channels"] == 4
    # Participants take turns, a second each, in layout order: Bob (0) speaks first on channel 0.
    rate = wav.sample_rate
    assert abs(dominant_hz(wav.samples[0], 0, rate // 2, rate) - pcm.tone_hz(0)) < 5
    assert max(abs(v) for v in wav.samples[2]) == 0  # nobody has channel 2


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (
            {"audio_channel_participant_ordering": [PhoneNumberIdentifier("+14255550123")]},
            "audioChannelParticipantOrdering",
        ),
        (
            {"channel_affinity": [ChannelAffinity(PhoneNumberIdentifier("+14255550123"), 1)]},
            "channelAffinity",
        ),
    ],
)
def test_a_channel_layout_on_mixed_audio_is_a_400(
    sdk: CallAutomationClient, admin: EmulatorAdmin, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(HttpResponseError) as caught:
        sdk.start_recording(server_call_id=new_call(admin), recording_content_type="audio", **options)
    assert error_of(caught) == (400, "BadRequest", field)


@pytest.mark.parametrize(
    "affinity",
    [
        [ChannelAffinity(PhoneNumberIdentifier("+14255550123"), 5)],
        [
            ChannelAffinity(PhoneNumberIdentifier("+14255550123"), 1),
            ChannelAffinity(CommunicationUserIdentifier(CAROL), 1),
        ],
    ],
)
def test_a_bad_channel_affinity_is_a_400(
    sdk: CallAutomationClient, admin: EmulatorAdmin, affinity: list[ChannelAffinity]
) -> None:
    with pytest.raises(HttpResponseError) as caught:
        sdk.start_recording(
            server_call_id=new_call(admin),
            recording_content_type="audio",
            recording_channel_type="unmixed",
            channel_affinity=affinity,
        )
    assert error_of(caught)[:2] == (400, "BadRequest")


# --- Storage, repeatability ----------------------------------------------------------------------


def test_external_blob_storage_is_a_clear_501_and_not_retried(
    sdk: CallAutomationClient, admin: EmulatorAdmin
) -> None:
    admin.reset_stats()
    storage = AzureBlobContainerRecordingStorage("https://contoso.blob.core.windows.net/recordings")
    with pytest.raises(HttpResponseError) as caught:
        sdk.start_recording(server_call_id=new_call(admin), recording_storage=storage)
    assert error_of(caught) == (501, "NotImplemented", "externalStorage")
    assert "not emulated" in str(caught.value) and "AzureCommunicationsRecordingStorage" in str(caught.value)
    assert admin.stats()["requestCount"] == 1
    # The service's own storage is what the emulator is.
    own = AzureCommunicationsRecordingStorage()
    started = sdk.start_recording(server_call_id=new_call(admin), recording_storage=own)
    sdk.stop_recording(str(started.recording_id))


def test_a_repeated_start_request_starts_nothing(admin: EmulatorAdmin, emulator: EmulatorProcess) -> None:
    body = {"callLocator": {"kind": "serverCallLocator", "serverCallId": new_call(admin)}}
    headers = {
        "Content-Type": "application/json",
        "Repeatability-Request-ID": str(uuid.uuid4()),
        "Repeatability-First-Sent": "Thu, 26 Nov 2026 10:00:00 GMT",
    }
    raw = json.dumps(body).encode()
    first, again = (
        admin.signed_request("POST", "/calling/recordings?api-version=2026-03-12", body=raw, headers=headers)
        for _ in range(2)
    )
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert again.headers["repeatability-result"] == "accepted"
    started = list((emulator.state_dir / "recordings").glob("*.json"))
    assert sum(1 for p in started if p.stem == first.json()["recordingId"]) == 1
    admin.call_api("DELETE", f"/calling/recordings/{first.json()['recordingId']}?api-version=2026-03-12")


def test_the_event_is_kept_in_both_schemas(
    sdk: CallAutomationClient, admin: EmulatorAdmin, emulator: EmulatorProcess
) -> None:
    started = sdk.start_recording(server_call_id=new_call(admin), recording_content_type="audio")
    sdk.stop_recording(str(started.recording_id))
    event_id = admin.recording(str(started.recording_id))["eventId"]
    [grid] = admin.event(event_id)
    cloud = admin.event(event_id, schema="cloudevents")
    vendor = json.loads((VENDOR / "specs-cloud-events-schema.json").read_text())
    assert list(cloud) == list(vendor)  # the spec example's keys, in its order
    assert cloud == {
        "source": grid["topic"],
        "subject": grid["subject"],
        "type": "Microsoft.Communication.RecordingFileStatusUpdated",
        "time": grid["eventTime"],
        "id": event_id,
        "data": grid["data"],
        "specversion": "1.0",
    }
    stored = json.loads((emulator.state_dir / "cloudevents" / f"{event_id}.json").read_text())
    assert stored == cloud


def logged(admin: EmulatorAdmin, count: int) -> list[dict[str, Any]]:
    """The request log once it has ``count`` entries: an entry is written after its answer went out."""

    def enough() -> list[dict[str, Any]]:
        requests: list[dict[str, Any]] = admin.stats()["requests"]
        return requests if len(requests) >= count else []

    return wait_until(enough)


def test_media_is_capped_and_stats_see_the_sdk(sdk: CallAutomationClient, admin: EmulatorAdmin) -> None:
    admin.reset_stats()
    started = sdk.start_recording(server_call_id=new_call(admin), recording_content_type="audio")
    sdk.stop_recording(str(started.recording_id))
    requests = logged(admin, 2)
    assert [(r["method"], r["status"], r["authorized"]) for r in requests] == [
        ("POST", 200, True),
        ("DELETE", 204, True),
    ]
    assert requests[0]["path"].startswith("/calling/recordings?api-version=")
    duration = published(admin, str(started.recording_id))[0]["data"]["recordingDurationMs"]
    assert 1000 <= duration <= MAX_MEDIA_SECONDS * 1000


def test_state_callbacks_arrive_for_both_apis_on_one_receiver(
    sdk: CallAutomationClient, admin: EmulatorAdmin
) -> None:
    """A seed-API recording and an SDK one share the callback machinery and the receiver."""
    with CallbackReceiver() as receiver:
        todays = sdk.start_recording(
            server_call_id=new_call(admin), recording_state_callback_url=receiver.url()
        )
        seeds = admin.call_api(
            "POST",
            "/calling/conversations/conv-both/recordings",
            {"recordingStateCallbackUri": receiver.url()},
        ).json()["recordingId"]
        wait_until(lambda: len(receiver.received) >= 2)
        ids = {r.body[0]["data"]["recordingId"] for r in receiver.received}
        sdk.stop_recording(str(todays.recording_id))
        sdk.stop_recording(seeds)  # today's API drives a seed recording too
    assert ids == {todays.recording_id, seeds}
