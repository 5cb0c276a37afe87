"""Settings fail with the variable's name; metadata is read leniently but safely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archiver.errors import InvalidMetadata
from archiver.metadata import parse_metadata
from archiver.settings import SettingsError, settings_from

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


def test_no_settings_is_fine_until_a_value_is_needed() -> None:
    settings = settings_from({})
    assert settings.archive_container == "recordings"
    assert settings.source_retention_hours == 24
    with pytest.raises(SettingsError, match="ACS_CONNECTION_STRING"):
        _ = settings.acs_endpoint
    with pytest.raises(SettingsError, match="ARCHIVE_STORAGE_CONNECTION_STRING"):
        settings.require_archive_storage()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SOURCE_RETENTION_HOURS": "soon"}, "SOURCE_RETENTION_HOURS"),
        ({"SOURCE_RETENTION_HOURS": "-1"}, "SOURCE_RETENTION_HOURS"),
        ({"ACS_CONNECTION_STRING": "endpoint=https://x.communication.azure.com/"}, "ACS_CONNECTION_STRING"),
        ({"ACS_CONNECTION_STRING": "endpoint=https://x/;accesskey=%%%not-base64"}, "ACS_CONNECTION_STRING"),
        ({"ARCHIVE_CONTAINER": "Bad_Name"}, "ARCHIVE_CONTAINER"),
        ({"LOCAL_SOURCE_URL": "http://10.0.0.5:8090"}, "LOCAL_SOURCE_URL"),
        ({"ALLOWED_SOURCE_HOSTS": "https://evil.example/path"}, "ALLOWED_SOURCE_HOSTS"),
        ({"DELETE_SOURCE_AFTER_ARCHIVE": "perhaps"}, "DELETE_SOURCE_AFTER_ARCHIVE"),
    ],
)
def test_malformed_setting_names_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        settings_from(env)


def test_http_acs_endpoint_needs_the_local_source_setting() -> None:
    with pytest.raises(SettingsError, match="https"):
        _ = settings_from({"ACS_ENDPOINT": "http://127.0.0.1:8090"}).acs_endpoint
    local = settings_from(
        {"ACS_ENDPOINT": "http://127.0.0.1:8090", "LOCAL_SOURCE_URL": "http://127.0.0.1:8090"}
    )
    assert local.acs_endpoint == "http://127.0.0.1:8090"


def test_secrets_are_not_in_the_repr() -> None:
    settings = settings_from(
        {"ACS_CONNECTION_STRING": "endpoint=https://x.communication.azure.com/;accesskey=c2VjcmV0"}
    )
    assert "c2VjcmV0" not in repr(settings) and "c2VjcmV0" not in str(settings)


def test_documented_and_live_metadata_shapes() -> None:
    documented = parse_metadata((SAMPLES / "metadata-documented.json").read_bytes(), max_bytes=10**6)
    assert [p.participant_id[:6] for p in documented.participants] == ["8:acs:", "4:+142", "8:orgi"]
    assert documented.chunk_duration == 431250.0
    assert documented.pause_resume_intervals[0].duration == 30000.0
    unmixed = parse_metadata((SAMPLES / "metadata-unmixed-channels.json").read_bytes(), max_bytes=10**6)
    assert [p.channel for p in unmixed.participants] == [0, 1, 2]


def test_lenient_numbers_as_strings_and_missing_channel() -> None:
    raw = json.dumps(
        {"chunkDuration": "1200.5", "chunkIndex": "0", "participants": [{"participantId": "4:+1555", "channel": "2"},
                                                                       {"participantId": "8:acs:x"}],
         "recordingInfo": {"format": "WAV"}, "pauseResumeIntervals": None, "unknown": {"a": 1}}
    ).encode()  # fmt: skip
    parsed = parse_metadata(raw, max_bytes=10**6)
    assert parsed.chunk_duration == 1200.5
    assert [p.channel for p in parsed.participants] == [2, None]
    assert parsed.pause_resume_intervals == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "metadata_empty"),
        (b"<html>", "metadata_not_json"),
        (b"[1,2]", "metadata_not_object"),
        (b'{"participants": [{"participantId": 42}]}', "metadata_invalid"),
        (b'{"participants": [{"participantId": ["a"]}]}', "metadata_invalid"),
        (b'{"participants": "everyone"}', "metadata_invalid"),
        (b'{"participants": [{"participantId": "x\\u0000y"}]}', "metadata_invalid"),
        (b"{" + b" " * 2000 + b"}", "metadata_too_large"),
    ],
)
def test_bad_metadata_has_a_specific_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidMetadata) as info:
        parse_metadata(raw, max_bytes=1000)
    assert info.value.reason == reason


def test_informational_fields_never_fail_the_job() -> None:
    raw = json.dumps(
        {
            "chunkStartTime": "not a time",
            "chunkDuration": "long",
            "chunkIndex": {"x": 1},
            "recordingInfo": None,
            "pauseResumeIntervals": [{"startTime": "soon", "duration": "a while"}, "junk"],
            "participants": [{"participantId": "8:acs:x", "channel": 0}],
        }
    ).encode()
    parsed = parse_metadata(raw, max_bytes=10**6)
    assert parsed.chunk_start_time is None and parsed.chunk_duration is None and parsed.chunk_index is None
    assert parsed.recording_info == {}
    assert len(parsed.pause_resume_intervals) == 1 and parsed.pause_resume_intervals[0].duration is None
    assert parsed.participants[0].channel == 0
