"""``verify``: the archive still holds what it was given, or every problem is named.

The archive container is WORM in these tests, as in a regulated deployment, so the app can
change nothing in it; losses and bit rot are made underneath, straight on Azurite (``below``),
as a storage failure, an operator with more rights or a retention expiry would.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient, ContentSettings

from archiver import layout
from archiver.cli import main as cli_main
from archiver.dev.emulator.client import EmulatorAdmin
from archiver.dev.host import local_host
from archiver.dev.stack import Azurite
from archiver.ingress import ingest
from archiver.jobs import RecordingJob
from archiver.runtime import Runtime
from archiver.settings import INDEX_CONTAINER
from tests.integration.helpers import deliver, names, seed, work


@pytest.fixture
def below(azurite: Azurite, runtime: Runtime) -> ContainerClient:
    """The archive container straight on Azurite, past the immutability double."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    return service.get_container_client(runtime.store.archive_container)


def _archive_one(runtime: Runtime, admin: EmulatorAdmin, **fields: Any) -> RecordingJob:
    _, payload = seed(admin, **fields)
    deliver(payload)
    work(runtime)
    jobs: list[RecordingJob] = []
    ingest(payload, runtime.settings, runtime.store, jobs.append)
    return jobs[0]


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = cli_main(["verify", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def _media(runtime: Runtime, job: RecordingJob) -> str:
    manifest = runtime.store.chunk_manifest(layout.chunk_manifest_blob(job))
    assert manifest is not None
    return manifest.media.blob


def test_an_intact_archive_passes_shallow_and_deep(
    runtime: Runtime, admin: EmulatorAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    _archive_one(runtime, admin)
    _archive_one(runtime, admin, format="mp4", content_type="audioVideo", channel_type="mixed")
    capsys.readouterr()
    assert cli_main(["verify"]) == 0
    table = capsys.readouterr().out
    assert "INTACT" in table and "recordings complete" in table and "problems" in table
    code, report = _verify(capsys, "--deep")
    assert code == 0 and report["intact"] and report["problems"] == []
    counts = report["counts"]
    assert counts["recordings"] == 2 and counts["complete"] == 2 and counts["chunks"] == 2
    assert counts["rehashed"] == 4 and counts["archive_tier"] == 0
    assert counts["index_entries"] == 4  # two people in each recording
    today = datetime.now(UTC).date().isoformat()
    assert _verify(capsys, "--since", today)[1]["counts"]["recordings"] == 2
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert _verify(capsys, "--since", tomorrow)[1]["counts"]["recordings"] == 0


def test_a_deleted_media_blob_is_named(
    runtime: Runtime, admin: EmulatorAdmin, below: ContainerClient, capsys: pytest.CaptureFixture[str]
) -> None:
    job = _archive_one(runtime, admin)
    _archive_one(runtime, admin)
    media = _media(runtime, job)
    size = runtime.store.archive.get_blob_client(media).get_blob_properties().size
    below.delete_blob(media)

    code, report = _verify(capsys)
    assert code == 1 and not report["intact"]
    [problem] = report["problems"]
    assert problem["kind"] == "missing"
    assert problem["blob"] == f"{runtime.store.archive_container}/{media}"
    assert problem["expected"].startswith(f"size {size}, Content-MD5 ") and problem["found"] == "absent"
    capsys.readouterr()
    assert cli_main(["verify"]) == 1
    assert media in capsys.readouterr().out  # the table names it too


def test_a_corrupted_media_blob_is_found_by_the_deep_check(
    runtime: Runtime, admin: EmulatorAdmin, below: ContainerClient, capsys: pytest.CaptureFixture[str]
) -> None:
    job = _archive_one(runtime, admin)
    media = _media(runtime, job)
    blob = below.get_blob_client(media)
    props = blob.get_blob_properties()
    original = bytearray(blob.download_blob().readall())
    original[len(original) // 2] ^= 0x01  # one flipped bit: size and stored Content-MD5 unchanged
    blob.upload_blob(bytes(original), overwrite=True)
    blob.set_http_headers(
        ContentSettings(
            content_type=props.content_settings.content_type, content_md5=props.content_settings.content_md5
        )
    )

    assert _verify(capsys)[0] == 0  # the properties still agree: only re-reading can tell
    code, report = _verify(capsys, "--deep")
    assert code == 1
    [problem] = report["problems"]
    assert problem["kind"] == "sha256_mismatch" and problem["blob"].endswith(media)
    manifest = runtime.store.chunk_manifest(layout.chunk_manifest_blob(job))
    assert manifest is not None and problem["expected"] == f"SHA-256 {manifest.media.sha256}"


def test_a_chunk_missing_after_its_deadline_is_named_and_one_still_in_time_is_not(
    runtime: Runtime, admin: EmulatorAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    call = "5f2a4b9e-1c3d-4e8f-a7b6-c9d0e1f2a3b4"
    first, payload = seed(admin, call_id=call, index=0)
    second, _ = seed(admin, call_id=call, index=1)
    event = json.loads(payload)[0]
    event["data"]["recordingStorageInfo"]["recordingChunks"].append(
        {**event["data"]["recordingStorageInfo"]["recordingChunks"][0], "documentId": second["documentId"], "index": 1,
         "contentLocation": second["contentLocation"], "metadataLocation": second["metadataLocation"],
         "deleteLocation": second["deleteLocation"]}
    )  # fmt: skip
    for hours_ago, recording in ((30, "late"), (0, "on-time")):
        when = datetime.now(UTC) - timedelta(hours=hours_ago)
        variant = {**event, "id": f"{recording}-{first['documentId']}", "eventTime": when.isoformat()}
        variant["subject"] = event["subject"].rsplit("/", 1)[0] + f"/{recording}"  # its own recording id
        variant["data"] = {**event["data"], "recordingStartTime": when.isoformat()}
        jobs: list[RecordingJob] = []
        ingest(json.dumps(variant).encode(), runtime.settings, runtime.store, jobs.append)
        assert len(jobs) == 2
        runtime.archiver.archive(jobs[0])  # chunk 1 never makes it

    code, report = _verify(capsys)
    assert code == 1
    [problem] = report["problems"]
    assert problem["kind"] == "chunk_missing" and problem["blob"].endswith("/chunk-001.manifest.json")
    assert "chunk 1 of 2" in problem["expected"] and problem["found"] == "absent"
    assert report["counts"]["in_progress"] == 1  # the recording still within its deadline


def test_index_entries_pointing_at_nothing_are_named(
    runtime: Runtime, admin: EmulatorAdmin, below: ContainerClient, capsys: pytest.CaptureFixture[str]
) -> None:
    job = _archive_one(runtime, admin)
    below.delete_blob(layout.chunk_manifest_blob(job))
    code, report = _verify(capsys)
    assert code == 1
    dangling = [p for p in report["problems"] if p["kind"] == "index_dangling"]
    assert len(dangling) == 2  # one entry per participant
    assert all(p["blob"].startswith(f"{INDEX_CONTAINER}/") for p in dangling)
    assert all(p["expected"] == f"committed chunk {layout.chunk_manifest_blob(job)}" for p in dangling)
    assert report["counts"]["in_progress"] == 1  # its media is younger than the retention window


def test_the_weekly_timer_logs_the_counts(
    runtime: Runtime, admin: EmulatorAdmin, below: ContainerClient, caplog: pytest.LogCaptureFixture
) -> None:
    job = _archive_one(runtime, admin)
    with caplog.at_level(logging.INFO):
        assert local_host().fire_timer("verify_archive_integrity").ok
    [line] = [r for r in caplog.records if r.getMessage().startswith("ARCHIVER_INTEGRITY")]
    assert line.levelno == logging.INFO and "intact=true" in line.getMessage()
    assert "recordings=1" in line.getMessage() and "chunks=1" in line.getMessage()

    below.delete_blob(_media(runtime, job))
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert local_host().fire_timer("verify_archive_integrity").ok
    [line] = [r for r in caplog.records if r.getMessage().startswith("ARCHIVER_INTEGRITY")]
    assert line.levelno == logging.ERROR
    assert "intact=false" in line.getMessage() and "problems=1" in line.getMessage()
    assert "problem_missing=1" in line.getMessage()
    assert names(runtime.store.archive)  # the check changed nothing


def test_each_check_is_kept_in_the_audit_trail_and_status_shows_the_last(
    runtime: Runtime, admin: EmulatorAdmin, below: ContainerClient, capsys: pytest.CaptureFixture[str]
) -> None:
    job = _archive_one(runtime, admin)
    capsys.readouterr()
    assert cli_main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["integrity"] is None  # never run yet
    assert _verify(capsys, "--operator", "auditor")[0] == 0
    below.delete_blob(_media(runtime, job))
    assert _verify(capsys, "--deep", "--operator", "auditor")[0] == 1
    checks = [r for r in runtime.store.audit_records() if r.action == "verify"]
    assert [(r.operator, r.outcome) for r in checks] == [("auditor", "done"), ("auditor", "failed")]
    assert checks[1].detail.startswith("NOT intact: 1 problems, deep")
    code = cli_main(["status"])
    out = capsys.readouterr().out
    assert code == 1 and "NOT intact: 1 problems, deep (1 chunks)" in out
    assert "the last integrity check found problems" in out
