"""Ingress: validate events, enqueue one job per chunk, keep what cannot be archived.

Runs inside the Event Grid trigger, which must answer within 30 s, so it never touches media.
A permanently invalid event is kept in ``rejected-events`` with its reason and acknowledged
(raising would make Event Grid retry it for a day). Only a failure of our own storage raises,
because then a retry is exactly what should happen.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from archiver import logs
from archiver.errors import RejectedEvent
from archiver.events import jobs_from_event, split_payload
from archiver.jobs import RecordingJob
from archiver.settings import Settings
from archiver.store import ArchiveStore

log = logging.getLogger("archiver.ingress")


@dataclass(frozen=True)
class Rejection:
    payload: bytes  # exactly what is kept: the event's own JSON, or the whole unsplittable body
    error: RejectedEvent
    event_id: str | None


@dataclass
class IngestResult:
    accepted: list[RecordingJob] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)


def _event_id(raw: Any) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return value[:128] if isinstance(value, str) else None


def validate_payload(payload: bytes, settings: Settings, result: IngestResult) -> list[Rejection]:
    """Parse and validate a body holding one event or an array; fills ``result.accepted``."""
    try:
        events = split_payload(payload)
    except RejectedEvent as exc:
        return [Rejection(payload, exc, None)]
    rejections: list[Rejection] = []
    for raw in events:
        try:
            result.accepted.extend(jobs_from_event(raw, settings))
        except RejectedEvent as exc:
            body = payload if len(events) == 1 else json.dumps(raw).encode("utf-8")
            rejections.append(Rejection(body, exc, _event_id(raw)))
    return rejections


def ingest(
    payload: bytes, settings: Settings, store: ArchiveStore, enqueue: Callable[[RecordingJob], None]
) -> IngestResult:
    """Validate, hand each job to ``enqueue``, keep the rejections. The Event Grid trigger's job.

    ``enqueue`` is ``JobQueue.put`` in the Function App; the CLI collects the jobs instead and
    archives them in-process, so both paths validate and keep rejections identically.
    """
    result = IngestResult()
    rejections = validate_payload(payload, settings, result)
    for job in result.accepted:
        enqueue(job)
        logs.emit(
            log,
            logging.INFO,
            logs.ACCEPTED,
            "chunk queued",
            **job.log_fields(),
            margin_s=job.margin_seconds(),
        )
    for rejection in rejections:
        exc, event_id = rejection.error, rejection.event_id
        kept = store.keep_rejected(rejection.payload, reason=exc.reason, message=str(exc), event_id=event_id)
        result.rejected.append(
            {"eventId": event_id or "", "reason": exc.reason, "message": str(exc), "kept": kept}
        )
        logs.emit(
            log, logging.ERROR, logs.REJECTED, str(exc), event_id=event_id, reason=exc.reason, kept=kept
        )
    return result
