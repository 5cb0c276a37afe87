"""``status [--json]``: the archive's health on one screen; exit 1 when something needs a person.

What an operator reads in ten seconds: jobs queued and poisoned, the oldest queued job and how
long its source still exists, what was rejected, failed and archived in the last 24 hours,
dead-lettered events waiting, and the last integrity check. Everything is read-only (Storage
Blob Data Reader on the archive, Storage Queue Data Reader on the host storage).

Exit 0: nothing needs a person; 1: something does (each item says what to do); 3: bad settings.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from azure.core.exceptions import AzureError

from archiver import health
from archiver.health import ArchivedTotals, DeadLetters, QueuedJob, QueueStatus
from archiver.runtime import Runtime, get_runtime
from archiver.settings import Settings, SettingsError
from archiver.store import ArchiveStore, now_utc

WINDOW = timedelta(hours=24)
POISON_GRACE = timedelta(minutes=15)  # the redrive timer runs every 5 minutes
DEAD_LETTER_GRACE = timedelta(hours=2)  # blobs are filed by hour; the replay timer runs every 15 min
NEVER_RUN = "never run"
INTEGRITY_LOOKBACK = timedelta(days=35)  # the timer runs weekly: a month covers a few misses


@dataclass
class Status:
    """Everything ``status`` shows, and what needs a person."""

    at: datetime
    queue: QueueStatus | None
    queue_note: str
    archived: ArchivedTotals
    rejected: Counter[str]
    failed: Counter[str]
    dead_letters: DeadLetters
    integrity: str = NEVER_RUN  # the last fixity check in the audit trail
    integrity_intact: bool | None = None
    attention: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.attention


def _queue(runtime: Runtime, now: datetime) -> tuple[QueueStatus | None, str]:
    """The queues when the host storage is configured and readable; else why not."""
    try:
        return health.queue_status(runtime.queue, now), ""
    except SettingsError:
        return None, "not configured (set AzureWebJobsStorage or AzureWebJobsStorage__queueServiceUri)"
    except AzureError as exc:
        return None, f"could not be read ({type(exc).__name__})"


def collect(runtime: Runtime, now: datetime) -> Status:
    settings, store = runtime.settings, runtime.store
    since = now - WINDOW
    retention = timedelta(hours=settings.source_retention_hours)
    queue, note = _queue(runtime, now)
    status = Status(
        at=now,
        queue=queue,
        queue_note=note,
        archived=health.archived_since(store, since, now, retention),
        rejected=health.by_reason(health.rejected_since(store, since, now)),
        failed=health.by_reason(health.failed_since(store, since, now, retention)),
        dead_letters=health.pending_dead_letters(store),
    )
    _last_integrity_check(status, store)
    status.attention = needs_a_person(status, settings)
    return status


def _last_integrity_check(status: Status, store: ArchiveStore) -> None:
    """The newest ``verify`` record of the audit trail (the weekly timer or an operator)."""
    checks = store.audit_records(status.at - INTEGRITY_LOOKBACK, action="verify")
    if checks:
        last = checks[-1]
        status.integrity = (
            f"{last.at:%Y-%m-%d %H:%M} UTC: {last.detail.split(';')[0]} ({last.objects} chunks)"
        )
        status.integrity_intact = last.outcome == "done"


def _queue_attention(status: Status, settings: Settings) -> list[str]:
    queue, found = status.queue, []
    if queue is None:
        return [f"the job queue {status.queue_note}"] if status.queue_note.startswith("could") else []
    urgent = queue.most_urgent
    if urgent is not None and urgent.margin_seconds < settings.at_risk_margin_minutes * 60:
        found.append(
            f"a queued job has {_hours(urgent.margin_seconds)} left before its source is deleted "
            f"(call {urgent.call_id}, chunk {urgent.chunk}): look at why it is not archived"
        )
    poisoned = queue.oldest_poisoned
    if poisoned is not None and poisoned.queued_at and status.at - poisoned.queued_at > POISON_GRACE:
        found.append(
            f"{_plural(queue.depth.poisoned, 'poisoned job')}, the oldest since "
            f"{poisoned.queued_at:%H:%M} UTC: the redrive timer (every 5 minutes) is not taking them back; "
            "is the Function App running?"
        )
    return found


def needs_a_person(status: Status, settings: Settings) -> list[str]:
    """Each thing a person should look at now, with what to do about it."""
    found = _queue_attention(status, settings)
    failed, rejected = sum(status.failed.values()), sum(status.rejected.values())
    if failed:
        found.append(
            f"{_plural(failed, 'job')} failed for good in the last 24 h (kept in failed-jobs): "
            "read the reasons; replay with `archive` while the source exists"
        )
    if rejected:
        found.append(
            f"{_plural(rejected, 'event')} rejected in the last 24 h (kept in rejected-events): "
            "read the reasons; replay with `archive` if it was our configuration"
        )
    if status.integrity_intact is False:
        found.append(
            "the last integrity check found problems: run `python -m archiver verify --deep` for the list"
        )
    oldest = status.dead_letters.oldest_hour()
    if oldest is not None and status.at - oldest > DEAD_LETTER_GRACE:
        waiting = len(status.dead_letters.pending)
        found.append(
            f"{_plural(waiting, 'dead-letter blob')} waiting since {oldest:%Y-%m-%d %H}:00 UTC: "
            "the replay timer (every 15 minutes) is not taking them; run `deadletter replay`"
        )
    return found


# Presentation ------------------------------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def size(count: int) -> str:
    """Bytes as people read them: binary units, three significant figures."""
    value, unit = float(count), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    return f"{count} B" if unit == "B" else f"{value:.3g} {unit}"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if abs(seconds) >= 3600 else f"{seconds / 60:.0f} min"


def _reasons(counts: Counter[str]) -> str:
    total = sum(counts.values())
    if not total:
        return "0"
    return f"{total}: " + ", ".join(f"{reason} {n}" for reason, n in counts.most_common())


def _job_line(job: QueuedJob | None, now: datetime) -> str:
    if job is None:
        return ""
    waited = f"queued {_hours((now - job.queued_at).total_seconds())} ago, " if job.queued_at else ""
    return (
        f" (oldest: {waited}call {job.call_id}, chunk {job.chunk}, "
        f"{_hours(job.margin_seconds)} before its source is deleted)"
    )


def _queue_lines(status: Status) -> list[tuple[str, str]]:
    queue = status.queue
    if queue is None:
        return [("  queue", status.queue_note)]
    return [
        ("  queued", f"{queue.depth.queued}{_job_line(queue.oldest, status.at)}"),
        ("  poisoned", f"{queue.depth.poisoned}{_job_line(queue.oldest_poisoned, status.at)}"),
    ]


def format_status(status: Status) -> str:
    verdict = "OK" if status.healthy else f"NEEDS ATTENTION ({len(status.attention)})"
    rows = [
        ("Job queue", ""),
        *_queue_lines(status),
        ("Last 24 hours", ""),
        ("  archived", f"{_plural(status.archived.chunks, 'chunk')}, {size(status.archived.bytes)}"),
        ("  rejected events", _reasons(status.rejected)),
        ("  failed jobs", _reasons(status.failed)),
        ("Dead-lettered events", f"{_plural(len(status.dead_letters.pending), 'blob')} waiting for replay"),
        ("Integrity check", status.integrity),
    ]
    lines = [f"Archive status at {status.at:%Y-%m-%d %H:%M} UTC: {verdict}", ""]
    lines += [f"{label:<22} {value}".rstrip() for label, value in rows]
    if status.attention:
        lines += ["", "Needs a person:", *(f"  - {item}" for item in status.attention)]
    return "\n".join(lines)


def _queue_json(status: Status) -> dict[str, Any]:
    queue = status.queue
    if queue is None:
        return {"available": False, "note": status.queue_note}
    return {
        "available": True,
        "queued": queue.depth.queued,
        "poisoned": queue.depth.poisoned,
        "oldest": queue.oldest.to_json() if queue.oldest else None,
        "mostUrgent": queue.most_urgent.to_json() if queue.most_urgent else None,
        "oldestPoisoned": queue.oldest_poisoned.to_json() if queue.oldest_poisoned else None,
    }


def to_json(status: Status) -> dict[str, Any]:
    return {
        "at": status.at.isoformat(),
        "healthy": status.healthy,
        "needsAttention": status.attention,
        "queue": _queue_json(status),
        "last24h": {
            "archived": {"chunks": status.archived.chunks, "bytes": status.archived.bytes},
            "rejected": {"total": sum(status.rejected.values()), "byReason": dict(status.rejected)},
            "failed": {"total": sum(status.failed.values()), "byReason": dict(status.failed)},
        },
        "deadLetters": {"pendingBlobs": len(status.dead_letters.pending)},
        "integrity": None if status.integrity == NEVER_RUN else status.integrity,
    }


def run(args: argparse.Namespace) -> int:
    status = collect(get_runtime(), now_utc())
    print(json.dumps(to_json(status), indent=2) if args.json else format_status(status))
    return 0 if status.healthy else 1
