"""``reconcile``: a recording ACS reports but whose event never reached us is found and named.

ACS's side is the emulator: every event it publishes lands in its state dir, and the local Log
Analytics double (``archiver.dev.loganalytics``) answers the Logs query API with the summary row
ACS would have logged for it. The archiver queries it through azure-monitor-query, over HTTP on
loopback, with a development token (no Azure credential is ever used).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from archiver.cli import main as cli_main
from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess
from archiver.dev.host import local_host
from archiver.dev.loganalytics import LogAnalyticsDouble
from archiver.events import recording_key
from archiver.runtime import Runtime, get_runtime, reset_runtime
from tests.integration.helpers import deliver, seed, work


@pytest.fixture
def logs_double(emulator: EmulatorProcess) -> Iterator[LogAnalyticsDouble]:
    with LogAnalyticsDouble(emulator.state_dir) as double:
        yield double


@pytest.fixture
def reconciling(
    archiver_env: dict[str, str], logs_double: LogAnalyticsDouble, monkeypatch: pytest.MonkeyPatch
) -> Runtime:
    monkeypatch.setenv("LOG_ANALYTICS_WORKSPACE_ID", logs_double.workspace_id)
    monkeypatch.setenv("LOG_ANALYTICS_ENDPOINT", logs_double.url)
    monkeypatch.setenv("RECONCILE_GRACE_MINUTES", "0")
    reset_runtime()
    return get_runtime()


def _published(admin: EmulatorAdmin) -> tuple[dict[str, Any], bytes, str]:
    """A recording ACS made and announced (its event is in the emulator's events/)."""
    document, payload = seed(admin, publish=True)
    subject = json.loads(payload)[0]["subject"]
    return document, payload, subject.rsplit("/recordingId/", 1)[1]


def _reconcile(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = cli_main(["reconcile", "--hours", "1", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def _finding(report: dict[str, Any], recording_id: str) -> dict[str, Any]:
    [finding] = [f for f in report["findings"] if f["recordingId"] == recording_id]
    return finding


def test_a_recording_whose_event_never_arrived_is_found(
    reconciling: Runtime,
    admin: EmulatorAdmin,
    logs_double: LogAnalyticsDouble,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, payload, delivered_id = _published(admin)
    deliver(payload)
    work(reconciling)
    _, lost_payload, lost_id = _published(admin)  # the subscription was broken: never delivered
    lost_call = json.loads(lost_payload)[0]["subject"].split("/")[3]

    with caplog.at_level(logging.INFO):
        code, report = _reconcile(capsys)
    assert code == 1
    assert _finding(report, delivered_id)["status"] == "archived"
    missing = _finding(report, lost_id)
    assert missing["status"] == "missing" and missing["callId"] == lost_call
    assert missing["chunkCount"] == 1 and missing["archivedChunks"] == 0
    assert missing["recordingKey"] == recording_key(lost_id, [])
    assert "never reached the archiver" in missing["note"] and missing["ageHours"] < 1
    [line] = [r for r in caplog.records if r.getMessage().startswith("ARCHIVER_MISSING")]
    assert f"call_id={lost_call}" in line.getMessage() and line.levelno == logging.ERROR

    # What was asked: the documented table and columns, over the SDK's timespan.
    query = logs_double.queries[-1]
    assert query["query"].startswith("ACSCallRecordingSummary\n| project TimeGenerated, RecordingId")
    assert query["timespan"] == "PT3600.0S"

    # The readable form names it too; once it is archived, all is well.
    capsys.readouterr()
    assert cli_main(["reconcile", "--hours", "1"]) == 1
    table = capsys.readouterr().out
    assert "MISSING" in table and lost_call in table and "never reached the archiver" in table
    deliver(lost_payload)
    work(reconciling)
    code, report = _reconcile(capsys)
    assert _finding(report, lost_id)["status"] == "archived"
    assert all(
        f["status"] == "archived" for f in report["findings"] if f["recordingId"] in (delivered_id, lost_id)
    )


def test_a_rejected_event_is_said_to_have_arrived(
    reconciling: Runtime, admin: EmulatorAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    _, payload, recording_id = _published(admin)
    broken = copy.deepcopy(json.loads(payload))
    broken[0]["data"]["recordingStorageInfo"]["recordingChunks"] = []  # what arrived was unusable
    deliver(json.dumps(broken).encode())
    code, report = _reconcile(capsys)
    assert code == 1
    finding = _finding(report, recording_id)
    assert finding["status"] == "missing" and "was rejected (missing_chunks)" in finding["note"]


def test_within_the_grace_period_nothing_is_missing_yet(
    reconciling: Runtime,
    admin: EmulatorAdmin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, _, recording_id = _published(admin)
    monkeypatch.setenv("RECONCILE_GRACE_MINUTES", "60")
    reset_runtime()
    code, report = _reconcile(capsys)
    assert _finding(report, recording_id)["status"] == "pending"
    assert report["counts"]["missing"] == 0 and code == 0


def test_the_hourly_timer_logs_missing_recordings(
    reconciling: Runtime, admin: EmulatorAdmin, caplog: pytest.LogCaptureFixture
) -> None:
    _, payload, _ = _published(admin)
    call = json.loads(payload)[0]["subject"].split("/")[3]
    with caplog.at_level(logging.INFO):
        assert local_host().fire_timer("reconcile_with_acs").ok
    assert any(
        r.getMessage().startswith("ARCHIVER_MISSING") and f"call_id={call}" in r.getMessage()
        for r in caplog.records
    )


def test_without_a_workspace_the_timer_says_so_and_the_command_exits_3(
    runtime: Runtime, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.WARNING):
        assert local_host().fire_timer("reconcile_with_acs").ok
    assert any("LOG_ANALYTICS_WORKSPACE_ID" in r.getMessage() for r in caplog.records)
    assert cli_main(["reconcile"]) == 3
    assert "LOG_ANALYTICS_WORKSPACE_ID" in capsys.readouterr().err


def test_a_wrong_workspace_is_a_configuration_error(
    reconciling: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOG_ANALYTICS_WORKSPACE_ID", "11111111-2222-4333-8444-555555555555")
    reset_runtime()
    assert cli_main(["reconcile"]) == 3
    assert "Log Analytics answered 404" in capsys.readouterr().err
