"""The figures of the HTML report, computed from the archive's own manifests and records.

They are the workbook's figures (infra/modules/workbook.json), defined the same way so that the
two agree for the same archive: a chunk counts on the UTC day of its commit (its manifest's
``archivedAt``), once, with its media size; its deadline margin is ``sourceDeadline`` minus
``archivedAt``, in the bands of ``archiver.metrics.MARGIN_BANDS``; failures and rejections
count by reason. Where the stored records and the metrics can differ, the docstrings say how.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from archiver import health
from archiver.health import ArchivedTotals, QueueStatus
from archiver.metrics import MARGIN_BANDS, margin_band
from archiver.records import ChunkManifest, FailedJobRecord
from archiver.settings import Settings
from archiver.store import ArchiveStore

PARALLEL_READS = 8  # manifests are small: a few in flight keep a long report brisk
COMMIT_SLACK = timedelta(hours=1)  # a manifest's listing time and its archivedAt differ by moments
MAX_LISTED = 50  # rows in the at-risk and lost tables


@dataclass(frozen=True)
class ChunkSummary:
    """One committed chunk, as the report shows it (no participant data)."""

    call_id: str
    chunk_index: int
    archived_at: datetime
    bytes: int
    margin_seconds: float

    @classmethod
    def of(cls, manifest: ChunkManifest) -> ChunkSummary:
        return cls(
            call_id=manifest.call_id,
            chunk_index=manifest.chunk_index,
            archived_at=manifest.archived_at,
            bytes=manifest.media.size,
            margin_seconds=(manifest.source_deadline - manifest.archived_at).total_seconds(),
        )


@dataclass(frozen=True)
class LostJob:
    """A job recorded as failed after its source's deadline: the recording is gone."""

    call_id: str
    chunk_index: int
    reason: str
    recorded_at: datetime

    @classmethod
    def of(cls, record: FailedJobRecord) -> LostJob:
        recording = record.job.get("recording") or {}
        chunk = record.job.get("chunk") or {}
        return cls(
            call_id=str(recording.get("call_id", "")),
            chunk_index=int(chunk.get("index", 0)),
            reason=record.reason,
            recorded_at=record.recorded_at,
        )


@dataclass
class Figures:
    """Everything the report charts, for the days from ``start`` to ``end`` (UTC)."""

    start: datetime
    end: datetime
    at_risk_seconds: float
    archived: dict[date, ArchivedTotals] = field(default_factory=dict)
    margins: Counter[str] = field(default_factory=Counter)
    at_risk: list[ChunkSummary] = field(default_factory=list)
    lost: list[LostJob] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    rejections: Counter[str] = field(default_factory=Counter)
    dead_lettered: Counter[date] = field(default_factory=Counter)
    dead_letters_pending: int = 0
    queue: QueueStatus | None = None
    queue_note: str = ""

    @property
    def days(self) -> list[date]:
        return list(health.iter_window_days(self.start, self.end))

    @property
    def total(self) -> ArchivedTotals:
        return ArchivedTotals(
            chunks=sum(t.chunks for t in self.archived.values()),
            bytes=sum(t.bytes for t in self.archived.values()),
        )

    def margin_counts(self) -> list[tuple[str, int]]:
        return [(band, self.margins.get(band, 0)) for band in MARGIN_BANDS]

    def per_day(self, items: list[ChunkSummary] | list[LostJob]) -> list[int]:
        counts = Counter(_day(_when(item)) for item in items)
        return [counts.get(day, 0) for day in self.days]


def _when(item: ChunkSummary | LostJob) -> datetime:
    return item.archived_at if isinstance(item, ChunkSummary) else item.recorded_at


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def manifest_names(store: ArchiveStore, start: datetime, end: datetime, retention: timedelta) -> list[str]:
    """Chunk manifests listed as written in the window (give or take ``COMMIT_SLACK``)."""
    names = []
    for prefix in health.recording_prefixes(start, end, retention):
        for blob in store.archived_blobs(prefix):
            if not blob.name.endswith(".manifest.json") or "/chunk-" not in blob.name:
                continue
            if blob.last_modified is None or blob.last_modified >= start - COMMIT_SLACK:
                names.append(blob.name)
    return names


def read_manifests(
    store: ArchiveStore, names: list[str], on_each: Callable[[], None] = lambda: None
) -> Iterator[ChunkManifest]:
    def read(name: str) -> ChunkManifest | None:
        manifest = store.chunk_manifest(name)
        on_each()
        return manifest

    with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
        for manifest in pool.map(read, names):
            if manifest is not None:
                yield manifest


def add_chunk(figures: Figures, manifest: ChunkManifest) -> None:
    """Count one committed chunk if it was committed in the window."""
    chunk = ChunkSummary.of(manifest)
    if not figures.start <= chunk.archived_at <= figures.end:
        return
    totals = figures.archived.setdefault(_day(chunk.archived_at), ArchivedTotals())
    totals.chunks += 1
    totals.bytes += chunk.bytes
    figures.margins[margin_band(chunk.margin_seconds)] += 1
    if chunk.margin_seconds < figures.at_risk_seconds:
        figures.at_risk.append(chunk)


def add_records(figures: Figures, store: ArchiveStore, retention: timedelta) -> None:
    """Failures and rejections by reason; the failures after the deadline are the lost ones.

    A failed-job record is rewritten with a job's latest reason, and a rejected payload is kept
    once however often it arrives, so these count jobs and distinct events; the metrics count
    every failure and rejection as it happens.
    """
    failed = health.failed_since(store, figures.start, figures.end, retention)
    failed = [r for r in failed if r.recorded_at <= figures.end]
    figures.failures = health.by_reason(failed)
    figures.lost = sorted(
        (LostJob.of(r) for r in failed if r.margin_seconds <= 0), key=lambda j: j.recorded_at
    )
    rejected = health.rejected_since(store, figures.start, figures.end)
    figures.rejections = health.by_reason(r for r in rejected if r.received_at <= figures.end)


def add_dead_letters(figures: Figures, store: ArchiveStore) -> None:
    """Events Event Grid dead-lettered: replayed ones by the day of their replay, and those waiting."""
    for record in store.replay_records(since=figures.start - COMMIT_SLACK):
        if figures.start <= record.replayed_at <= figures.end:
            figures.dead_lettered[_day(record.replayed_at)] += len(record.events)
    figures.dead_letters_pending = sum(
        health.events_in(store.read_dead_letter(name)) for name in store.pending_dead_letters()
    )


def compute(
    settings: Settings,
    store: ArchiveStore,
    *,
    days: int,
    now: datetime,
    on_manifest: Callable[[], None] = lambda: None,
    on_total: Callable[[int], None] = lambda total: None,
) -> Figures:
    """The report's figures for the last ``days`` UTC days, today included."""
    end = now.astimezone(UTC)
    start = datetime.combine(end.date() - timedelta(days=max(days, 1) - 1), datetime.min.time(), UTC)
    retention = timedelta(hours=settings.source_retention_hours)
    figures = Figures(start=start, end=end, at_risk_seconds=settings.at_risk_margin_minutes * 60)
    names = manifest_names(store, start, end, retention)
    on_total(len(names))
    for manifest in read_manifests(store, names, on_manifest):
        add_chunk(figures, manifest)
    figures.at_risk.sort(key=lambda c: c.archived_at)
    add_records(figures, store, retention)
    add_dead_letters(figures, store)
    return figures
