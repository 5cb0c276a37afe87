"""Every shared sample goes end to end: emulator -> Function App functions -> Azurite.

The emulator serves each sample's documents under the sample's own documentIds (and the
sample metadata byte for byte); the archiver fetches them through the sample's own URLs,
routed to the emulator by LOCAL_SOURCE_URL.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from archiver import layout, participants
from archiver.cli import main as cli_main
from archiver.dev.emulator.client import EmulatorAdmin
from archiver.events import jobs_from_event, split_payload
from archiver.runtime import Runtime
from tests.integration.helpers import deliver, work
from tests.support import SAMPLES

PEOPLE = ["8:acs:7d0c5b1e-2f3a-4b6c-9d8e-1a2b3c4d5e6f_00000021-aaaa-bbbb-cccc-000000000009", "4:+14255550100"]


def seed(
    admin: EmulatorAdmin, document_id: str, fmt: str, content: str, channel: str, **extra: Any
) -> dict[str, Any]:
    return admin.seed_document(
        document_id=document_id, format=fmt, content_type=content, channel_type=channel, **extra
    )


def deliver_through_function_app(runtime: Runtime, sample: Path) -> None:
    deliver(sample.read_bytes())
    report = work(runtime)
    assert report.raised == 0, report.errors


def assert_archived(
    runtime: Runtime, sample: Path, sources: dict[str, dict[str, Any]], metadata: dict[str, bytes]
) -> None:
    jobs = [
        job for raw in split_payload(sample.read_bytes()) for job in jobs_from_event(raw, runtime.settings)
    ]
    archive = runtime.store.archive
    for job in jobs:
        manifest = json.loads(archive.download_blob(layout.chunk_manifest_blob(job)).readall())
        media_name = manifest["media"]["blob"]
        stored = archive.download_blob(media_name).readall()
        source = sources[job.chunk.document_id]
        assert len(stored) == source["size"] > 0
        assert hashlib.sha256(stored).hexdigest() == source["sha256"] == manifest["media"]["sha256"]
        props = archive.get_blob_client(media_name).get_blob_properties()
        assert (
            base64.b64encode(bytes(props.content_settings.content_md5)).decode()
            == manifest["media"]["contentMd5"]
        )
        stored_metadata = archive.download_blob(layout.metadata_blob(job)).readall()
        if job.chunk.document_id in metadata:
            assert stored_metadata == metadata[job.chunk.document_id]  # byte for byte
        for person in json.loads(stored_metadata)["participants"]:
            found = participants.find(runtime.store, person["participantId"])
            assert any(e.document_id == job.chunk.document_id for e in found)
            entry = next(e for e in found if e.document_id == job.chunk.document_id)
            assert entry.channel == person.get("channel")
            assert entry.media.blob == media_name
    recording = json.loads(archive.download_blob(layout.recording_manifest_blob(jobs[0].recording)).readall())
    assert recording["chunkCount"] == len(jobs) == len(recording["chunks"])
    # Nothing personal in any archive or index blob name.
    names = [b.name for b in archive.list_blobs()] + [b.name for b in runtime.store.index.list_blobs()]
    assert not [n for n in names if "+1" in n or "8:acs" in n or "orgid" in n]


def test_event_grid_mixed_mp4_sample(runtime: Runtime, admin: EmulatorAdmin) -> None:
    sample = SAMPLES / "eventgrid-mixed-mp4.json"
    raw_metadata = (SAMPLES / "metadata-documented.json").read_bytes()
    doc = "0-eus-d6-3b9f2c7e8a1d4f50b6c2e9a7d8f01234"
    sources = {doc: seed(admin, doc, "mp4", "audioVideo", "mixed", metadata=raw_metadata.decode())}
    deliver_through_function_app(runtime, sample)
    assert_archived(runtime, sample, sources, {doc: raw_metadata})
    media = [b.name for b in runtime.store.archive.list_blobs() if b.name.endswith(".mp4")]
    assert media == ["2026/11/20/5f2a4b9e-1c3d-4e8f-a7b6-c9d0e1f2a3b4/091403Z-f38b0e299784/chunk-000.mp4"]


def test_cloudevent_unmixed_wav_two_chunks_through_the_cli(
    runtime: Runtime, admin: EmulatorAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "cloudevent-unmixed-wav-2chunks.json"
    raw_metadata = (SAMPLES / "metadata-unmixed-channels.json").read_bytes()
    first, second = "0-weu-d2-0123456789abcdef0123456789abcdef", "1-weu-d2-aa11bb22cc33dd44ee55ff6600778899"
    people = [p["participantId"] for p in json.loads(raw_metadata)["participants"]]
    sources = {
        first: seed(admin, first, "wav", "audio", "unmixed", metadata=raw_metadata.decode()),
        second: seed(admin, second, "wav", "audio", "unmixed", participants=people, index=1),
    }
    assert cli_main(["archive", str(sample)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [c["chunkIndex"] for c in summary["chunks"]] == [0, 1]
    for chunk in summary["chunks"]:
        media = chunk["blobs"][0]
        assert media["name"].endswith(".wav") and media["sha256"] == sources[chunk["documentId"]]["sha256"]
    assert_archived(runtime, sample, sources, {first: raw_metadata})


def test_2021_event_without_locations(runtime: Runtime, admin: EmulatorAdmin) -> None:
    sample = SAMPLES / "eventgrid-2021-no-locations.json"
    doc = "0-eus-d11-05bf22b166dfb2119e3ff85d98906121"
    sources = {doc: seed(admin, doc, "mp4", "audioVideo", "mixed", participants=PEOPLE)}
    deliver_through_function_app(runtime, sample)
    assert_archived(runtime, sample, sources, {})
    paths = [r["path"] for r in admin.stats()["requests"]]
    assert f"/recording/download/{doc}" in paths and f"/recording/download/{doc}/metadata" in paths
