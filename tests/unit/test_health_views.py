"""What operators see, without storage: the status screen and its verdict, the report's page and
charts, progress bars only on a terminal, and the small parsers health reports rely on."""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from archiver import charts, health, layout, progress
from archiver.commands import report, status
from archiver.figures import ChunkSummary, Figures, LostJob
from archiver.health import ArchivedTotals, DeadLetters, QueuedJob, QueueStatus
from archiver.metrics import MARGIN_BANDS, QueueDepth
from archiver.settings import settings_from

NOW = datetime(2026, 11, 24, 18, 15, tzinfo=UTC)
SETTINGS = settings_from({"ARCHIVE_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true"})


def job(margin_h: float, *, queued_min_ago: float = 5) -> QueuedJob:
    return QueuedJob(
        call_id="4f1c2d3e",
        document_id="doc-1",
        chunk=0,
        attempt=1,
        queued_at=NOW - timedelta(minutes=queued_min_ago),
        deadline=NOW + timedelta(hours=margin_h),
        margin_seconds=margin_h * 3600,
    )


def a_status(**changes: Any) -> status.Status:
    base: dict[str, Any] = {
        "at": NOW,
        "queue": QueueStatus(QueueDepth(3, 0), oldest=job(21.5), most_urgent=job(21.5), oldest_poisoned=None),
        "queue_note": "",
        "archived": ArchivedTotals(chunks=42, bytes=3 * 1024**3 + 1024**3 // 4),
        "rejected": Counter[str](),
        "failed": Counter[str](),
        "dead_letters": DeadLetters(),
    }
    found = status.Status(**{**base, **changes})
    found.attention = status.needs_a_person(found, SETTINGS)
    return found


# status ------------------------------------------------------------------------------------------


def test_a_healthy_archive_reads_ok() -> None:
    text = status.format_status(a_status())
    assert text.splitlines()[0] == "Archive status at 2026-11-24 18:15 UTC: OK"
    assert "  queued               3 (oldest: queued 5 min ago, call 4f1c2d3e, chunk 0, 21.5 h before" in text
    assert "  archived             42 chunks, 3.25 GiB" in text
    assert "Integrity check        never run" in text and "Needs a person" not in text
    document = status.to_json(a_status())
    assert document["healthy"] is True and document["integrity"] is None
    assert document["queue"]["oldest"]["marginSeconds"] == 21.5 * 3600


def test_failures_and_rejections_need_a_person() -> None:
    found = a_status(
        failed=Counter({"metadata_not_json": 1, "recording_lost": 1}),
        rejected=Counter({"wrong_event_type": 1}),
    )
    text = status.format_status(found)
    assert "NEEDS ATTENTION (2)" in text
    assert "failed jobs          2: metadata_not_json 1, recording_lost 1" in text
    assert "  - 2 jobs failed for good in the last 24 h (kept in failed-jobs)" in text
    assert "  - 1 event rejected in the last 24 h" in text


def test_a_queued_job_close_to_its_deadline_needs_a_person() -> None:
    queue = QueueStatus(QueueDepth(2, 0), oldest=job(20), most_urgent=job(1.5), oldest_poisoned=None)
    [item] = a_status(queue=queue).attention
    assert item.startswith(
        "a queued job has 1.5 h left before its source is deleted (call 4f1c2d3e, chunk 0)"
    )


def test_poison_is_normal_for_a_few_minutes_then_needs_a_person() -> None:
    recent = QueueStatus(QueueDepth(0, 1), None, None, oldest_poisoned=job(20, queued_min_ago=4))
    assert a_status(queue=recent).attention == []
    stuck = QueueStatus(QueueDepth(0, 1), None, None, oldest_poisoned=job(20, queued_min_ago=40))
    [item] = a_status(queue=stuck).attention
    assert "redrive timer" in item


def test_dead_letters_waiting_for_hours_need_a_person() -> None:
    fresh = DeadLetters(pending=[f"SUB/{NOW:%Y/%-m/%-d/%-H}/a.json"])
    assert a_status(dead_letters=fresh).attention == []
    old = NOW - timedelta(hours=5)
    stale = DeadLetters(pending=[f"SUB/{old:%Y/%-m/%-d/%-H}/a.json", "SUB/x.json"])
    [item] = a_status(dead_letters=stale).attention
    assert item.startswith("2 dead-letter blobs waiting since") and "deadletter replay" in item


def test_an_unconfigured_queue_is_said_not_flagged() -> None:
    found = a_status(queue=None, queue_note="not configured (set AzureWebJobsStorage)")
    assert found.attention == []
    assert "  queue                not configured" in status.format_status(found)
    unreadable = a_status(queue=None, queue_note="could not be read (ServiceRequestError)")
    assert unreadable.attention == ["the job queue could not be read (ServiceRequestError)"]


# The report page and its charts -------------------------------------------------------------------


def figures_with_data() -> Figures:
    start = datetime(2026, 11, 18, tzinfo=UTC)
    data = Figures(start=start, end=NOW, at_risk_seconds=7200)
    data.archived = {
        date(2026, 11, 20): ArchivedTotals(3, 3 * 1024**3),
        date(2026, 11, 24): ArchivedTotals(1, 10),
    }
    data.margins = Counter({"18-24h": 3, "0-1h": 1})
    data.at_risk = [ChunkSummary("<script>alert(1)</script>", 0, NOW, 10, 1800.0)]
    data.lost = [LostJob("call-lost", 1, "recording_lost", NOW)]
    data.failures = Counter({"recording_lost": 1})
    data.rejections = Counter({"wrong_event_type": 2})
    data.dead_lettered = Counter({date(2026, 11, 21): 4})
    data.queue = QueueStatus(QueueDepth(5, 1), None, None, None)
    return data


def test_the_page_holds_every_chart_and_fetches_nothing() -> None:
    page = report.render(figures_with_data(), generated=NOW)
    ids = set(re.findall(r'data-chart="([^"]+)"', page))
    assert ids == {
        "archived-chunks",
        "archived-gib",
        "deadline-margin",
        "at-risk-lost",
        "failures",
        "rejections",
        "dead-lettered",
        "queue",
    }
    for reference in ("http://", "https://", "<script", "<link", "<img", "url("):
        assert reference not in page, reference
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "2026-11-18 to 2026-11-24 18:15 UTC (7 days)" in page
    for color in report.COLORS.values():
        assert f'fill="{color}"' in page


def test_the_margin_chart_has_every_band_in_order() -> None:
    page = report.render(figures_with_data(), generated=NOW)
    svg = page[page.index('data-chart="deadline-margin"') :]
    svg = svg[: svg.index("</svg>")]
    labels = [label for label in re.findall(r">([^<>]+)</text>", svg) if label in MARGIN_BANDS]
    assert labels == list(MARGIN_BANDS)


def test_an_unavailable_queue_is_a_note_not_a_chart() -> None:
    data = figures_with_data()
    data.queue, data.queue_note = None, "the job queue is not configured here (AzureWebJobsStorage)"
    page = report.render(data, generated=NOW)
    assert 'data-chart="queue"' not in page and "not configured here" in page


@pytest.mark.parametrize(
    ("largest", "whole", "ticks"),
    [
        (0, True, [0, 1]),
        (1, True, [0, 1]),
        (5, True, [0, 2, 4, 6]),
        (23, True, [0, 10, 20, 30]),
        (0.53, False, [0, 0.2, 0.4, 0.6]),
        (0.3, True, [0, 1]),
        (1234, True, [0, 500, 1000, 1500]),
    ],
)
def test_axes_step_in_numbers_people_read(largest: float, whole: bool, ticks: list[float]) -> None:
    assert charts.axis(largest, whole=whole) == pytest.approx(ticks)


def test_charts_without_data_draw_no_bars() -> None:
    empty = charts.column_chart("c", "t", ["a", "b"], [charts.Series("s", "#123456", [0, 0])])
    assert "#123456" not in empty
    rows = charts.bar_rows("r", "t", [], color="#654321")
    assert "none in this period" in rows and "#654321" not in rows
    tiny = charts.column_chart("c", "t", ["a", "b"], [charts.Series("s", "#123456", [1000, 1])])
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)" fill="#123456"', tiny)]
    assert min(heights) >= charts.MIN_BAR


# Progress ----------------------------------------------------------------------------------------


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bars_only_for_a_terminal_and_never_with_json() -> None:
    assert progress.wanted(stream=Tty()) is True
    assert progress.wanted(stream=Pipe()) is False
    assert progress.wanted(json_output=True, stream=Tty()) is False


def test_a_bar_shows_bytes_rate_and_time_left() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with progress.bar("export", total=4_000_000, enabled=True, console=console) as bar:
        bar.advance(1_000_000)
        time.sleep(0.2)  # a rate needs two samples some time apart
        bar.update(4_000_000)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert "export" in text and "4.0/4.0 MB" in text and "B/s" in text and "0:00:00" in text


def test_a_disabled_bar_draws_nothing_and_leaves_the_store_alone() -> None:
    class Store:
        on_read: Any = None

    store = Store()
    with progress.reading(store, "x", total=10, enabled=False) as bar:
        bar.advance(5)
        assert store.on_read is None
    screen = io.StringIO()
    original = progress.terminal
    progress.terminal = lambda: Console(file=screen, force_terminal=True)  # type: ignore[assignment]
    try:
        with progress.reading(store, "x", total=10, enabled=True):
            assert store.on_read is not None
            store.on_read(10)
    finally:
        progress.terminal = original  # type: ignore[assignment]
    assert store.on_read is None and "10/10" in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())


# Parsers -----------------------------------------------------------------------------------------


def test_sizes_read_as_people_read_them() -> None:
    assert [status.size(n) for n in (0, 1023, 2417196, 3 * 1024**3 + 1024**3 // 4, 5 * 1024**4)] == [
        "0 B",
        "1023 B",
        "2.31 MiB",
        "3.25 GiB",
        "5 TiB",
    ]


def test_dead_letter_names_tell_their_hour() -> None:
    assert health.dead_letter_hour("ARCHIVER-X/2026/11/4/7/abc.json") == datetime(2026, 11, 4, 7, tzinfo=UTC)
    assert health.dead_letter_hour("replayed/ARCHIVER-X/2026/11/4/7/abc.json") == datetime(
        2026, 11, 4, 7, tzinfo=UTC
    )
    assert health.dead_letter_hour("odd.json") is None
    assert health.dead_letter_hour("A/yyyy/11/4/7/abc.json") is None


def test_events_in_a_dead_letter_blob() -> None:
    assert health.events_in(b'[{"id": 1}, {"id": 2}]') == 2
    assert health.events_in(b"not json") == 1
    assert health.events_in(b'{"id": 1}') == 1
    assert health.events_in(None) == 0


def test_day_prefixes_cover_both_ends() -> None:
    assert layout.day_prefixes(date(2026, 12, 30), date(2027, 1, 1)) == [
        "2026/12/30/",
        "2026/12/31/",
        "2027/01/01/",
    ]
    assert layout.day_prefixes(date(2026, 1, 2), date(2026, 1, 1)) == ["2026/01/02/"]
