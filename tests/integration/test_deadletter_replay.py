"""Events Event Grid dead-lettered are replayed through ingress, once, and never silently expire.

Dead-letter blobs are written exactly as Event Grid writes them (``archiver.dev.deadletter``):
``{SUBSCRIPTION}/{yyyy}/{m}/{d}/{h}/{guid}.json`` holding an array of the events with the
delivery fields added, in either delivery schema.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from archiver import layout
from archiver.cli import main as cli_main
from archiver.deadletter import ReplayReport, replay
from archiver.dev.deadletter import write_dead_letter
from archiver.dev.emulator.client import EmulatorAdmin
from archiver.dev.host import local_host
from archiver.events import jobs_from_event
from archiver.records import DeadLetterReplayRecord
from archiver.runtime import Runtime
from archiver.store import REPLAYED_PREFIX, replay_record_name
from tests.integration.helpers import deliver, failures, names, read, rejections, seed, work


def _event(admin: EmulatorAdmin, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    document, payload = seed(admin, **fields)
    return document, json.loads(payload)[0]


def _as_cloud_event(event: dict[str, Any]) -> dict[str, Any]:
    """The same event as a CloudEvents 1.0 subscription delivers it."""
    return {
        "specversion": "1.0",
        "id": event["id"],
        "source": event["topic"],
        "subject": event["subject"],
        "type": event["eventType"],
        "time": event["eventTime"],
        "datacontenttype": "application/json",
        "data": event["data"],
    }


def _pending(runtime: Runtime) -> list[str]:
    return [n for n in names(runtime.store.deadletters) if not n.startswith(REPLAYED_PREFIX)]


def _replay_timer() -> None:
    invocation = local_host().fire_timer("replay_dead_letters")
    if invocation.error is not None:
        raise invocation.error


@pytest.mark.parametrize("schema", ["eventgrid", "cloudevents"])
def test_dead_lettered_event_is_replayed_to_a_verified_archive(
    runtime: Runtime, admin: EmulatorAdmin, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    document, event = _event(admin)
    dead = _as_cloud_event(event) if schema == "cloudevents" else event
    blob = write_dead_letter(runtime.store.deadletters, [dead], outcome="Unauthorized", attempts=12)
    assert blob.startswith("ARCHIVER-RECORDING-FILE-STATUS/")
    raw = json.loads(runtime.store.deadletters.download_blob(blob).readall())
    field = "deadLetterReason" if schema == "eventgrid" else "deadletterreason"
    assert raw[0][field] == "MaxDeliveryAttemptsExceeded"

    _replay_timer()  # the function, as the host fires it every 15 minutes
    report = work(runtime)
    assert report.succeeded == 1 and report.raised == 0

    # The blob was retired under replayed/, with its outcome recorded once.
    assert _pending(runtime) == []
    assert names(runtime.store.deadletters) == sorted([f"{REPLAYED_PREFIX}{blob}", replay_record_name(blob)])
    record = DeadLetterReplayRecord.model_validate(read(runtime.store.deadletters, replay_record_name(blob)))
    [replayed] = record.events
    assert replayed.outcome == "queued" and replayed.event_id == event["id"]
    assert replayed.delivery.dead_letter_reason == "MaxDeliveryAttemptsExceeded"
    assert (
        replayed.delivery.delivery_attempts == 12
        and replayed.delivery.last_delivery_outcome == "Unauthorized"
    )
    assert [c.outcome for c in replayed.chunks] == ["queued"]

    # The archive is verified, deep: the bytes are the emulator's.
    capsys.readouterr()
    assert cli_main(["verify", "--deep", "--json"]) == 0
    verified = json.loads(capsys.readouterr().out)
    assert verified["intact"] and verified["counts"]["chunks"] == 1 and verified["counts"]["rehashed"] == 2
    [job] = jobs_from_event(event, runtime.settings)
    manifest = runtime.store.chunk_manifest(layout.chunk_manifest_blob(job))
    assert manifest is not None and manifest.media.sha256 == document["sha256"]

    # A second replay finds nothing to do.
    assert replay(runtime.settings, runtime.store, runtime.queue.put).records == []


def test_expired_dead_letter_is_recorded_lost_not_queued(
    runtime: Runtime,
    admin: EmulatorAdmin,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, event = _event(admin)
    long_ago = datetime.now(UTC) - timedelta(hours=30)  # past the 24 h the source is kept
    event["eventTime"] = long_ago.isoformat()
    event["data"]["recordingStartTime"] = (long_ago - timedelta(minutes=5)).isoformat()
    blob = write_dead_letter(runtime.store.deadletters, [event], reason="TimeToLiveExceeded")
    admin.reset_stats()

    with caplog.at_level(logging.INFO):
        code = cli_main(["deadletter", "replay", "--operator", "ops@example.com"])
    assert code == 1  # something was lost: say so
    out = capsys.readouterr().out
    assert "expired" in out and blob in out

    [failure] = failures(runtime)
    assert failure["reason"] == "deadletter_expired" and "retention window closed" in failure["message"]
    assert any(r.getMessage().startswith("ARCHIVER_FAILED") for r in caplog.records)
    runtime.queue.ensure()
    assert runtime.queue.jobs.get_queue_properties().approximate_message_count == 0  # never queued
    assert admin.stats()["requestCount"] == 0  # and the source was never asked
    record = DeadLetterReplayRecord.model_validate(read(runtime.store.deadletters, replay_record_name(blob)))
    [replayed] = record.events
    assert replayed.outcome == "expired" and replayed.chunks[0].kept
    assert replayed.delivery.dead_letter_reason == "TimeToLiveExceeded"
    assert _pending(runtime) == []
    [entry] = [r for r in runtime.store.audit_records() if r.action == "replay"]
    assert entry.operator == "ops@example.com" and entry.scope == f"deadletter:{blob}"


def test_two_concurrent_replays_produce_one_archive(runtime: Runtime, admin: EmulatorAdmin) -> None:
    blobs, events = [], []
    for _ in range(3):
        _, event = _event(admin)
        events.append(event)
        blobs.append(write_dead_letter(runtime.store.deadletters, [event]))
    start = threading.Barrier(2)
    reports: list[ReplayReport] = []

    def run() -> None:
        start.wait()
        reports.append(replay(runtime.settings, runtime.store, runtime.queue.put))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(reports) == 2 and not any(r.errors for r in reports)
    replayed = sorted(record.blob for report in reports for record in report.records)
    assert replayed == sorted(blobs)  # each blob replayed by exactly one of the two runs
    runtime.queue.ensure()
    assert runtime.queue.jobs.get_queue_properties().approximate_message_count == 3  # one job each

    report = work(runtime)
    assert report.succeeded == 3
    archived = names(runtime.store.archive)
    assert len([n for n in archived if n.endswith("/manifest.json")]) == 3  # three recordings, once each
    assert len(archived) == 3 * 4  # media, metadata, chunk manifest, recording manifest
    assert _pending(runtime) == []
    assert len([n for n in names(runtime.store.deadletters) if n.endswith(".outcome.json")]) == 3


def test_already_archived_and_rejected_events_and_a_dry_run_that_changes_nothing(
    runtime: Runtime, admin: EmulatorAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    _, event = _event(admin)
    deliver(json.dumps([event]).encode())  # it did arrive after all (Event Grid retried)
    work(runtime)
    bad = {**event, "id": "not-a-recording", "eventType": "Microsoft.Communication.CallStarted"}
    blob = write_dead_letter(runtime.store.deadletters, [event, bad], outcome="BadRequest", attempts=1)
    before = names(runtime.store.archive)

    assert cli_main(["deadletter", "replay", "--dry-run", "--json"]) == 1
    dry = json.loads(capsys.readouterr().out)
    assert dry["dryRun"] and dry["counts"] == {
        "queued": 0,
        "already_archived": 1,
        "rejected": 1,
        "expired": 0,
    }
    assert _pending(runtime) == [blob] and rejections(runtime) == []  # nothing kept, nothing moved

    assert cli_main(["deadletter", "replay"]) == 1  # a rejection is reported
    assert "already_archived" in capsys.readouterr().out
    record = DeadLetterReplayRecord.model_validate(read(runtime.store.deadletters, replay_record_name(blob)))
    assert [e.outcome for e in record.events] == ["already_archived", "rejected"]
    assert record.events[1].reason == "wrong_event_type" and record.events[1].kept
    assert [r["reason"] for r in rejections(runtime)] == ["wrong_event_type"]
    assert names(runtime.store.archive) == before
    runtime.queue.ensure()
    assert runtime.queue.jobs.get_queue_properties().approximate_message_count == 0


def test_a_replay_interrupted_after_its_record_only_finishes_the_move(
    runtime: Runtime, admin: EmulatorAdmin
) -> None:
    """A run that died between writing the outcome and moving the blob is completed, not redone."""
    _, event = _event(admin)
    blob = write_dead_letter(runtime.store.deadletters, [event])
    claim = runtime.store.claim_dead_letter(blob, seconds=15)
    assert claim is not None
    earlier = DeadLetterReplayRecord(
        blob=blob, replayed_blob=f"{REPLAYED_PREFIX}{blob}", replayed_at=datetime.now(UTC), events=[]
    )
    assert runtime.store.create_replay_record(earlier)
    runtime.store.release_dead_letter(claim)  # the run "dies" here

    [record] = replay(runtime.settings, runtime.store, runtime.queue.put).records
    assert record.events == []  # the earlier run's record stands
    runtime.queue.ensure()
    assert runtime.queue.jobs.get_queue_properties().approximate_message_count == 0
    assert _pending(runtime) == [] and f"{REPLAYED_PREFIX}{blob}" in names(runtime.store.deadletters)


def test_a_blob_leased_by_another_run_is_left_to_it(runtime: Runtime, admin: EmulatorAdmin) -> None:
    _, event = _event(admin)
    blob = write_dead_letter(runtime.store.deadletters, [event])
    claim = runtime.store.claim_dead_letter(blob, seconds=15)
    assert claim is not None
    report = replay(runtime.settings, runtime.store, runtime.queue.put)
    assert report.records == [] and report.claimed_elsewhere == 1 and _pending(runtime) == [blob]
    runtime.store.release_dead_letter(claim)
    assert [r.blob for r in replay(runtime.settings, runtime.store, runtime.queue.put).records] == [blob]
