"""The decisions that keep an archive whole, checked with fakes: where a resumed copy may start,
and how long a failing job waits before its next try."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from archiver import worker
from archiver.blob_copy import META_BLOCK, META_SHA256, META_TOTAL, _checkpoint, block_id
from archiver.errors import ArchiveBusy, SourceUnavailable
from archiver.jobs import ChunkSource, RecordingInfo, RecordingJob
from archiver.settings import settings_from

BLOCK = 4


@dataclass
class Block:
    id: str
    size: int


@dataclass
class Props:
    metadata: dict[str, str]
    size: int


@dataclass
class FakeBlob:
    """What an interrupted attempt left: committed and staged blocks, and the blob's metadata."""

    metadata: dict[str, str] | None = None
    committed: list[Block] = field(default_factory=list)
    staged: list[Block] = field(default_factory=list)
    commits: list[list[str]] = field(default_factory=list)

    def get_blob_properties(self, **_: Any) -> Props:
        if self.metadata is None:
            raise ResourceNotFoundError("no blob")
        return Props(self.metadata, sum(b.size for b in self.committed))

    def get_block_list(self, *_: Any, **__: Any) -> tuple[list[Block], list[Block]]:
        return self.committed, self.staged

    def commit_block_list(self, blocks: list[Any], **_: Any) -> None:
        self.commits.append([b.id for b in blocks])


def marker(total: int, block: int = BLOCK) -> dict[str, str]:
    return {META_TOTAL: str(total), META_BLOCK: str(block)}


def blocks(*sizes: int, start: int = 0) -> list[Block]:
    return [Block(block_id(start + i), size) for i, size in enumerate(sizes)]


def test_nothing_left_means_start_from_zero() -> None:
    assert _checkpoint(FakeBlob(), None, BLOCK).bytes == 0  # type: ignore[arg-type]


def test_staged_blocks_that_continue_the_committed_ones_are_kept_and_committed() -> None:
    blob = FakeBlob(marker(20), committed=blocks(4), staged=blocks(4, 4, start=1))
    mark = _checkpoint(blob, None, BLOCK)  # type: ignore[arg-type]
    assert (mark.blocks, mark.bytes, mark.source_total) == (3, 12, 20)
    assert blob.commits == [[block_id(0), block_id(1), block_id(2)]]  # readable for re-hashing


def test_a_gap_in_the_staged_blocks_ends_the_trusted_prefix() -> None:
    staged = [Block(block_id(0), 4), Block(block_id(2), 4)]
    mark = _checkpoint(FakeBlob(marker(20), staged=staged), None, BLOCK)  # type: ignore[arg-type]
    assert (mark.blocks, mark.bytes) == (1, 4)


def test_a_short_block_is_not_trusted() -> None:
    mark = _checkpoint(FakeBlob(marker(20), staged=blocks(4, 3)), None, BLOCK)  # type: ignore[arg-type]
    assert mark.bytes == 4


def test_a_different_block_size_or_no_recorded_size_means_start_over() -> None:
    other_size = FakeBlob(marker(20, block=8), staged=blocks(8))
    no_total = FakeBlob({META_BLOCK: str(BLOCK)}, staged=blocks(4))
    assert _checkpoint(other_size, None, BLOCK).bytes == 0  # type: ignore[arg-type]
    assert _checkpoint(no_total, None, BLOCK).bytes == 0  # type: ignore[arg-type]


def test_always_leaves_bytes_to_ask_the_source_for() -> None:
    """All 12 bytes staged: resume at 8, so the source still proves it is the same file."""
    blob = FakeBlob(marker(12), staged=blocks(4, 4, 4))
    mark = _checkpoint(blob, None, BLOCK)  # type: ignore[arg-type]
    assert mark.bytes == 8 and mark.complete_sha256 is None


def test_a_whole_committed_copy_is_recognised() -> None:
    blob = FakeBlob({**marker(8), META_SHA256: "ab" * 32}, committed=blocks(4, 4))
    mark = _checkpoint(blob, None, BLOCK)  # type: ignore[arg-type]
    assert mark.complete_sha256 == "ab" * 32 and mark.bytes == 8
    assert blob.commits == []


# --- Re-queue backoff ---------------------------------------------------------------------------


@pytest.mark.parametrize(("attempt", "base"), [(0, 30), (1, 60), (2, 120), (4, 480), (5, 900), (12, 900)])
def test_requeue_backoff_doubles_then_caps_at_fifteen_minutes(
    attempt: int, base: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker.random, "uniform", lambda low, high: low)
    assert worker.requeue_backoff(attempt) == pytest.approx(base * 0.8)
    monkeypatch.setattr(worker.random, "uniform", lambda low, high: high)
    assert worker.requeue_backoff(attempt) == pytest.approx(base * 1.2)


class FakeQueue:
    def __init__(self) -> None:
        self.put_calls: list[tuple[RecordingJob, float]] = []

    def put(self, job: RecordingJob, *, delay_seconds: float = 0) -> None:
        self.put_calls.append((job, delay_seconds))


class FakeStore:
    def __init__(self) -> None:
        self.failures: dict[str, Any] = {}

    def keep_failure(self, name: str, record: Any) -> None:
        self.failures[name] = record


def job(margin: timedelta) -> RecordingJob:
    now = datetime.now(UTC)
    return RecordingJob(
        recording=RecordingInfo(
            event_id="e-1",
            event_time=now - timedelta(hours=1),
            deadline=now + margin,
            call_id="c-1",
            recording_key="k",
            start_time=now - timedelta(hours=2),
            chunk_count=1,
        ),
        chunk=ChunkSource(document_id="d-1", index=0, content_url="https://x", metadata_url="https://y"),
    )


SETTINGS = settings_from(
    {"ACS_CONNECTION_STRING": "endpoint=https://a.communication.azure.com/;accesskey=aGVsbG8="}
)


def retry(exc: Exception, margin: timedelta) -> tuple[worker.Outcome, FakeQueue, FakeStore]:
    queue, store = FakeQueue(), FakeStore()
    outcome = worker.retry_later(SETTINGS, store, queue, job(margin), exc)  # type: ignore[arg-type]
    return outcome, queue, store


def test_a_failing_source_waits_at_least_the_backoff_and_what_it_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker.random, "uniform", lambda low, high: 1.0)
    outcome, queue, _ = retry(SourceUnavailable("503", retry_after=5), timedelta(hours=10))
    [(requeued, delay)] = queue.put_calls
    assert outcome.status == worker.JobStatus.RETRY and requeued.attempt == 1 and delay == 30
    _, queue, _ = retry(SourceUnavailable("429", retry_after=600), timedelta(hours=10))
    assert queue.put_calls[0][1] == 600


def test_a_busy_chunk_comes_back_when_the_other_lease_lapses() -> None:
    _, queue, _ = retry(ArchiveBusy("leased", retry_after=15), timedelta(hours=10))
    assert queue.put_calls[0][1] == 15


def test_the_wait_never_runs_past_the_deadline() -> None:
    _, queue, _ = retry(SourceUnavailable("429", retry_after=3600), timedelta(minutes=5))
    assert queue.put_calls[0][1] <= 240


def test_past_the_deadline_the_job_is_recorded_lost_not_requeued() -> None:
    outcome, queue, store = retry(SourceUnavailable("503"), timedelta(seconds=-1))
    assert outcome.status == worker.JobStatus.FAILED and queue.put_calls == []
    [record] = store.failures.values()
    assert record.reason == "deadline_passed:source_unavailable" and record.margin_seconds < 0
