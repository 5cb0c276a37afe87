"""``report --html FILE [--days N]``: a page of charts people can look at, from the archive itself.

The same figures as the Azure Monitor workbook (archived per day, deadline margins, failures
and rejections by reason, at-risk and lost recordings, dead-lettered events, the queue), but
computed from the archive's manifests and records (``archiver.figures``), so it works where
no one can open the portal: it is one self-contained HTML file, styles and SVG charts inline,
no script and nothing fetched when it is viewed. Mail it, attach it to an audit, open it
offline.

Exit 0 once the file is written; 3 for bad settings.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date, datetime
from html import escape
from pathlib import Path

from azure.core.exceptions import AzureError

from archiver import charts, figures, health, progress
from archiver.charts import Series
from archiver.figures import Figures
from archiver.health import GIB
from archiver.runtime import Runtime, get_runtime
from archiver.settings import SettingsError
from archiver.store import now_utc

# One colour per chart: readable, and how the browser test finds each chart on a screenshot.
COLORS = {
    "archived-chunks": "#2563eb",
    "archived-gib": "#0891b2",
    "deadline-margin": "#16a34a",
    "at-risk": "#9333ea",
    "lost": "#be123c",
    "failures": "#dc2626",
    "rejections": "#d97706",
    "dead-lettered": "#475569",
    "queue": "#0d9488",
}

STYLE = """
body { font-family: system-ui, 'DejaVu Sans', sans-serif; color: #0f172a; margin: 24px; background: #f8fafc; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 0 0 8px; }
p.sub { color: #475569; margin: 0 0 16px; font-size: 13px; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin-bottom: 16px; }
.tile { background: #fff; border: 1px solid #e2e8f0; border-radius: 6px; padding: 8px 12px;
  min-width: 100px; }
.tile b { display: block; font-size: 20px; } .tile span { font-size: 12px; color: #475569; }
.grid { display: grid; grid-template-columns: repeat(2, 586px); gap: 14px; }
.card { background: #fff; border: 1px solid #e2e8f0; border-radius: 6px; padding: 12px; }
.note { font-size: 12px; color: #475569; margin: 6px 0 0; }
table { border-collapse: collapse; font-size: 12px; margin-top: 6px; }
td, th { border-bottom: 1px solid #e2e8f0; padding: 3px 10px 3px 0; text-align: left; }
footer { font-size: 12px; color: #475569; margin-top: 18px; max-width: 1186px; }
"""


def _day_labels(days: Sequence[date]) -> list[str]:
    return [f"{day:%m-%d}" for day in days]


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _gib(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:,.1f}"


def _card(title: str, body: str, note: str = "") -> str:
    extra = f'<p class="note">{escape(note)}</p>' if note else ""
    return f'<section class="card"><h2>{escape(title)}</h2>{body}{extra}</section>'


def _tile(value: str, label: str) -> str:
    return f'<div class="tile"><b>{escape(value)}</b><span>{escape(label)}</span></div>'


def _archived_cards(data: Figures) -> list[str]:
    days, labels = data.days, _day_labels(data.days)
    chunks = [data.archived[d].chunks if d in data.archived else 0 for d in days]
    gib = [data.archived[d].bytes / GIB if d in data.archived else 0 for d in days]
    return [
        _card(
            "Chunks archived per day",
            charts.column_chart(
                "archived-chunks",
                "chunks archived per day",
                labels,
                [Series("chunks", COLORS["archived-chunks"], chunks)],
                _count,
            ),
        ),
        _card(
            "GiB archived per day",
            charts.column_chart(
                "archived-gib",
                "GiB archived per day",
                labels,
                [Series("GiB", COLORS["archived-gib"], gib)],
                _gib,
                whole=False,
            ),
        ),
    ]


def _risk_cards(data: Figures) -> list[str]:
    bands = data.margin_counts()
    margin = charts.column_chart(
        "deadline-margin",
        "time left before the deadline at commit",
        [band for band, _ in bands],
        [Series("chunks", COLORS["deadline-margin"], [n for _, n in bands])],
        _count,
    )
    risk = charts.column_chart(
        "at-risk-lost",
        "at-risk and lost chunks per day",
        _day_labels(data.days),
        [
            Series("at risk", COLORS["at-risk"], data.per_day(data.at_risk)),
            Series("lost", COLORS["lost"], data.per_day(data.lost)),
        ],
        _count,
    )
    minutes = data.at_risk_seconds / 60
    return [
        _card("Time left before the source's deadline, at commit", margin, "chunks per band of hours"),
        _card(
            "At-risk and lost chunks per day",
            risk,
            f"at risk: committed with under {minutes:.0f} minutes left; lost: failed after the deadline",
        ),
    ]


def _reason_cards(data: Figures) -> list[str]:
    return [
        _card(
            "Failed jobs by reason",
            charts.bar_rows(
                "failures", "failed jobs by reason", list(data.failures.items()), color=COLORS["failures"]
            ),
            "jobs kept in failed-jobs",
        ),
        _card(
            "Rejected events by reason",
            charts.bar_rows(
                "rejections",
                "rejected events by reason",
                list(data.rejections.items()),
                color=COLORS["rejections"],
            ),
            "distinct events kept in rejected-events",
        ),
    ]


def _flow_cards(data: Figures) -> list[str]:
    dead = charts.column_chart(
        "dead-lettered",
        "dead-lettered events per day",
        _day_labels(data.days),
        [Series("events", COLORS["dead-lettered"], [data.dead_lettered.get(d, 0) for d in data.days])],
        _count,
    )
    if data.queue is None:
        queue = f'<p class="note">{escape(data.queue_note or "not available")}</p>'
    else:
        depth = data.queue.depth
        rows = [("queued (incl. delayed retries)", float(depth.queued)), ("poisoned", float(depth.poisoned))]
        queue = charts.bar_rows("queue", "job queue now", rows, color=COLORS["queue"])
    return [
        _card(
            "Dead-lettered events per day",
            dead,
            f"replayed by the timer, by day of replay; {data.dead_letters_pending} waiting now",
        ),
        _card("Job queue now", queue),
    ]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _lists(data: Figures) -> str:
    risky = [
        (
            c.archived_at.strftime("%Y-%m-%d %H:%M"),
            c.call_id,
            str(c.chunk_index),
            f"{c.margin_seconds / 60:.0f}",
        )
        for c in data.at_risk[-figures.MAX_LISTED :]
    ]
    lost = [
        (j.recorded_at.strftime("%Y-%m-%d %H:%M"), j.call_id, str(j.chunk_index), j.reason)
        for j in data.lost[-figures.MAX_LISTED :]
    ]
    parts = []
    if risky:
        table = _table(("committed (UTC)", "call", "chunk", "minutes left"), risky)
        parts.append(_card("At-risk chunks", table))
    if lost:
        parts.append(_card("Lost chunks", _table(("recorded (UTC)", "call", "chunk", "reason"), lost)))
    return f'<div class="grid" style="margin-top:14px">{"".join(parts)}</div>' if parts else ""


def _tiles(data: Figures) -> str:
    total = data.total
    dead = sum(data.dead_lettered.values())
    queue = "n/a" if data.queue is None else f"{data.queue.depth.queued} / {data.queue.depth.poisoned}"
    tiles = [
        (_count(total.chunks), "chunks archived"),
        (f"{total.gib:.2f}", "GiB archived"),
        (_count(sum(data.failures.values())), "failed jobs"),
        (_count(sum(data.rejections.values())), "rejected events"),
        (_count(len(data.at_risk)), "at-risk chunks"),
        (_count(len(data.lost)), "lost chunks"),
        (_count(dead), "dead-lettered events"),
        (queue, "queued / poisoned now"),
    ]
    return '<div class="tiles">' + "".join(_tile(v, label) for v, label in tiles) + "</div>"


def render(data: Figures, *, generated: datetime) -> str:
    """The whole page, self-contained."""
    cards = _archived_cards(data) + _risk_cards(data) + _reason_cards(data) + _flow_cards(data)
    period = f"{data.start:%Y-%m-%d} to {data.end:%Y-%m-%d %H:%M} UTC ({len(data.days)} days)"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Call recording archive report</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>Call recording archive</h1>"
        f'<p class="sub">{escape(period)}; generated {generated:%Y-%m-%d %H:%M} UTC from the '
        "archive's manifests and records</p>"
        f'{_tiles(data)}<div class="grid">{"".join(cards)}</div>{_lists(data)}'
        "<footer>A chunk counts on the UTC day its manifest was written (its commit), with its media "
        "size; its margin is the source's deadline minus that time. Failed jobs and rejected events "
        "count what is kept in failed-jobs and rejected-events (a job once, with its latest reason; "
        "a payload once however often it arrived). The Azure Monitor workbook charts the same figures "
        "from the app's metrics.</footer></body></html>\n"
    )


def _queue(runtime: Runtime, data: Figures) -> None:
    try:
        data.queue = health.queue_status(runtime.queue, data.end)
    except SettingsError:
        data.queue_note = "the job queue is not configured here (AzureWebJobsStorage)"
    except AzureError as exc:
        data.queue_note = f"the job queue could not be read ({type(exc).__name__})"


def run(args: argparse.Namespace) -> int:
    runtime = get_runtime()
    now = now_utc()
    with progress.bar("reading manifests", total=None, enabled=progress.wanted(), count=True) as shown:
        data = figures.compute(
            runtime.settings,
            runtime.store,
            days=args.days,
            now=now,
            on_manifest=lambda: shown.advance(1),
            on_total=lambda total: shown.update(0, total),
        )
    _queue(runtime, data)
    target = Path(args.html)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(data, generated=now), encoding="utf-8")
    total = data.total
    print(f"wrote {target}: {total.chunks} chunks ({total.gib:.2f} GiB) archived in {len(data.days)} days")
    return 0
