"""Event parsing: both envelopes, every subject form, open enums, the 2021 shape."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from archiver.errors import RejectedEvent
from archiver.events import jobs_from_event, split_payload
from archiver.settings import Settings, settings_from

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
SETTINGS = settings_from(
    {"ACS_CONNECTION_STRING": "endpoint=https://acs-contoso.communication.azure.com/;accesskey=aGVsbG8="}
)


def sample(name: str) -> list[dict[str, Any]]:
    return split_payload((SAMPLES / name).read_bytes())


def test_today_event_grid_sample() -> None:
    [event] = sample("eventgrid-mixed-mp4.json")
    [job] = jobs_from_event(event, SETTINGS)
    assert job.recording.call_id == "5f2a4b9e-1c3d-4e8f-a7b6-c9d0e1f2a3b4"
    assert job.recording.recording_id == "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIxMjMifQ"
    assert job.recording.server_call_id and job.recording.server_call_id.startswith("aHR0cHM6")
    assert job.chunk.content_url.endswith("/content/video")
    assert job.chunk.metadata_url.endswith("/content/acsmetadata")
    assert job.recording.format_type == "Mp4"
    # Deadline = event time + 24 h by default.
    assert (job.recording.deadline - job.recording.event_time).total_seconds() == 24 * 3600


def test_cloudevent_sample_orders_chunks_by_index() -> None:
    [event] = sample("cloudevent-unmixed-wav-2chunks.json")
    jobs = jobs_from_event(event, SETTINGS)
    assert [j.chunk.index for j in jobs] == [0, 1]
    assert jobs[0].chunk.document_id.startswith("0-weu")
    assert {j.recording.recording_key for j in jobs} == {jobs[0].recording.recording_key}
    assert all(j.recording.chunk_count == 2 for j in jobs)
    assert jobs[0].recording.topic and jobs[0].recording.topic.endswith("acs-contoso")


def test_2021_event_without_locations_uses_the_seed_download_urls() -> None:
    [event] = sample("eventgrid-2021-no-locations.json")
    [job] = jobs_from_event(event, SETTINGS)
    doc = "0-eus-d11-05bf22b166dfb2119e3ff85d98906121"
    assert job.chunk.content_url == f"https://acs-contoso.communication.azure.com/recording/download/{doc}"
    assert (
        job.chunk.metadata_url
        == f"https://acs-contoso.communication.azure.com/recording/download/{doc}/metadata"
    )
    assert job.chunk.delete_url is None
    assert job.recording.format_type is None


@pytest.mark.parametrize(
    "subject",
    [
        "/recording/call/{c}",
        "/recording/call/{c}/recordingId/abc_DEF-123",
        "/recording/call/{c}/serverCallId/" + "aHR0cHM6Ly9" * 60,
        "/recording/call/{c}/serverCallId/aHR0cHM6Ly9/recordingId/eyJQbGF0In0",
    ],
)
def test_every_subject_form_is_accepted(subject: str) -> None:
    [event] = sample("eventgrid-mixed-mp4.json")
    event["subject"] = subject.format(c="43563209-4ec6-4119-be5b-88398cda2caf")
    [job] = jobs_from_event(event, SETTINGS)
    assert job.recording.call_id == "43563209-4ec6-4119-be5b-88398cda2caf"


@pytest.mark.parametrize("value", ["mp4", "MP4", "Mp4", "mkv-new-format"])
def test_open_enums_in_any_casing_and_unknown_fields(value: str) -> None:
    [event] = sample("eventgrid-mixed-mp4.json")
    event["data"]["recordingFormatType"] = value
    event["data"]["recordingChannelType"] = "mIxEd"
    event["data"]["storageType"] = "AzureCommunicationServices"
    event["data"]["recordingId"] = "abc"
    event["data"]["recordingStorageInfo"]["recordingChunks"][0]["futureField"] = {"x": 1}
    event["somethingNew"] = True
    [job] = jobs_from_event(event, SETTINGS)
    assert job.recording.format_type == value


def test_recording_key_is_stable_across_redeliveries_and_envelopes() -> None:
    [event] = sample("cloudevent-unmixed-wav-2chunks.json")
    first = jobs_from_event(event, SETTINGS)
    again = copy.deepcopy(event)
    again["id"] = "another-delivery-id"
    again["data"]["recordingStorageInfo"]["recordingChunks"].reverse()
    second = jobs_from_event(again, SETTINGS)
    assert [j.recording.recording_key for j in first] == [j.recording.recording_key for j in second]


def test_job_round_trips_through_a_queue_message() -> None:
    [event] = sample("eventgrid-mixed-mp4.json")
    [job] = jobs_from_event(event, SETTINGS)
    from archiver.jobs import RecordingJob

    assert RecordingJob.from_message(job.to_message()) == job


def _rejects(event: Any, reason: str, settings: Settings = SETTINGS) -> str:
    with pytest.raises(RejectedEvent) as info:
        payload = json.dumps(event).encode() if not isinstance(event, bytes) else event
        for raw in split_payload(payload):
            jobs_from_event(raw, settings)
    assert info.value.reason == reason, str(info.value)
    return str(info.value)


def test_specific_reasons() -> None:
    [event] = sample("eventgrid-mixed-mp4.json")
    wrong = copy.deepcopy(event)
    wrong["eventType"] = "Microsoft.Communication.CallEnded"
    assert "is not Microsoft.Communication.RecordingFileStatusUpdated" in _rejects(wrong, "wrong_event_type")
    empty = copy.deepcopy(event)
    empty["data"]["recordingStorageInfo"]["recordingChunks"] = []
    _rejects(empty, "missing_chunks")
    missing = copy.deepcopy(event)
    del missing["data"]["recordingStorageInfo"]
    _rejects(missing, "missing_chunks")
    _rejects(b"{not json", "malformed_json")
    evil = copy.deepcopy(event)
    evil["data"]["recordingStorageInfo"]["recordingChunks"][0]["contentLocation"] = "https://evil.example/x"
    assert "allowlist" in _rejects(evil, "url_not_allowed")


def test_topic_allowlist_when_configured() -> None:
    [event] = sample("eventgrid-mixed-mp4.json")
    only = settings_from(
        {
            "ACS_CONNECTION_STRING": "endpoint=https://acs-contoso.communication.azure.com/;accesskey=aGVsbG8=",
            "ALLOWED_ACS_RESOURCE_IDS": event["topic"].upper(),
        }
    )
    assert jobs_from_event(event, only)
    event["topic"] = event["topic"].replace("acs-contoso", "acs-other")
    _rejects(event, "topic_not_allowed", only)


def test_chunks_without_index_take_their_position_and_subject_casing_is_lenient() -> None:
    [event] = sample("cloudevent-unmixed-wav-2chunks.json")
    for chunk in event["data"]["recordingStorageInfo"]["recordingChunks"]:
        del chunk["index"]
    event["subject"] = event["subject"].replace("/recording/call/", "/Recording/Call/")
    jobs = jobs_from_event(event, SETTINGS)
    assert [(j.chunk.index, j.chunk.document_id[:1]) for j in jobs] == [(0, "1"), (1, "0")]


def test_a_delete_location_naming_another_document_is_never_used() -> None:
    """Event Grid's own 2022 example has such a URL: archive it, but never delete on it."""
    [event] = sample("eventgrid-mixed-mp4.json")
    [chunk] = event["data"]["recordingStorageInfo"]["recordingChunks"]
    [own] = jobs_from_event(event, SETTINGS)
    assert own.chunk.delete_url == chunk["deleteLocation"]
    chunk["deleteLocation"] = chunk["deleteLocation"].replace(
        chunk["documentId"], "0-eus-d1-83e9599991e21ad21220427d78fbf558"
    )
    [other] = jobs_from_event(event, SETTINGS)
    assert other.chunk.delete_url is None
    assert other.chunk.content_url == own.chunk.content_url
