"""Deadlines: poisoned jobs come back while the source exists, lost ones are recorded, jobs
close to their deadline are reported, and the source can be deleted once archived."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from archiver.dev.emulator.client import EmulatorAdmin
from archiver.events import jobs_from_event, split_payload
from archiver.jobs import RecordingJob
from archiver.runtime import Runtime, get_runtime, reset_runtime
from tests.integration.helpers import deliver, failures, fire_redrive, names, rejections, seed, work


def job_for(runtime: Runtime, payload: bytes, *, event_time: datetime | None = None) -> RecordingJob:
    [job] = [j for raw in split_payload(payload) for j in jobs_from_event(raw, runtime.settings)]
    if event_time is None:
        return job
    recording = job.recording.model_copy(
        update={"event_time": event_time, "deadline": event_time + timedelta(hours=24)}
    )
    return job.model_copy(update={"recording": recording})


def test_poisoned_job_is_redriven_and_archived(runtime: Runtime, admin: EmulatorAdmin) -> None:
    _, payload = seed(admin)
    runtime.queue.ensure()
    runtime.queue.poison.send_message(job_for(runtime, payload).to_message())
    fire_redrive()
    assert runtime.queue.poison.get_queue_properties().approximate_message_count == 0
    work(runtime)
    assert [n for n in names(runtime.store.archive) if n.endswith(".wav")]
    assert not failures(runtime)


def test_poisoned_job_past_its_deadline_is_recorded_as_lost(
    runtime: Runtime, admin: EmulatorAdmin, caplog: pytest.LogCaptureFixture
) -> None:
    _, payload = seed(admin)
    expired = job_for(runtime, payload, event_time=datetime.now(UTC) - timedelta(hours=30))
    runtime.queue.ensure()
    runtime.queue.poison.send_message(expired.to_message())
    with caplog.at_level(logging.INFO, logger="archiver"):
        fire_redrive()
    [failure] = failures(runtime)
    assert failure["reason"] == "recording_lost" and failure["marginSeconds"] < 0
    assert runtime.queue.jobs.get_queue_properties().approximate_message_count == 0
    assert any("ARCHIVER_FAILED" in r.getMessage() for r in caplog.records)


def test_job_close_to_its_deadline_is_reported_at_risk(
    runtime: Runtime, admin: EmulatorAdmin, caplog: pytest.LogCaptureFixture
) -> None:
    document, payload = seed(admin)
    late = job_for(runtime, payload, event_time=datetime.now(UTC) - timedelta(hours=23))
    admin.inject(document["documentId"], "content", *[{"kind": "status", "status": 503}] * 5)
    runtime.queue.put(late)
    with caplog.at_level(logging.INFO, logger="archiver"):
        work(runtime, timeout=60, wait_for_delayed=False)
    [line] = [r.getMessage() for r in caplog.records if "ARCHIVER_AT_RISK" in r.getMessage()]
    margin = float(line.split("margin_s=")[1].split()[0])
    assert 0 < margin < 3600
    assert runtime.queue.jobs.get_queue_properties().approximate_message_count == 1  # still kept


def test_a_malformed_queue_message_is_kept_not_retried(runtime: Runtime) -> None:
    runtime.queue.ensure()
    runtime.queue.jobs.send_message('{"recording": "not a job"}')
    report = work(runtime)
    assert report.invocations == 1 and report.raised == 0
    assert [r["reason"] for r in rejections(runtime)] == ["invalid_job"]


def test_unexpected_errors_are_poisoned_then_redriven(
    runtime: Runtime, admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archiver.pipeline import Archiver

    _, payload = seed(admin)
    deliver(payload)
    real = Archiver.archive

    def broken(self: Archiver, job: RecordingJob) -> object:
        raise RuntimeError("storage exploded")

    monkeypatch.setattr(Archiver, "archive", broken)
    report = work(runtime, visibility_timeout=0)
    assert (report.raised, report.poisoned) == (5, 1)  # the host's maxDequeueCount
    monkeypatch.setattr(Archiver, "archive", real)
    fire_redrive()
    work(runtime)
    assert [n for n in names(runtime.store.archive) if n.endswith(".wav")]


def test_source_is_deleted_after_a_verified_archive_when_enabled(
    archiver_env: dict[str, str], admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DELETE_SOURCE_AFTER_ARCHIVE", "true")
    reset_runtime()
    runtime = get_runtime()
    document, payload = seed(admin)
    deliver(payload)
    work(runtime)
    assert [n for n in names(runtime.store.archive) if n.endswith(".wav")]
    deletes = [r for r in admin.stats()["requests"] if r["method"] == "DELETE"]
    assert [r["path"] for r in deletes] == [f"/v1/objects/{document['documentId']}"]
    gone = admin.signed_request("GET", document["contentLocation"])
    assert gone.status_code == 404


def test_source_is_kept_by_default(runtime: Runtime, admin: EmulatorAdmin) -> None:
    _, payload = seed(admin)
    deliver(payload)
    work(runtime)
    assert not [r for r in admin.stats()["requests"] if r["method"] == "DELETE"]
