"""Metrics come from the marker lines (``logs.emit``), in one place: the right values for a known
sequence of lines, no personal data in any attribute, off without a connection string, and
never a failure of the archive whatever the exporter does."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)

from archiver import logs, metrics
from archiver.metrics import MARGIN_BANDS, QueueDepth, margin_band
from tests.support import ROOT
from tests.unit.metric_reading import read, recording

log = logging.getLogger("archiver.test")
HOUR = 3600.0
IDS = {"event_id": "evt-5f1d", "call_id": "call-9a7c", "document_id": "doc-77e1", "chunk": 0}


def archived(size: int, margin_h: float, *, duration: float = 2.0, latency: float = 60.0) -> None:
    logs.emit(
        log,
        logging.INFO,
        logs.ARCHIVED,
        "chunk archived",
        **IDS,
        outcome="archived",
        bytes=size,
        sha256="0" * 64,
        source_bytes=size,
        recording_complete=True,
        duration_s=duration,
        latency_s=latency,
        margin_s=margin_h * HOUR,
    )


def known_run() -> None:
    """Three chunks queued and archived (one redelivered), retries, a failure, rejections."""
    for _ in range(3):
        logs.emit(log, logging.INFO, logs.ACCEPTED, "chunk queued", **IDS, margin_s=23 * HOUR)
    archived(1000, 23.5, duration=2.0, latency=30.0)
    archived(3000, 0.5, duration=4.0, latency=84600.0)
    logs.emit(
        log, logging.INFO, logs.ARCHIVED, "chunk archived", **IDS, outcome="already_archived", bytes=1000
    )
    logs.emit(
        log, logging.WARNING, logs.RETRY, "503", **IDS, reason="source_unavailable", attempt=1, delay_s=30
    )
    logs.emit(
        log, logging.WARNING, logs.RETRY, "503", **IDS, reason="source_unavailable", attempt=2, delay_s=60
    )
    logs.emit(
        log, logging.ERROR, logs.CONFIG, "403", **IDS, reason="storage_http_403", attempt=1, delay_s=300
    )
    logs.emit(
        log, logging.ERROR, logs.AT_RISK, "close", **IDS, margin_s=1800.0, deadline="2026-11-24T10:00:00"
    )
    logs.emit(
        log, logging.ERROR, logs.FAILED, "bad metadata", **IDS, reason="metadata_not_json", kept="x.json"
    )
    logs.emit(
        log, logging.ERROR, logs.REJECTED, "wrong type", event_id="e1", reason="wrong_event_type", kept="r"
    )
    logs.emit(
        log, logging.ERROR, logs.REJECTED, "wrong type", event_id="e2", reason="wrong_event_type", kept="r"
    )
    logs.emit(log, logging.ERROR, logs.REJECTED, "bad url", event_id="e3", reason="url_not_allowed", kept="r")
    logs.emit(log, logging.WARNING, logs.RETRY, "poison queue redriven", requeued=2, lost=1, invalid=0)
    logs.emit(log, logging.ERROR, logs.MISSING, "not archived", call_id="c", status="missing", age_h=3.0)
    logs.emit(log, logging.INFO, logs.INTEGRITY, "archive intact", intact="true", deep="false", problems=0)


def test_margin_bands_have_their_lower_edge() -> None:
    cases = {-1.0: "late", 0.0: "0-1h", 0.99: "0-1h", 1.0: "1-2h", 5.9: "2-6h", 6.0: "6-12h"}
    cases |= {17.9: "12-18h", 23.99: "18-24h", 24.0: "24h+", 47.0: "24h+"}
    assert {hours: margin_band(hours * HOUR) for hours in cases} == cases
    assert len(MARGIN_BANDS) == len(metrics.MARGIN_EDGES_HOURS) + 1


def test_a_known_run_gives_the_right_values() -> None:
    with recording() as reader:
        known_run()
        readings = read(reader)
    assert readings.total(metrics.CHUNKS_ACCEPTED) == 3
    # Only new commits count: the redelivered chunk moved nothing.
    assert readings.by(metrics.CHUNKS_ARCHIVED, "margin_band") == {"18-24h": 1, "0-1h": 1}
    assert readings.total(metrics.BYTES_ARCHIVED) == 4000
    margin = readings.histogram(metrics.DEADLINE_MARGIN)
    assert margin is not None and margin.count == 2 and margin.sum == pytest.approx(24 * HOUR)
    assert list(margin.explicit_bounds) == [h * HOUR for h in metrics.MARGIN_EDGES_HOURS]
    assert list(margin.bucket_counts) == [0, 1, 0, 0, 0, 0, 1, 0]  # 0-1h and 18-24h
    duration = readings.histogram(metrics.COPY_DURATION)
    assert duration is not None and (duration.count, duration.sum, duration.max) == (2, 6.0, 4.0)
    latency = readings.histogram(metrics.ARCHIVE_LATENCY)
    assert latency is not None and (latency.count, latency.sum) == (2, 84630.0)
    assert readings.value(metrics.RETRIES, reason="source_unavailable", kind="transient") == 2
    assert readings.value(metrics.RETRIES, reason="storage_http_403", kind="configuration") == 1
    assert readings.by(metrics.FAILURES, "reason") == {"metadata_not_json": 1}
    assert readings.by(metrics.REJECTIONS, "reason") == {"wrong_event_type": 2, "url_not_allowed": 1}
    assert readings.total(metrics.AT_RISK) == 1
    assert readings.by(metrics.REDRIVEN, "outcome") == {"requeued": 2, "lost": 1}
    assert readings.by(metrics.MISSING, "status") == {"missing": 1}
    assert readings.by(metrics.INTEGRITY_CHECKS, "intact") == {"true": 1}
    assert readings.units[metrics.BYTES_ARCHIVED] == "By"
    assert readings.units[metrics.DEADLINE_MARGIN] == "s" == readings.units[metrics.COPY_DURATION]


def test_no_personal_data_or_identifier_in_any_attribute() -> None:
    person = "8:acs:aaaaaaaa-0000-4000-8000-000000000001_00000021"
    with recording() as reader:
        known_run()
        # Straight to the recorder: a line like this would (rightly) fail the log scanner.
        recorder = metrics.recorder()
        for reason in (person, f"weird {person}", "4:+14255550100", "A" * 500, "call-9a7c", None):
            recorder.observe(logs.FAILED, {**IDS, "reason": reason})
            recorder.observe(logs.REJECTED, {"event_id": "e", "reason": reason})
        readings = read(reader)
    identifiers = {str(v) for v in IDS.values()} | {"e1", "e2", "e3", "x.json", "e"}
    for attributes in readings.attributes():
        assert set(attributes) <= metrics.ATTRIBUTE_KEYS
        for value in attributes.values():
            assert re.fullmatch(r"[a-z0-9_:-]{1,82}", str(value)), value
            assert str(value) not in identifiers
    assert readings.by(metrics.FAILURES, "reason") == {"metadata_not_json": 1, "other": 5, "unknown": 1}
    assert readings.by(metrics.REJECTIONS, "reason")["other"] == 5


def test_every_metric_the_workbook_may_name_is_recorded() -> None:
    with recording() as reader:
        metrics.watch_queue(lambda: QueueDepth(queued=7, poisoned=2))
        known_run()
        readings = read(reader)
    declared = {v for k, v in vars(metrics).items() if k.isupper() and str(v).startswith("archiver.")}
    assert readings.names() == declared
    assert readings.value(metrics.QUEUE_DEPTH) == 7 and readings.value(metrics.QUEUE_POISONED) == 2


def test_markers_the_recorder_handles_are_the_logged_markers() -> None:
    recorder = metrics.Recorder(MeterProvider())
    logged = {v for k, v in vars(logs).items() if k.isupper() and str(v).startswith("ARCHIVER_")}
    assert set(recorder._handlers) == logged


def test_a_queue_that_cannot_be_read_reports_nothing_and_raises_nothing() -> None:
    def broken() -> QueueDepth:
        raise ConnectionError("host storage unreachable")

    with recording() as reader:
        metrics.watch_queue(broken)
        readings = read(reader)
    assert metrics.QUEUE_DEPTH not in readings.names()


# Never a failure of the archive ------------------------------------------------------------------


class BrokenExporter(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        self.calls += 1
        raise ConnectionError("ingestion endpoint unreachable")

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return False

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None


def test_an_exporter_that_fails_never_fails_the_code_that_emits() -> None:
    exporter = BrokenExporter()
    provider = MeterProvider(
        metric_readers=[PeriodicExportingMetricReader(exporter, export_interval_millis=20)]
    )
    metrics.use(provider)
    try:
        for _ in range(50):
            known_run()
        provider.force_flush()
    finally:
        metrics.reset()
        provider.shutdown()
    assert exporter.calls >= 1


class BrokenProvider:
    def get_meter(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the SDK is broken")


def test_a_broken_metrics_sdk_is_logged_once_and_emit_still_works(caplog: pytest.LogCaptureFixture) -> None:
    metrics.reset()
    original = metrics.otel.get_meter_provider
    metrics.otel.get_meter_provider = BrokenProvider  # type: ignore[assignment]
    try:
        with caplog.at_level(logging.INFO):
            archived(10, 20.0)
            archived(10, 20.0)
    finally:
        metrics.otel.get_meter_provider = original  # type: ignore[assignment]
        metrics.reset()
    assert len([r for r in caplog.records if r.getMessage().startswith(logs.ARCHIVED)]) == 2
    assert len([r for r in caplog.records if r.getMessage().startswith("metrics are off")]) == 1


def test_an_instrument_that_raises_is_logged_once_and_emit_still_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = metrics.use(MeterProvider())

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("aggregation failed")

    recorder.archived.add = broken  # type: ignore[method-assign]
    try:
        with caplog.at_level(logging.INFO):
            archived(10, 20.0)
            archived(10, 20.0)
    finally:
        metrics.reset()
    assert len([r for r in caplog.records if r.getMessage().startswith(logs.ARCHIVED)]) == 2
    assert len([r for r in caplog.records if "recording a metric failed" in r.getMessage()]) == 1


# Configuration -----------------------------------------------------------------------------------


def test_export_is_off_without_a_connection_string() -> None:
    calls: list[str] = []
    assert metrics.enable_export({}, configure=calls.append) is False
    assert metrics.enable_export({metrics.CONNECTION_STRING: "  "}, configure=calls.append) is False
    assert calls == []


def test_export_is_configured_with_a_connection_string() -> None:
    calls: list[str] = []
    assert metrics.enable_export({metrics.CONNECTION_STRING: "InstrumentationKey=x"}, configure=calls.append)
    assert calls == ["InstrumentationKey=x"]


def test_an_exporter_that_cannot_be_configured_leaves_metrics_off(caplog: pytest.LogCaptureFixture) -> None:
    def refuse(connection_string: str) -> None:
        raise ValueError("Invalid instrumentation key")

    with caplog.at_level(logging.WARNING, logger="archiver.metrics"):
        assert metrics.enable_export({metrics.CONNECTION_STRING: "nonsense"}, configure=refuse) is False
    [line] = [r.getMessage() for r in caplog.records]
    assert "metrics export is off" in line and "nonsense" not in line


def _run(code: str, tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter (the global meter provider is set once per process); the
    exporter's retry files, if any, go to ``tmp``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APPLICATIONINSIGHTS_", "OTEL_"))}
    base["TMPDIR"] = str(tmp)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


CHECK_PROVIDER = """
    import logging
    from opentelemetry import metrics as otel
    from archiver import logs
    logs.emit(logging.getLogger("archiver.x"), logging.INFO, logs.ACCEPTED, "chunk queued", call_id="c")
    print(type(otel.get_meter_provider()).__module__)
"""


def test_the_real_distro_is_configured_lazily_and_survives_an_unreachable_endpoint(tmp_path: Path) -> None:
    """In a fresh process, as on a worker: the distro configures metrics on the first marker line;
    its endpoint refuses connections (a closed loopback port), and the process still works."""
    unreachable = _run(
        CHECK_PROVIDER,
        tmp_path,
        APPLICATIONINSIGHTS_CONNECTION_STRING=(
            "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/"
        ),
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
    )
    assert unreachable.returncode == 0, unreachable.stderr
    assert unreachable.stdout.strip().startswith("opentelemetry.sdk.metrics")
    off = _run(CHECK_PROVIDER, tmp_path)
    assert off.returncode == 0, off.stderr
    assert not off.stdout.strip().startswith("opentelemetry.sdk"), "no connection string: nothing configured"


def test_importing_the_function_app_configures_nothing(tmp_path: Path) -> None:
    result = _run(
        """
        import function_app
        from opentelemetry import metrics as otel
        print(type(otel.get_meter_provider()).__module__)
        """,
        tmp_path,
        APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=00000000-0000-0000-0000-000000000000",
    )
    assert result.returncode == 0, result.stderr
    assert not result.stdout.strip().startswith("opentelemetry.sdk")


def test_worker_lines_carry_the_timings_the_metrics_need() -> None:
    from archiver.worker import timings

    event = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

    class Manifest:
        event_time = event
        archived_at = event + timedelta(minutes=3)
        source_deadline = event + timedelta(hours=24)

    class Result:
        manifest = Manifest()

    found = timings(Result(), 1.23456)  # type: ignore[arg-type]
    assert found == {"duration_s": 1.235, "latency_s": 180.0, "margin_s": 24 * HOUR - 180.0}
