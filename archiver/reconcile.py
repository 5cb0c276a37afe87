"""Reconciliation with ACS's own record: every recording ACS made must be in the archive.

An event that never arrives (subscription deleted or filtered wrongly, a regional incident)
leaves no trace on our side. ACS keeps its own: with a diagnostic setting for the call
recording summary category, it writes one ``ACSCallRecordingSummary`` row per recording to
Log Analytics once the recording can be downloaded. This module reads those rows with
azure-monitor-query's ``LogsQueryClient`` and looks each recording up in the archive.

Column names are Microsoft's table reference for ``ACSCallRecordingSummary``: ``TimeGenerated``,
``RecordingId``, ``CorrelationId`` (the call id of the event's subject), ``ChunkCount``,
``RecordingStartTime``, ``RecordingLength`` (seconds), ``RecordingEndReason``, ``ContentType``,
``ChannelType``, ``FormatType``.

The archive files a recording under ``{start day}/{call}/{time}Z-{key}`` where ``key`` is the
hash of its recording id (``events.recording_key``), so a recording is found by listing the
days around its start. After a grace period (logs arrive minutes after the event; copies take
a while) a recording ACS reports but the archive lacks, or holds with fewer chunks, is logged
``ARCHIVER_MISSING`` with its call id and age, and whether its event was rejected, failed, or
never reached us at all.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.monitor.query import LogsQueryClient, LogsQueryResult

from archiver import layout, logs
from archiver.errors import ConfigurationError, TransientError
from archiver.events import recording_key
from archiver.records import FailedJobRecord, RejectedEventRecord
from archiver.settings import Settings
from archiver.store import ArchiveStore, now_utc

log = logging.getLogger("archiver.reconcile")
TABLE = "ACSCallRecordingSummary"
COLUMNS = (
    "TimeGenerated",
    "RecordingId",
    "CorrelationId",
    "ChunkCount",
    "RecordingStartTime",
    "RecordingLength",
    "RecordingEndReason",
    "ContentType",
    "ChannelType",
    "FormatType",
)
QUERY = f"{TABLE}\n| project {', '.join(COLUMNS)}\n| order by TimeGenerated asc"
DEFAULT_HOURS = 24.0
PROBLEMS = ("missing", "incomplete")


class LocalDevelopmentCredential:
    """A fixed token for the loopback query double: no Azure credential leaves the machine."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("local-development", int(datetime.now(UTC).timestamp()) + 3600)


def make_logs_client(settings: Settings) -> LogsQueryClient:
    """The Logs query client: managed identity against Azure, a dev token on loopback only."""
    if settings.log_analytics_is_local:
        return LogsQueryClient(LocalDevelopmentCredential(), endpoint=settings.log_analytics_endpoint)
    from azure.identity import DefaultAzureCredential

    return LogsQueryClient(DefaultAzureCredential(), endpoint=settings.log_analytics_endpoint)


@dataclass(frozen=True)
class AcsRecording:
    """One row of ACS's summary: a recording ACS made and could be downloaded."""

    recording_id: str
    call_id: str
    chunk_count: int
    logged_at: datetime
    start_time: datetime | None = None
    length_seconds: float | None = None
    end_reason: str | None = None

    @property
    def key(self) -> str:
        return recording_key(self.recording_id, [])


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            return _when(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _row_to_recording(row: dict[str, Any]) -> AcsRecording | None:
    """A recording from one row; None without a recording id (it could never be matched)."""
    recording_id, logged_at = row.get("RecordingId"), _when(row.get("TimeGenerated"))
    if not isinstance(recording_id, str) or not recording_id or logged_at is None:
        return None
    chunks = row.get("ChunkCount")
    length = row.get("RecordingLength")
    return AcsRecording(
        recording_id=recording_id,
        call_id=str(row.get("CorrelationId") or ""),
        chunk_count=int(chunks) if isinstance(chunks, int | float) and chunks > 0 else 1,
        logged_at=logged_at,
        start_time=_when(row.get("RecordingStartTime")),
        length_seconds=float(length) if isinstance(length, int | float | str) and str(length) else None,
        end_reason=str(row.get("RecordingEndReason") or "") or None,
    )


def _query_failure(exc: Exception) -> TransientError:
    """Refused credentials or an unknown workspace are for a person; the rest is retried."""
    status = getattr(exc, "status_code", None)
    if status in (401, 403, 404):
        return ConfigurationError(
            f"Log Analytics answered {status}: check LOG_ANALYTICS_WORKSPACE_ID and that the app identity "
            "has Log Analytics Reader on the workspace",
            reason=f"logs_http_{status}",
        )
    return TransientError(
        f"Log Analytics query failed ({type(exc).__name__}: {exc})", reason="logs_unavailable"
    )


def query_recordings(
    settings: Settings, hours: float, client: LogsQueryClient | None = None
) -> list[AcsRecording]:
    """Every recording ACS logged in the last ``hours``, one per recording id."""
    workspace = settings.require_log_analytics()
    owned = client is None
    client = client or make_logs_client(settings)
    options: dict[str, Any] = {"enforce_https": False} if settings.log_analytics_is_local else {}
    try:
        result = client.query_workspace(workspace, QUERY, timespan=timedelta(hours=hours), **options)
    except (HttpResponseError, ServiceRequestError, ServiceResponseError) as exc:
        raise _query_failure(exc) from exc
    finally:
        if owned:
            client.close()
    if not isinstance(result, LogsQueryResult):
        raise TransientError("Log Analytics answered with a partial result", reason="logs_partial")
    found: dict[str, AcsRecording] = {}
    for table in result.tables:
        for row in table.rows:
            recording = _row_to_recording(dict(zip(table.columns, row, strict=False)))
            if recording is not None:
                known = found.get(recording.recording_id)
                if known is None or recording.chunk_count > known.chunk_count:
                    found[recording.recording_id] = recording
    return sorted(found.values(), key=lambda r: r.logged_at)


@dataclass
class ArchivedRecording:
    folder: str
    chunks: int = 0  # committed chunk manifests
    complete: bool = False  # the recording manifest exists


@dataclass
class ArchiveView:
    """What the archive holds on some days, by recording key: names only, nothing downloaded."""

    store: ArchiveStore
    listed: set[str] = field(default_factory=set)
    by_key: dict[str, ArchivedRecording] = field(default_factory=dict)

    def load_day(self, day: datetime) -> None:
        prefix = f"{day:%Y/%m/%d}/"
        if prefix in self.listed:
            return
        self.listed.add(prefix)
        for blob in self.store.archived_blobs(prefix):
            parts = blob.name.split("/")
            if len(parts) != 6 or "Z-" not in parts[4]:
                continue
            folder = "/".join(parts[:5])
            entry = self.by_key.setdefault(parts[4].split("Z-", 1)[1], ArchivedRecording(folder))
            if parts[5] == "manifest.json":
                entry.complete = True
            elif parts[5].startswith("chunk-") and parts[5].endswith(".manifest.json"):
                entry.chunks += 1

    def find(self, recording: AcsRecording) -> ArchivedRecording | None:
        start = recording.start_time or recording.logged_at
        for offset in (0, -1, 1):
            self.load_day(start + timedelta(days=offset))
        return self.by_key.get(recording.key)


@dataclass(frozen=True)
class Finding:
    """One ACS recording and how the archive compares."""

    recording: AcsRecording
    status: str  # archived | pending | missing | incomplete
    archived_chunks: int
    folder: str | None
    age_hours: float
    note: str

    @property
    def is_problem(self) -> bool:
        return self.status in PROBLEMS


@dataclass
class ReconcileReport:
    hours: float
    grace_minutes: float
    findings: list[Finding] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found = Counter(f.status for f in self.findings)
        return {status: found.get(status, 0) for status in ("archived", "pending", "missing", "incomplete")}

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.is_problem]


@dataclass
class Traces:
    """What did reach us: rejected events and failed jobs by day, each day read once per run."""

    store: ArchiveStore
    rejected: dict[str, list[tuple[str, RejectedEventRecord]]] = field(default_factory=dict)
    failed: dict[str, list[tuple[str, FailedJobRecord]]] = field(default_factory=dict)

    def _rejected(self, day: str) -> list[tuple[str, RejectedEventRecord]]:
        if day not in self.rejected:
            self.rejected[day] = self.store.rejected_events(day)
        return self.rejected[day]

    def _failed(self, prefix: str) -> list[tuple[str, FailedJobRecord]]:
        if prefix not in self.failed:
            self.failed[prefix] = self.store.failed_jobs(prefix)
        return self.failed[prefix]

    def find(self, recording: AcsRecording) -> str | None:
        """Whether the recording's event did reach us: kept as rejected, or its job as failed."""
        segment = layout.name_segment(recording.call_id) + "/" if recording.call_id else ""
        for offset in (0, -1):
            day = f"{recording.logged_at + timedelta(days=offset):%Y/%m/%d}/"
            for name, failed in self._failed(day + segment):
                if failed.job.get("recording", {}).get("recording_id") == recording.recording_id:
                    return f"its event reached us but the job failed ({failed.reason}): failed-jobs/{name}"
            for name, rejected in self._rejected(day):
                if recording.recording_id in rejected.payload:
                    return (
                        f"its event reached us but was rejected ({rejected.reason}): rejected-events/{name}"
                    )
        return None


def _never_delivered(settings: Settings, recording: AcsRecording, now: datetime) -> str:
    kept_until = recording.logged_at + timedelta(hours=settings.source_retention_hours)
    source = (
        f"ACS keeps the source until about {kept_until:%Y-%m-%d %H:%M} UTC"
        if kept_until > now
        else "the source has expired at ACS"
    )
    return (
        "ACS made this recording but its event never reached the archiver (no archive, no rejection, "
        f"no failed job): check the Event Grid subscription and its dead-letter container; {source}"
    )


def compare(
    settings: Settings, recording: AcsRecording, view: ArchiveView, traces: Traces, now: datetime
) -> Finding:
    archived = view.find(recording)
    chunks = archived.chunks if archived else 0
    age = (now - recording.logged_at).total_seconds() / 3600
    folder = archived.folder if archived else None
    if archived and (archived.complete or chunks >= recording.chunk_count):
        return Finding(recording, "archived", chunks, folder, age, "")
    if now - recording.logged_at < timedelta(minutes=settings.reconcile_grace_minutes):
        return Finding(recording, "pending", chunks, folder, age, "within the grace period")
    if archived:
        note = f"{chunks} of {recording.chunk_count} chunks archived in {folder}"
        return Finding(recording, "incomplete", chunks, folder, age, note)
    note = traces.find(recording) or _never_delivered(settings, recording, now)
    return Finding(recording, "missing", 0, None, age, note)


def reconcile(
    settings: Settings,
    store: ArchiveStore,
    *,
    hours: float = DEFAULT_HOURS,
    now: datetime | None = None,
    client: LogsQueryClient | None = None,
) -> ReconcileReport:
    """Compare the last ``hours`` of ACS's summary logs with the archive; log what is missing."""
    now = now or now_utc()
    report = ReconcileReport(hours=hours, grace_minutes=settings.reconcile_grace_minutes)
    view, traces = ArchiveView(store), Traces(store)
    for recording in query_recordings(settings, hours, client):
        finding = compare(settings, recording, view, traces, now)
        report.findings.append(finding)
        if finding.is_problem:
            _log_missing(finding)
    counts = report.counts()
    log.info("reconciled with ACS's summary logs: %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return report


def reconcile_if_configured(settings: Settings, store: ArchiveStore) -> ReconcileReport | None:
    """The hourly timer: reconcile, or say once per run that it is not configured."""
    if not settings.log_analytics_workspace_id:
        log.warning("reconciliation with ACS is off: LOG_ANALYTICS_WORKSPACE_ID is not set")
        return None
    return reconcile(settings, store)


def _log_missing(finding: Finding) -> None:
    recording = finding.recording
    logs.emit(
        log,
        logging.ERROR,
        logs.MISSING,
        finding.note,
        call_id=recording.call_id,
        recording_key=recording.key,
        recording_id=recording.recording_id,
        status=finding.status,
        chunks_expected=recording.chunk_count,
        chunks_archived=finding.archived_chunks,
        age_h=round(finding.age_hours, 1),
    )
