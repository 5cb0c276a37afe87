"""The archive worker: one queue message, one chunk, one outcome.

Outcomes, so that nothing is lost and nothing retries forever:
- archived (or already archived): acknowledge;
- permanent failure (bad metadata, off-allowlist redirect, lost after the deadline):
  record it in ``failed-jobs`` with the reason, log ``ARCHIVER_FAILED``, acknowledge;
- transient failure while the deadline allows: put the job back with a delay and acknowledge
  (``ARCHIVER_RETRY``; ``ARCHIVER_AT_RISK`` when the margin is under the threshold);
- anything unexpected: raise, so the host retries and finally moves it to the poison queue,
  from where the redrive timer puts it back while the deadline allows.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from archiver import layout, logs
from archiver.errors import ArchiveBusy, ConfigurationError, PermanentError, RecordingLost, TransientError
from archiver.jobs import RecordingJob
from archiver.pipeline import Archiver, ChunkResult
from archiver.records import FailedJobRecord
from archiver.settings import Settings
from archiver.store import ArchiveStore, now_utc

if TYPE_CHECKING:  # the CLI's archive command uses give_up without loading the queue SDK
    from archiver.jobqueue import JobQueue

log = logging.getLogger("archiver.worker")


class JobStatus(StrEnum):
    ARCHIVED = "archived"
    ALREADY_ARCHIVED = "already_archived"
    FAILED = "failed"
    RETRY = "retry"


@dataclass(frozen=True)
class Outcome:
    status: JobStatus
    job: RecordingJob | None
    reason: str | None = None
    result: ChunkResult | None = None


def record_failure(store: ArchiveStore, job: RecordingJob, exc: Exception, reason: str) -> str:
    """Keep a job we gave up on, with enough to redo it by hand while the source exists."""
    name = layout.failure_blob(job)
    record = FailedJobRecord(
        reason=reason,
        message=str(exc),
        recorded_at=now_utc(),
        deadline=job.recording.deadline,
        margin_seconds=round(job.margin_seconds(), 1),
        job=job.model_dump(mode="json"),
    )
    store.keep_failure(name, record)
    return name


def give_up(store: ArchiveStore, job: RecordingJob, exc: Exception, reason: str) -> Outcome:
    kept = record_failure(store, job, exc, reason)
    logs.emit(log, logging.ERROR, logs.FAILED, str(exc), **job.log_fields(), reason=reason, kept=kept)
    return Outcome(JobStatus.FAILED, job, reason)


def retry_later(
    settings: Settings, store: ArchiveStore, queue: JobQueue, job: RecordingJob, exc: TransientError
) -> Outcome:
    margin = job.margin_seconds()
    if margin <= 0:
        lost = RecordingLost(f"still failing when the retention window closed: {exc}")
        return give_up(store, job, lost, f"deadline_passed:{exc.reason}")
    # A busy chunk is not a failing source: look again when the other worker's lease lapses.
    floor = 0.0 if isinstance(exc, ArchiveBusy) else requeue_backoff(job.attempt)
    delay = min(max(exc.retry_after or 0.0, floor), max(margin - 60, 1))
    queue.put(job.model_copy(update={"attempt": job.attempt + 1}), delay_seconds=delay)
    fields: dict[str, Any] = {
        **job.log_fields(),
        "reason": exc.reason,
        "attempt": job.attempt + 1,
        "delay_s": delay,
    }
    if isinstance(exc, ConfigurationError):
        logs.emit(log, logging.ERROR, logs.CONFIG, str(exc), **fields)
    else:
        logs.emit(log, logging.WARNING, logs.RETRY, str(exc), **fields)
    report_margin(settings, job)
    return Outcome(JobStatus.RETRY, job, exc.reason)


def requeue_backoff(attempt: int) -> float:
    """30 s, 1, 2, 4, 8 min, then every 15 min (with jitter): patient, never a tight loop."""
    base: float = min(30.0 * 2**attempt, 900.0)
    return base * random.uniform(0.8, 1.2)


def report_margin(settings: Settings, job: RecordingJob) -> None:
    margin = job.margin_seconds()
    if margin < settings.at_risk_margin_minutes * 60:
        logs.emit(
            log,
            logging.ERROR,
            logs.AT_RISK,
            "job may miss its retention deadline",
            **job.log_fields(),
            margin_s=margin,
            deadline=job.recording.deadline.isoformat(),
        )


def timings(result: ChunkResult, elapsed: float) -> dict[str, float]:
    """How long this attempt took, and (from the manifest) event-to-commit time and the margin
    left before the source's deadline at the commit: the figures the metrics and reports chart."""
    manifest = result.manifest
    return {
        "duration_s": round(elapsed, 3),
        "latency_s": (manifest.archived_at - manifest.event_time).total_seconds(),
        "margin_s": (manifest.source_deadline - manifest.archived_at).total_seconds(),
    }


def process_message(
    body: str | bytes, settings: Settings, store: ArchiveStore, queue: JobQueue, archiver: Archiver
) -> Outcome:
    try:
        job = RecordingJob.from_message(body)
    except ValidationError as exc:
        kept = store.keep_rejected(
            body if isinstance(body, bytes) else body.encode(), reason="invalid_job", message=str(exc)
        )
        logs.emit(
            log, logging.ERROR, logs.FAILED, "queue message is not a job", reason="invalid_job", kept=kept
        )
        return Outcome(JobStatus.FAILED, None, "invalid_job")
    started = time.monotonic()
    try:
        result = archiver.archive(job)
    except PermanentError as exc:
        return give_up(store, job, exc, exc.reason)
    except TransientError as exc:
        return retry_later(settings, store, queue, job, exc)
    logs.emit(
        log,
        logging.INFO,
        logs.ARCHIVED,
        "chunk archived",
        **job.log_fields(),
        outcome=result.outcome.value,
        bytes=result.manifest.media.size,
        sha256=result.manifest.media.sha256,
        source_bytes=result.source_bytes,
        recording_complete=result.recording_manifest is not None,
        **timings(result, time.monotonic() - started),
    )
    return Outcome(JobStatus(result.outcome.value), job, None, result)
