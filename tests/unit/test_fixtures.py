"""Every fixture under tests/fixtures meets its expected ingest outcome (tests/fixtures/expected.json).

The vendor fixtures are Microsoft's published examples of the event (docs, REST API specs, SDK
tests; see tests/fixtures/README.md). The table also guards the repository's self-containment:
every fixture must be listed, and no test may read files from outside the repository.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from archiver.ingress import IngestResult, validate_payload
from archiver.jobs import RecordingJob
from archiver.settings import settings_from
from tests.support import FIXTURES, ROOT

EXPECTED_FILE = FIXTURES / "expected.json"
EXPECTED: dict[str, Any] = json.loads(EXPECTED_FILE.read_text(encoding="utf-8"))
TABLE: dict[str, dict[str, Any]] = EXPECTED["fixtures"]
SETTINGS = settings_from(EXPECTED["settings"])
NOT_FIXTURES = {"README.md", EXPECTED_FILE.name}  # documentation and the table itself


def fixture_files() -> list[str]:
    """Every file under tests/fixtures that must have an expected outcome, as a posix path."""
    return sorted(
        path.relative_to(FIXTURES).as_posix()
        for path in FIXTURES.rglob("*")
        if path.is_file() and path.name not in NOT_FIXTURES
    )


def job_view(job: RecordingJob) -> dict[str, Any]:
    return {
        "index": job.chunk.index,
        "documentId": job.chunk.document_id,
        "contentUrl": job.chunk.content_url,
        "metadataUrl": job.chunk.metadata_url,
        "deleteUrl": job.chunk.delete_url,
    }


@pytest.mark.parametrize("name", sorted(TABLE))
def test_fixture_meets_its_expected_outcome(name: str) -> None:
    expected = TABLE[name]
    assert ("accepted" in expected) != ("rejected" in expected), f"{name}: give one outcome"
    result = IngestResult()
    rejections = validate_payload((FIXTURES / name).read_bytes(), SETTINGS, result)

    if "rejected" in expected:
        assert result.accepted == []
        assert [r.error.reason for r in rejections] == [expected["rejected"]]
        return

    want = expected["accepted"]
    assert [(r.error.reason, str(r.error)) for r in rejections] == []
    assert [job_view(job) for job in result.accepted] == want["chunks"]
    for job in result.accepted:
        recording = job.recording
        assert recording.event_id == want["eventId"]
        assert recording.call_id == want["callId"]
        assert recording.server_call_id == want["serverCallId"]
        assert recording.recording_id == want["recordingId"]
        assert recording.format_type == want["formatType"]
        assert recording.chunk_count == len(want["chunks"])
    assert len({job.recording.recording_key for job in result.accepted}) == 1


def test_every_fixture_has_an_expected_outcome() -> None:
    files = fixture_files()
    assert files, "no fixtures found"
    assert [name for name in files if name not in TABLE] == [], "add the new fixture to expected.json"
    assert [name for name in TABLE if name not in files] == [], "expected.json names a missing fixture"


def test_both_schemas_of_one_vendor_example_give_the_same_jobs() -> None:
    pairs = [
        ("vendor/specs-event-grid-schema.json", "vendor/specs-cloud-events-schema.json"),
        ("vendor/sdk-net-eventgrid-event.json", "vendor/sdk-net-cloudevent.json"),
    ]
    for event_grid, cloud_events in pairs:
        assert TABLE[event_grid]["accepted"] == TABLE[cloud_events]["accepted"]


# Built from pieces so that this file does not match its own patterns.
_WORD = "sha" + "red"
_OUTSIDE = re.compile(
    "|".join(
        [
            re.escape(f"/work/{_WORD}"),
            re.escape(f"../{_WORD}"),
            re.escape(f"..\\{_WORD}"),
            f"[\"']{_WORD}[\"']",  # a path built as Path(...) / "<word>" / "samples"
        ]
    )
)


def test_no_test_reads_files_outside_the_repository() -> None:
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary media
        for number, line in enumerate(text.splitlines(), start=1):
            if _OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "the repository must carry everything its tests read"
