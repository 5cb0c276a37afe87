"""Replay the events Event Grid dead-lettered, so that none expires unread in its container.

Event Grid gives up on an event when the function is down for a day, answers 400/413, refuses
our credentials during a key rotation, or its converter rejects the envelope, and writes it to
``eventgrid-deadletter`` as ``{SUBSCRIPTION}/{yyyy}/{m}/{d}/{h}/{guid}.json`` (the subscription's
name in upper case, date parts not zero-padded): a JSON array of the undelivered events as
they were published, each with the delivery fields added. In the Event Grid schema they are
``deadLetterReason``, ``deliveryAttempts``, ``lastDeliveryOutcome``, ``publishTime`` and
``lastDeliveryAttemptTime``; in the CloudEvents 1.0 schema the same names in lower case, as
extension attributes (Microsoft's "Event Grid message delivery and retry", *Delivery event
formats*).

Each event, without those fields, goes through ``ingress.ingest`` exactly as a delivery would:
the same validation, rejections kept with their reason. Each chunk it yields is then routed:
already archived (nothing to do), past its deadline (recorded lost, ``ARCHIVER_FAILED``: the
source is gone, and a queued job would only retry a 404 until someone looked), or queued.

Safe to run concurrently with itself and after a crash anywhere: a run leases each blob before
touching it (another run skips it), writes its outcome record once (``If-None-Match: *``), then
moves the blob under ``replayed/`` by copy and delete. A run that died after the record finds
it and only finishes the move; one that died before it replays again, which ingress and the
workers make harmless (queued twice, archived once).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_args

from azure.core.exceptions import AzureError

from archiver import layout, logs
from archiver.errors import RecordingLost, RejectedEvent
from archiver.events import split_payload
from archiver.ingress import IngestResult, ingest, validate_payload
from archiver.jobs import RecordingJob
from archiver.records import (
    DeadLetterDelivery,
    DeadLetterReplayRecord,
    ReplayedChunk,
    ReplayedEvent,
    ReplayOutcome,
)
from archiver.settings import Settings
from archiver.store import ArchiveStore, DeadLetterClaim, now_utc, replayed_name, storage_failure
from archiver.worker import give_up

log = logging.getLogger("archiver.deadletter")
LEASE_SECONDS = 60  # renewed before every event, so a large blob never outlives its claim
EXPIRED_REASON = "deadletter_expired"

# Event Grid schema names; the CloudEvents schema uses the same names in lower case.
DELIVERY_FIELDS = {
    "deadletterreason": "dead_letter_reason",
    "deliveryattempts": "delivery_attempts",
    "lastdeliveryoutcome": "last_delivery_outcome",
    "publishtime": "publish_time",
    "lastdeliveryattempttime": "last_delivery_attempt_time",
}
OUTCOME_ORDER: tuple[ReplayOutcome, ...] = get_args(ReplayOutcome)


def split_delivery(raw: dict[str, Any]) -> tuple[dict[str, Any], DeadLetterDelivery]:
    """The event as it was published, and what Event Grid added when it gave up on it."""
    event: dict[str, Any] = {}
    added: dict[str, Any] = {}
    for key, value in raw.items():
        name = DELIVERY_FIELDS.get(key.lower())
        if name is None:
            event[key] = value
        else:
            added[name] = value
    if "specversion" not in event and "eventType" not in event and {"type", "source"} <= event.keys():
        # A CloudEvent whose dead-letter copy lost its specversion (Microsoft's own example
        # shows none): without it the envelope would be read as a broken Event Grid event.
        event = {"specversion": "1.0", **event}
    return event, _delivery(added)


def _delivery(added: dict[str, Any]) -> DeadLetterDelivery:
    """Lenient: these fields explain the failure; an odd value must not stop the replay."""
    attempts = added.pop("delivery_attempts", None)
    texts = {name: str(value)[:1024] for name, value in added.items() if value is not None}
    count = attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else None
    if count is None and isinstance(attempts, str) and attempts.isdigit():
        count = int(attempts)
    return DeadLetterDelivery(delivery_attempts=count, **texts)


@dataclass
class ChunkRouter:
    """The ``enqueue`` ingress calls for each valid chunk: archived, expired or queued."""

    store: ArchiveStore
    enqueue: Callable[[RecordingJob], None]
    dry_run: bool = False
    chunks: list[ReplayedChunk] = field(default_factory=list)
    call_id: str | None = None

    def __call__(self, job: RecordingJob) -> None:
        self.call_id = job.recording.call_id
        index, document_id = job.chunk.index, job.chunk.document_id
        if self.store.archived_exists(layout.chunk_manifest_blob(job)):
            self.chunks.append(
                ReplayedChunk(index=index, document_id=document_id, outcome="already_archived")
            )
        elif job.margin_seconds() <= 0:
            kept = None if self.dry_run else self._record_lost(job)
            self.chunks.append(
                ReplayedChunk(index=index, document_id=document_id, outcome="expired", kept=kept)
            )
        else:
            if not self.dry_run:
                self.enqueue(job)
            self.chunks.append(ReplayedChunk(index=index, document_id=document_id, outcome="queued"))

    def _record_lost(self, job: RecordingJob) -> str:
        closed = job.recording.deadline.isoformat()
        lost = RecordingLost(
            f"dead-lettered event replayed after the source's retention window closed at {closed}"
        )
        give_up(self.store, job, lost, EXPIRED_REASON)
        return layout.failure_blob(job)

    def outcome(self) -> ReplayOutcome:
        """The event's outcome: its worst chunk (expired, then queued, then already archived)."""
        seen = {chunk.outcome for chunk in self.chunks}
        if "expired" in seen:
            return "expired"
        return "queued" if "queued" in seen else "already_archived"


def _event_id(event: dict[str, Any]) -> str | None:
    value = event.get("id")
    return value[:512] if isinstance(value, str) else None


def replay_event(
    raw: dict[str, Any],
    settings: Settings,
    store: ArchiveStore,
    enqueue: Callable[[RecordingJob], None],
    *,
    dry_run: bool = False,
) -> ReplayedEvent:
    """One dead-lettered event through ingress (validation only in a dry run)."""
    event, delivery = split_delivery(raw)
    payload = json.dumps(event).encode("utf-8")
    router = ChunkRouter(store, enqueue, dry_run=dry_run)
    if dry_run:
        result = IngestResult()
        rejections = validate_payload(payload, settings, result)
        rejected = [{"reason": r.error.reason, "kept": ""} for r in rejections]
        for job in result.accepted:
            router(job)
    else:
        rejected = ingest(payload, settings, store, router).rejected
    if rejected:
        return ReplayedEvent(
            event_id=_event_id(event),
            delivery=delivery,
            outcome="rejected",
            reason=rejected[0]["reason"],
            kept=rejected[0]["kept"] or None,
        )
    return ReplayedEvent(
        event_id=_event_id(event),
        call_id=router.call_id,
        delivery=delivery,
        outcome=router.outcome(),
        chunks=router.chunks,
    )


def replay_body(
    body: bytes,
    settings: Settings,
    store: ArchiveStore,
    enqueue: Callable[[RecordingJob], None],
    *,
    dry_run: bool = False,
    before_each: Callable[[], None] = lambda: None,
) -> list[ReplayedEvent]:
    """Every event of one dead-letter blob; a blob that is not an array of events is rejected
    (and kept) whole by ingress, like any unreadable delivery."""
    try:
        events = split_payload(body)
    except RejectedEvent as exc:
        kept = None if dry_run else ingest(body, settings, store, enqueue).rejected[0]["kept"]
        return [
            ReplayedEvent(delivery=DeadLetterDelivery(), outcome="rejected", reason=exc.reason, kept=kept)
        ]
    replayed = []
    for raw in events:
        before_each()
        replayed.append(replay_event(raw, settings, store, enqueue, dry_run=dry_run))
    return replayed


@dataclass
class ReplayReport:
    """What one run did: a record per blob replayed, blobs another run held, storage failures."""

    records: list[DeadLetterReplayRecord] = field(default_factory=list)
    claimed_elsewhere: int = 0
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        found = Counter(event.outcome for record in self.records for event in record.events)
        return {outcome: found.get(outcome, 0) for outcome in OUTCOME_ORDER}


def _replay_claimed(
    claim: DeadLetterClaim, settings: Settings, store: ArchiveStore, enqueue: Callable[[RecordingJob], None]
) -> DeadLetterReplayRecord:
    """Record the outcome once, then retire the blob; an earlier run's record is final."""
    record = store.replay_record(claim.name)
    if record is None:
        events = replay_body(
            claim.body, settings, store, enqueue, before_each=lambda: store.renew_dead_letter(claim)
        )
        record = DeadLetterReplayRecord(
            blob=claim.name, replayed_blob=replayed_name(claim.name), replayed_at=now_utc(), events=events
        )
        if not store.create_replay_record(record):
            record = store.replay_record(claim.name) or record
    store.retire_dead_letter(claim)
    return record


def replay_one(
    name: str,
    settings: Settings,
    store: ArchiveStore,
    enqueue: Callable[[RecordingJob], None],
    *,
    dry_run: bool = False,
) -> DeadLetterReplayRecord | None:
    """Replay one dead-letter blob; None if another run holds it or has already retired it."""
    if dry_run:
        body = store.read_dead_letter(name)
        if body is None:
            return None
        events = replay_body(body, settings, store, enqueue, dry_run=True)
        return DeadLetterReplayRecord(blob=name, replayed_blob="", replayed_at=now_utc(), events=events)
    claim = store.claim_dead_letter(name, seconds=LEASE_SECONDS)
    if claim is None:
        return None
    try:
        return _replay_claimed(claim, settings, store, enqueue)
    except BaseException:
        store.release_dead_letter(claim)  # let the next run have it at once
        raise


def replay(
    settings: Settings,
    store: ArchiveStore,
    enqueue: Callable[[RecordingJob], None],
    *,
    dry_run: bool = False,
) -> ReplayReport:
    """Replay every pending dead-letter blob (the timer's job, and ``deadletter replay``)."""
    report = ReplayReport(dry_run=dry_run)
    for name in store.pending_dead_letters():
        try:
            record = replay_one(name, settings, store, enqueue, dry_run=dry_run)
        except AzureError as exc:
            failure = storage_failure(exc)
            if failure is None:
                raise
            report.errors.append(f"{name}: {failure}")
            logs.emit(log, logging.WARNING, logs.RETRY, str(failure), blob=name, reason=failure.reason)
            continue
        if record is None:
            report.claimed_elsewhere += 1
        else:
            report.records.append(record)
            _log_record(record, dry_run)
    return report


def _log_record(record: DeadLetterReplayRecord, dry_run: bool) -> None:
    counts = Counter(event.outcome for event in record.events)
    log.info(
        "dead-letter blob %s blob=%s %s",
        "checked (dry run)" if dry_run else "replayed",
        record.blob,
        " ".join(f"{outcome}={counts.get(outcome, 0)}" for outcome in OUTCOME_ORDER),
    )
