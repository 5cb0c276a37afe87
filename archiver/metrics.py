"""Operational metrics through OpenTelemetry, derived from the log markers in one place.

Every marker line (``archiver.logs.emit``) already says what happened and carries the numbers
that matter (bytes, margins, reasons), so the metrics are computed from those lines here
rather than by calls sprinkled through the pipeline: a new marker field is a new metric
value, and the log lines and the metrics can never disagree.

Export goes to Application Insights with the Azure Monitor OpenTelemetry distro, configured
lazily, the first time a marker is emitted, and only when ``APPLICATIONINSIGHTS_CONNECTION_STRING``
is set (the Function App; Entra ID auth comes from ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING``).
Locally, and in the CLI, nothing is configured and every instrument is a no-op. The distro is
told to export metrics only: the Functions host already ships the worker's log lines (the
alerts query them in ``AppTraces``) and its own request telemetry, which a second exporter
would duplicate.

Nothing here may fail an archive: recording is in memory, export runs on the SDK's own thread,
and any error in configuring or recording is logged once and swallowed.

No personal data: attributes are only the fixed keys in ``ATTRIBUTE_KEYS`` with values from our
own reason codes and bands, never ids (call, event, document, participant) or URLs.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics as otel

log = logging.getLogger("archiver.metrics")

METER_NAME = "archiver"
CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"

# Metric names: the workbook (infra/modules/workbook.json) queries exactly these.
CHUNKS_ACCEPTED = "archiver.chunks.accepted"
CHUNKS_ARCHIVED = "archiver.chunks.archived"
BYTES_ARCHIVED = "archiver.bytes.archived"
COPY_DURATION = "archiver.copy.duration"
ARCHIVE_LATENCY = "archiver.archive.latency"
DEADLINE_MARGIN = "archiver.deadline.margin"
RETRIES = "archiver.retries"
FAILURES = "archiver.failures"
REJECTIONS = "archiver.rejections"
AT_RISK = "archiver.at_risk"
MISSING = "archiver.missing"
REDRIVEN = "archiver.poison.redriven"
INTEGRITY_CHECKS = "archiver.integrity.checks"
QUEUE_DEPTH = "archiver.queue.depth"
QUEUE_POISONED = "archiver.queue.poisoned"

# Every attribute key any metric carries; values are our own codes, never identifiers.
ATTRIBUTE_KEYS = frozenset({"reason", "kind", "margin_band", "outcome", "status", "intact"})
# A reason code as the code writes them: ``wrong_event_type``, ``deadline_passed:source_unavailable``.
_CODE = re.compile(r"[a-z][a-z0-9_]{0,40}(?::[a-z][a-z0-9_]{0,40})?")

# Margin left before the source's deadline when a chunk was archived, in bands of hours. The
# histogram uses the same edges; Application Insights keeps only a histogram's sum, count, min
# and max, so the archived-chunk counter also carries the band: that is the distribution the
# workbook charts, and the HTML report computes the same bands from the manifests.
MARGIN_EDGES_HOURS = (0, 1, 2, 6, 12, 18, 24)
MARGIN_BANDS = ("late", "0-1h", "1-2h", "2-6h", "6-12h", "12-18h", "18-24h", "24h+")


def margin_band(seconds: float) -> str:
    """The band of ``MARGIN_BANDS`` a margin falls in (a lower edge belongs to its band)."""
    hours = seconds / 3600
    index = sum(1 for edge in MARGIN_EDGES_HOURS if hours >= edge)
    return MARGIN_BANDS[index]


@dataclass(frozen=True)
class QueueDepth:
    """Messages in the job queue (including delayed retries) and in its poison queue."""

    queued: int
    poisoned: int


QueueReader = Callable[[], QueueDepth]


def _reason(value: Any) -> str:
    """A code as an attribute value; anything that is not shaped like one of our codes (a message,
    an identifier that found its way into a reason) becomes ``other``, so no attribute can carry it."""
    text = str(value if value is not None else "unknown").strip().lower()
    return text if _CODE.fullmatch(text) else "other"


def _number(fields: Mapping[str, Any], name: str) -> float | None:
    value = fields.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class Recorder:
    """The instruments, and how each marker line turns into measurements."""

    def __init__(self, provider: otel.MeterProvider) -> None:
        meter = provider.get_meter(METER_NAME)
        self._meter = meter
        self.accepted = meter.create_counter(CHUNKS_ACCEPTED, "{chunk}", "chunks queued for archiving")
        self.archived = meter.create_counter(CHUNKS_ARCHIVED, "{chunk}", "chunks newly archived")
        self.bytes = meter.create_counter(BYTES_ARCHIVED, "By", "media bytes newly archived")
        self.duration = meter.create_histogram(
            COPY_DURATION, "s", "time one attempt took to archive a chunk (metadata, media, manifest)"
        )
        self.latency = meter.create_histogram(
            ARCHIVE_LATENCY, "s", "time from the recording's event to the chunk's commit"
        )
        self.margin = meter.create_histogram(
            DEADLINE_MARGIN,
            "s",
            "time left before the source's deadline when the chunk was committed",
            explicit_bucket_boundaries_advisory=[edge * 3600.0 for edge in MARGIN_EDGES_HOURS],
        )
        self.retries = meter.create_counter(RETRIES, "{retry}", "jobs put back to try again later")
        self.failures = meter.create_counter(FAILURES, "{job}", "jobs that failed for good")
        self.rejections = meter.create_counter(REJECTIONS, "{event}", "events rejected")
        self.at_risk = meter.create_counter(AT_RISK, "{job}", "jobs still failing close to the deadline")
        self.missing = meter.create_counter(MISSING, "{recording}", "recordings ACS reports, not archived")
        self.redriven = meter.create_counter(REDRIVEN, "{job}", "poisoned jobs redriven")
        self.integrity = meter.create_counter(INTEGRITY_CHECKS, "{check}", "fixity checks run")
        self._handlers: dict[str, Callable[[Mapping[str, Any]], None]] = {
            "ARCHIVER_ACCEPTED": lambda fields: self.accepted.add(1),
            "ARCHIVER_ARCHIVED": self._archived,
            "ARCHIVER_RETRY": self._retry,
            "ARCHIVER_CONFIG": lambda fields: self.retries.add(
                1, {"reason": _reason(fields.get("reason")), "kind": "configuration"}
            ),
            "ARCHIVER_FAILED": lambda fields: self.failures.add(1, {"reason": _reason(fields.get("reason"))}),
            "ARCHIVER_REJECTED": lambda fields: self.rejections.add(
                1, {"reason": _reason(fields.get("reason"))}
            ),
            "ARCHIVER_AT_RISK": lambda fields: self.at_risk.add(1),
            "ARCHIVER_MISSING": lambda fields: self.missing.add(1, {"status": _reason(fields.get("status"))}),
            "ARCHIVER_INTEGRITY": lambda fields: self.integrity.add(
                1, {"intact": _reason(fields.get("intact"))}
            ),
        }

    def observe(self, marker: str, fields: Mapping[str, Any]) -> None:
        handler = self._handlers.get(marker)
        if handler is not None:
            handler(fields)

    def _archived(self, fields: Mapping[str, Any]) -> None:
        """Only a new commit counts: a redelivery of an archived chunk moved no bytes."""
        if fields.get("outcome") != "archived":
            return
        margin = _number(fields, "margin_s")
        self.archived.add(1, {"margin_band": margin_band(margin)} if margin is not None else {})
        size = _number(fields, "bytes")
        if size is not None:
            self.bytes.add(int(size))
        for instrument, name in ((self.duration, "duration_s"), (self.latency, "latency_s")):
            value = _number(fields, name)
            if value is not None:
                instrument.record(value)
        if margin is not None:
            self.margin.record(margin)

    def _retry(self, fields: Mapping[str, Any]) -> None:
        """A job re-queued, or the redrive timer's summary of the poison queue."""
        if "requeued" in fields:
            for outcome in ("requeued", "lost", "invalid"):
                count = int(_number(fields, outcome) or 0)
                if count:
                    self.redriven.add(count, {"outcome": outcome})
            return
        self.retries.add(1, {"reason": _reason(fields.get("reason")), "kind": "transient"})

    def watch_queue(self, reader: Callable[[], QueueReader | None]) -> None:
        """Queue depth and poison count, read from storage each time the metrics are collected
        (every minute on a running instance), through whichever reader is current then."""
        sample = _QueueSample(reader)
        self._meter.create_observable_gauge(
            QUEUE_DEPTH, [sample.queued], "{message}", "messages in the job queue, delayed retries included"
        )
        self._meter.create_observable_gauge(
            QUEUE_POISONED, [sample.poisoned], "{message}", "messages in the poison queue"
        )


class _QueueSample:
    """One storage read serves both gauges of a collection; no reader or a failed read reports
    nothing."""

    def __init__(self, reader: Callable[[], QueueReader | None], *, fresh_for: float = 5.0) -> None:
        self._reader = reader
        self._fresh_for = fresh_for
        self._last: tuple[float, QueueDepth | None] | None = None

    def _sample(self) -> QueueDepth | None:
        now = time.monotonic()
        if self._last is not None and now - self._last[0] < self._fresh_for:
            return self._last[1]
        read = self._reader()
        try:
            depth = read() if read is not None else None
        except Exception:  # a gauge must never break the exporter (logged with its traceback)
            log.warning("could not read the job queue's depth for metrics", exc_info=True)
            depth = None
        self._last = (now, depth)
        return depth

    def queued(self, options: otel.CallbackOptions) -> Iterable[otel.Observation]:
        sample = self._sample()
        return [otel.Observation(sample.queued)] if sample else []

    def poisoned(self, options: otel.CallbackOptions) -> Iterable[otel.Observation]:
        sample = self._sample()
        return [otel.Observation(sample.poisoned)] if sample else []


# Configuration: lazy, once per process --------------------------------------------------------


def _configure_azure_monitor(connection_string: str) -> None:
    """The distro, metrics only (see the module docstring for why)."""
    from azure.monitor.opentelemetry import configure_azure_monitor
    from opentelemetry.sdk.resources import Resource

    configure_azure_monitor(
        connection_string=connection_string,
        disable_logging=True,
        disable_tracing=True,
        enable_live_metrics=False,
        enable_performance_counters=False,
        instrumentation_options={name: {"enabled": False} for name in _INSTRUMENTATIONS},
        resource=Resource.create({"service.name": os.environ.get("WEBSITE_SITE_NAME", "archiver")}),
    )


# The distro instruments these libraries by default; we export no traces, so none is wanted.
_INSTRUMENTATIONS = (
    "azure_sdk",
    "django",
    "fastapi",
    "flask",
    "httpx",
    "psycopg2",
    "requests",
    "urllib",
    "urllib3",
)


def enable_export(
    environ: Mapping[str, str] | None = None,
    configure: Callable[[str], None] = _configure_azure_monitor,
) -> bool:
    """Configure the Azure Monitor exporter if a connection string is set; True if it was.

    A malformed connection string or a broken exporter is logged and leaves metrics off: the
    archive must work whatever happens to its telemetry.
    """
    connection_string = (environ if environ is not None else os.environ).get(CONNECTION_STRING, "")
    if not connection_string.strip():
        return False
    try:
        configure(connection_string)
    except Exception as exc:  # noqa: BLE001 - telemetry must never stop the archiver
        log.warning("metrics export is off: configuring Azure Monitor failed (%s)", type(exc).__name__)
        return False
    return True


_lock = threading.Lock()
_recorder: Recorder | None = None
_queue_reader: QueueReader | None = None
_failed_once = False
_export_tried = False  # the global meter provider can be set once per process


def _current_queue_reader() -> QueueReader | None:
    return _queue_reader


def _build() -> Recorder:
    """A recorder on the global provider; a no-op one if the SDK cannot even create instruments."""
    global _export_tried  # noqa: PLW0603 - one per process, by design
    if not _export_tried:
        _export_tried = True
        enable_export()
    try:
        built = Recorder(otel.get_meter_provider())
    except Exception:  # telemetry must never fail an archive (logged, with its traceback)
        log.warning("metrics are off: the OpenTelemetry SDK could not create instruments", exc_info=True)
        built = Recorder(otel.NoOpMeterProvider())
    built.watch_queue(_current_queue_reader)
    return built


def recorder() -> Recorder:
    """The process's recorder, built (and the exporter configured) on first use."""
    global _recorder  # noqa: PLW0603 - one per process, by design
    with _lock:
        if _recorder is None:
            _recorder = _build()
        return _recorder


def observe(marker: str, fields: Mapping[str, Any]) -> None:
    """Turn one marker line into measurements; never raises."""
    global _failed_once  # noqa: PLW0603
    try:
        recorder().observe(marker, fields)
    except Exception:  # telemetry must never fail an archive (logged once, with its traceback)
        if not _failed_once:
            _failed_once = True
            log.warning("recording a metric failed; metrics may be incomplete", exc_info=True)


def watch_queue(read: QueueReader) -> None:
    """Report the job queue's depth and poison count through ``read`` (the runtime's queue)."""
    global _queue_reader  # noqa: PLW0603
    _queue_reader = read


def use(provider: otel.MeterProvider) -> Recorder:
    """Record into ``provider`` from now on (tests pass one with an in-memory reader)."""
    global _recorder  # noqa: PLW0603
    with _lock:
        _recorder = Recorder(provider)
        _recorder.watch_queue(_current_queue_reader)
        return _recorder


def reset() -> None:
    """Forget the recorder and the queue reader; the next marker builds the recorder again."""
    global _recorder, _queue_reader, _failed_once  # noqa: PLW0603
    with _lock:
        _recorder = None
        _queue_reader = None
        _failed_once = False
