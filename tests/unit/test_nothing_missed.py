"""Unit tests for the pieces of "nothing missed": safe names, dead-letter envelopes, the Logs
query double's KQL subset, summary rows, settings and the fixity check's bookkeeping."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from archiver import layout
from archiver.deadletter import split_delivery
from archiver.dev.deadletter import blob_name, dead_lettered
from archiver.dev.loganalytics import (
    COLUMN_TYPES,
    LogAnalyticsDouble,
    QueryError,
    _columns,
    _window,
    summary_row,
)
from archiver.events import jobs_from_event
from archiver.fixity import FixityReport, Problem
from archiver.layout import day_prefixes, recording_folder_of
from archiver.reconcile import _row_to_recording
from archiver.settings import SettingsError, settings_from
from tests.support import SAMPLES

EVENT: dict[str, Any] = json.loads((SAMPLES / "eventgrid-mixed-mp4.json").read_text())[0]
KEY = "ZW11bGF0b3Ita2V5LWZvci1sb2NhbC1kZXZlbG9wbWVudA=="
BASE_ENV = {"ACS_CONNECTION_STRING": f"endpoint=https://acs-contoso.communication.azure.com/;accesskey={KEY}"}


# --- Point 5: names ---------------------------------------------------------------------------


@pytest.mark.parametrize("call_id", ["5f2a4b9e-1c3d-4e8f-a7b6-c9d0e1f2a3b4", "abc_DEF-123", "a" * 128])
def test_a_safe_call_id_names_its_folder_as_it_is(call_id: str) -> None:
    assert layout.name_segment(call_id) == call_id


@pytest.mark.parametrize(
    "call_id", ["..", ".", "a/b", "a\\b", "%2e%2e", "a b", "-x", "_x", "ａｂｃ", "a" * 129, ""]
)
def test_an_unsafe_call_id_gets_a_stable_encoded_name(call_id: str) -> None:
    segment = layout.name_segment(call_id)
    assert segment == layout.name_segment(call_id)  # every redelivery agrees
    assert segment.startswith("_") and len(segment) == 53
    assert set(segment[1:]) <= set("abcdefghijklmnopqrstuvwxyz234567")  # base32, lower case
    assert layout.name_segment(call_id + "x") != segment


def test_an_encoded_name_never_collides_with_a_real_id() -> None:
    # A safe id starts with a letter or digit; an encoded one with "_", which is never safe.
    encoded = layout.name_segment("..")
    assert layout.name_segment(encoded) != encoded


# --- Point 1: what Event Grid writes -----------------------------------------------------------


def test_event_grid_schema_dead_letter_fields_are_split_off() -> None:
    dead = dead_lettered(EVENT, reason="MaxDeliveryAttemptsExceeded", attempts=3, outcome="NotFound")
    assert {
        "deadLetterReason",
        "deliveryAttempts",
        "lastDeliveryOutcome",
        "publishTime",
        "lastDeliveryAttemptTime",
    } <= (dead.keys())
    event, delivery = split_delivery(dead)
    assert event == EVENT  # exactly as published
    assert delivery.dead_letter_reason == "MaxDeliveryAttemptsExceeded" and delivery.delivery_attempts == 3
    assert (
        delivery.last_delivery_outcome == "NotFound"
        and delivery.publish_time
        and delivery.last_delivery_attempt_time
    )


def test_cloudevents_dead_letter_fields_are_lower_case_extension_attributes() -> None:
    cloud = {
        "specversion": "1.0",
        "id": "1",
        "source": EVENT["topic"],
        "type": EVENT["eventType"],
        "data": {},
    }
    dead = dead_lettered(cloud, attempts=1)
    assert "deadletterreason" in dead and "deadLetterReason" not in dead
    event, delivery = split_delivery(dead)
    assert event == cloud and delivery.delivery_attempts == 1


def test_a_cloud_event_without_specversion_is_still_read_as_one() -> None:
    # Microsoft's published dead-letter example of the CloudEvents schema carries no specversion.
    cloud = {
        "id": EVENT["id"],
        "source": EVENT["topic"],
        "subject": EVENT["subject"],
        "type": EVENT["eventType"],
        "time": EVENT["eventTime"],
        "data": EVENT["data"],
        "deadletterreason": "MaxDeliveryAttemptsExceeded",
        "deliveryattempts": "7",
    }
    event, delivery = split_delivery(cloud)
    assert event["specversion"] == "1.0" and delivery.delivery_attempts == 7
    settings = settings_from(BASE_ENV)
    assert len(jobs_from_event(event, settings)) == len(
        EVENT["data"]["recordingStorageInfo"]["recordingChunks"]
    )


def test_odd_delivery_values_never_stop_a_replay() -> None:
    _, delivery = split_delivery({**EVENT, "deliveryAttempts": True, "deadLetterReason": {"x": 1}})
    assert delivery.delivery_attempts is None and delivery.dead_letter_reason == "{'x': 1}"


def test_dead_letter_blob_names_are_event_grids() -> None:
    name = blob_name("My-Blob-Subscription", datetime(2019, 8, 8, 5, 1, tzinfo=UTC))
    prefix, guid = name.rsplit("/", 1)
    assert prefix == "MY-BLOB-SUBSCRIPTION/2019/8/8/5" and guid.endswith(".json") and len(guid) == 41


# --- Point 3: the Logs query double and the summary rows ----------------------------------------


def test_summary_row_from_an_event_uses_the_table_reference_columns() -> None:
    row = summary_row(EVENT, "ws")
    assert row is not None and set(row) == set(COLUMN_TYPES)
    assert row["CorrelationId"] == EVENT["subject"].split("/")[3]
    assert row["ChunkCount"] == len(EVENT["data"]["recordingStorageInfo"]["recordingChunks"])
    assert row["Type"] == "ACSCallRecordingSummary" and row["TimeGenerated"].endswith("Z")
    assert summary_row({"subject": "/other"}, "ws") is None


def test_the_double_understands_only_the_table_project_and_timespan() -> None:
    assert _columns("ACSCallRecordingSummary | project RecordingId, ChunkCount") == [
        "RecordingId",
        "ChunkCount",
    ]
    assert _columns("ACSCallRecordingSummary") == list(COLUMN_TYPES)
    with pytest.raises(QueryError, match="AppTraces"):
        _columns("AppTraces | take 1")
    with pytest.raises(QueryError, match="CallId"):
        _columns("ACSCallRecordingSummary | project CallId")
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert _window("PT3600.0S", now) == (now - timedelta(hours=1), now)
    assert _window("2026-11-20T10:00:00Z/2026-11-20T11:00:00Z", now) == (
        now - timedelta(hours=2),
        now - timedelta(hours=1),
    )
    assert _window(None, now) is None


def test_the_double_answers_in_the_logs_api_shape(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    fresh = {**EVENT, "eventTime": datetime.now(UTC).isoformat()}
    (tmp_path / "events" / "a.json").write_text(json.dumps([fresh]))
    double = LogAnalyticsDouble(tmp_path)
    try:
        answer = double.answer(
            double.workspace_id,
            {"query": "ACSCallRecordingSummary | project RecordingId", "timespan": "PT60S"},
        )
        assert answer["tables"][0]["columns"] == [{"name": "RecordingId", "type": "string"}]
        assert len(answer["tables"][0]["rows"]) == 1
        with pytest.raises(QueryError) as refused:
            double.answer("someone-else", {"query": "ACSCallRecordingSummary"})
        assert refused.value.status == 404
    finally:
        double.stop()


def test_a_summary_row_becomes_a_recording() -> None:
    row = {
        "TimeGenerated": "2022-08-17T23:18:26.4332392Z",
        "RecordingId": "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIxIn0",
        "CorrelationId": "zzzzzz-cada-4164-be10-0000000000",
        "ChunkCount": 6,
        "RecordingStartTime": datetime(2022, 8, 16, 9, 7, 54, tzinfo=UTC),
        "RecordingLength": "73872.94",
    }
    recording = _row_to_recording(row)
    assert recording is not None and recording.chunk_count == 6 and recording.length_seconds == 73872.94
    assert recording.logged_at == datetime(2022, 8, 17, 23, 18, 26, 433239, tzinfo=UTC)
    assert recording.call_id == "zzzzzz-cada-4164-be10-0000000000"
    assert _row_to_recording({**row, "RecordingId": None}) is None


# --- Settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "ok"),
    [
        ("https://api.loganalytics.io", True),
        ("https://api.loganalytics.azure.cn/v1", True),
        ("http://127.0.0.1:8091", True),
        ("http://localhost:8091", True),
        ("http://api.loganalytics.io", False),
        ("http://10.0.0.5:8091", False),
        ("ftp://127.0.0.1", False),
    ],
)
def test_the_logs_endpoint_is_https_or_loopback(endpoint: str, ok: bool) -> None:
    env = {**BASE_ENV, "LOG_ANALYTICS_ENDPOINT": endpoint}
    if ok:
        settings = settings_from(env)
        assert settings.log_analytics_is_local == endpoint.startswith("http://")
    else:
        with pytest.raises(SettingsError, match="LOG_ANALYTICS_ENDPOINT"):
            settings_from(env)


def test_reconciliation_needs_a_workspace_id() -> None:
    with pytest.raises(SettingsError, match="LOG_ANALYTICS_WORKSPACE_ID"):
        settings_from(BASE_ENV).require_log_analytics()
    with pytest.raises(SettingsError, match="LOG_ANALYTICS_WORKSPACE_ID"):
        settings_from({**BASE_ENV, "LOG_ANALYTICS_WORKSPACE_ID": "not a guid"})
    workspace = "00000000-0000-4000-8000-00000000a11a"
    assert (
        settings_from({**BASE_ENV, "LOG_ANALYTICS_WORKSPACE_ID": workspace}).require_log_analytics()
        == workspace
    )


# --- Point 2: bookkeeping -----------------------------------------------------------------------


def test_day_prefixes_and_recording_folders() -> None:
    assert day_prefixes(date(2026, 11, 30), date(2026, 12, 2)) == [
        "2026/11/30/",
        "2026/12/01/",
        "2026/12/02/",
    ]
    assert recording_folder_of("2026/11/20/call/091403Z-abc/chunk-000.mp4") == "2026/11/20/call/091403Z-abc"
    assert recording_folder_of("2026/11/20/stray.json") is None


def test_a_report_is_intact_only_without_problems() -> None:
    report = FixityReport(deep=False, since=None)
    assert report.intact and report.summary()["problems"] == 0
    report.problems.append(Problem("missing", "recordings/x", "size 1", "absent"))
    assert not report.intact and report.summary()["problems"] == 1
