"""The archive's health now: read-only summaries of the queues and the stored records.

``status`` (one screen, exit 1 when a person is needed) and the queue-depth metric read the
queues here; ``status`` and the HTML report read the records here, only through
``ArchiveStore``'s typed operations. Nothing in this module writes anything, so it is safe to
run against a production archive at any time, with Storage Blob Data Reader (plus Storage
Queue Data Reader for the queues).

Windows are "the last N hours" by the time a thing happened (a record's ``receivedAt`` or
``recordedAt``, a chunk manifest's commit), while blob names are filed by other dates (the
recording's start, the event's time): so each listing starts early enough to see everything that
could have happened in the window, and the records themselves decide.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueMessage
from pydantic import ValidationError

from archiver import layout
from archiver.jobqueue import JobQueue
from archiver.jobs import RecordingJob
from archiver.metrics import QueueDepth
from archiver.records import FailedJobRecord, RejectedEventRecord
from archiver.store import ArchiveStore

GIB = 1024**3
PEEK = 32  # the most messages one Peek Messages request returns
# A recording may start well before its last chunk is committed (long calls, retries until the
# deadline): listings by recording day reach back this much before the window, on top of the
# source's retention.
LISTING_SLACK = timedelta(days=2)


# Queues --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedJob:
    """One job waiting in a queue, and how long its source still exists."""

    call_id: str
    document_id: str
    chunk: int
    attempt: int
    queued_at: datetime | None
    deadline: datetime
    margin_seconds: float

    def to_json(self) -> dict[str, object]:
        return {
            "callId": self.call_id,
            "documentId": self.document_id,
            "chunk": self.chunk,
            "attempt": self.attempt,
            "queuedAt": self.queued_at.isoformat() if self.queued_at else None,
            "deadline": self.deadline.isoformat(),
            "marginSeconds": round(self.margin_seconds, 1),
        }


@dataclass(frozen=True)
class QueueStatus:
    """Both queues: their depths, and among the messages one peek can see, the oldest and the
    one closest to its deadline (delayed retries are invisible until due, so never peeked)."""

    depth: QueueDepth
    oldest: QueuedJob | None
    most_urgent: QueuedJob | None
    oldest_poisoned: QueuedJob | None


def _count(client: QueueClient) -> int:
    """Approximate message count; a queue nobody has created yet holds nothing."""
    try:
        return int(client.get_queue_properties().approximate_message_count or 0)
    except ResourceNotFoundError:
        return 0


def queue_depth(queue: JobQueue) -> QueueDepth:
    """What the queue-depth and poison-count metrics report."""
    return QueueDepth(queued=_count(queue.jobs), poisoned=_count(queue.poison))


def _peek(client: QueueClient) -> list[QueueMessage]:
    try:
        return list(client.peek_messages(max_messages=PEEK))
    except ResourceNotFoundError:
        return []


def _job(message: QueueMessage, now: datetime) -> QueuedJob | None:
    try:
        job = RecordingJob.from_message(message.content)
    except (ValidationError, TypeError, ValueError):
        return None  # not a job: the worker keeps it as rejected when it gets to it
    return QueuedJob(
        call_id=job.recording.call_id,
        document_id=job.chunk.document_id,
        chunk=job.chunk.index,
        attempt=job.attempt,
        queued_at=message.inserted_on,
        deadline=job.recording.deadline,
        margin_seconds=job.margin_seconds(now),
    )


def _jobs(client: QueueClient, now: datetime) -> list[QueuedJob]:
    return [job for job in (_job(m, now) for m in _peek(client)) if job is not None]


def _oldest(jobs: list[QueuedJob]) -> QueuedJob | None:
    far = datetime.max.replace(tzinfo=UTC)
    return min(jobs, key=lambda j: j.queued_at or far, default=None)


def queue_status(queue: JobQueue, now: datetime) -> QueueStatus:
    jobs = _jobs(queue.jobs, now)
    return QueueStatus(
        depth=queue_depth(queue),
        oldest=_oldest(jobs),
        most_urgent=min(jobs, key=lambda j: j.margin_seconds, default=None),
        oldest_poisoned=_oldest(_jobs(queue.poison, now)),
    )


# Archived chunks, from listings ------------------------------------------------------------------


@dataclass
class ArchivedTotals:
    chunks: int = 0
    bytes: int = 0

    @property
    def gib(self) -> float:
        return self.bytes / GIB


def _chunk_stem(name: str) -> tuple[str, str] | None:
    """``(folder/chunk-NNN, what)`` for a chunk's blob: ``manifest``, ``metadata`` or ``media``."""
    folder, _, leaf = name.rpartition("/")
    if not leaf.startswith("chunk-") or "." not in leaf:
        return None
    stem, _, rest = leaf.partition(".")
    kind = {"manifest.json": "manifest", "metadata.json": "metadata"}.get(rest, "media")
    return f"{folder}/{stem}", kind


def recording_prefixes(since: datetime, now: datetime, retention: timedelta) -> list[str]:
    """Recording days whose chunks may have been committed since ``since``."""
    return layout.day_prefixes((since - retention - LISTING_SLACK).date(), now.date())


def archived_since(
    store: ArchiveStore, since: datetime, now: datetime, retention: timedelta
) -> ArchivedTotals:
    """Chunks committed since ``since`` and their media bytes, from listings alone.

    A chunk's manifest is written once, at its commit, so its last-modified time is the
    commit time; the media's size is in the same listing. No blob is read.
    """
    committed: set[str] = set()
    sizes: dict[str, int] = {}
    for prefix in recording_prefixes(since, now, retention):
        for blob in store.archived_blobs(prefix):
            parsed = _chunk_stem(blob.name)
            if parsed is None:
                continue
            stem, kind = parsed
            if kind == "manifest" and blob.last_modified and blob.last_modified >= since:
                committed.add(stem)
            elif kind == "media":
                sizes[stem] = blob.size
    return ArchivedTotals(chunks=len(committed), bytes=sum(sizes.get(stem, 0) for stem in committed))


# Rejections and failures -----------------------------------------------------------------------


def rejected_since(store: ArchiveStore, since: datetime, now: datetime) -> list[RejectedEventRecord]:
    """Rejected events received since ``since`` (filed by the day they were received)."""
    found: list[RejectedEventRecord] = []
    for prefix in layout.day_prefixes(since.date(), now.date()):
        found += [record for _, record in store.rejected_events(prefix) if record.received_at >= since]
    return found


def failed_since(
    store: ArchiveStore, since: datetime, now: datetime, retention: timedelta
) -> list[FailedJobRecord]:
    """Jobs recorded as failed since ``since`` (filed by their event's day, so look back further)."""
    found: list[FailedJobRecord] = []
    for prefix in layout.day_prefixes((since - retention - LISTING_SLACK).date(), now.date()):
        found += [record for _, record in store.failed_jobs(prefix) if record.recorded_at >= since]
    return found


def by_reason(records: Iterable[RejectedEventRecord | FailedJobRecord]) -> Counter[str]:
    return Counter(record.reason for record in records)


# Dead-lettered events ----------------------------------------------------------------------------


def dead_letter_hour(name: str) -> datetime | None:
    """The hour Event Grid wrote a dead-letter blob, from ``{SUB}/{yyyy}/{m}/{d}/{h}/{guid}.json``."""
    parts = name.split("/")
    if len(parts) < 6:
        return None
    try:
        year, month, day, hour = (int(part) for part in parts[-5:-1])
        return datetime(year, month, day, hour, tzinfo=UTC)
    except ValueError:
        return None


def events_in(body: bytes | None) -> int:
    """How many events a dead-letter blob holds (an unreadable blob counts as one delivery)."""
    if body is None:
        return 0
    with suppress(ValueError):
        document = json.loads(body)
        if isinstance(document, list):
            return len(document)
    return 1


@dataclass
class DeadLetters:
    """Dead-letter blobs the replay timer has not taken yet."""

    pending: list[str] = field(default_factory=list)

    def oldest_hour(self) -> datetime | None:
        hours = [h for h in map(dead_letter_hour, self.pending) if h is not None]
        return min(hours, default=None)


def pending_dead_letters(store: ArchiveStore) -> DeadLetters:
    return DeadLetters(pending=store.pending_dead_letters())


def iter_window_days(start: datetime, end: datetime) -> Iterator[date]:
    """Every UTC day from ``start``'s to ``end``'s, inclusive."""
    day = start.astimezone(UTC).date()
    while day <= end.astimezone(UTC).date():
        yield day
        day += timedelta(days=1)
