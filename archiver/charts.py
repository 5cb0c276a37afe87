"""Small inline SVG charts for the HTML report: no script, no font or file from the network.

An operator opens the report anywhere (a laptop on a plane, an auditor's locked-down PC), so
every chart is drawn here as SVG markup in the page itself. Each chart draws its bars in its
own colour, which is also how the report's browser test finds each chart on a screenshot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 560
PLOT_TOP = 16
PLOT_LEFT = 56
PLOT_RIGHT = 12
AXIS_HEIGHT = 44
ROW_HEIGHT = 24
LABEL_WIDTH = 200
TEXT = "#334155"
GRID = "#e2e8f0"
MIN_BAR = 2.0  # a non-zero value is always visible


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: Sequence[float]


def nice_step(value: float, *, whole: bool) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k at or above ``value``: a gridline step people read at a
    glance (at least 1 for counts, which have no fractions)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    step = float(next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= value))
    return max(step, 1.0) if whole else step


def axis(largest: float, *, whole: bool) -> list[float]:
    """Gridline values from 0 to just above ``largest``: at most four steps."""
    step = nice_step(largest / 4, whole=whole)
    ticks = max(1, math.ceil(largest / step - 1e-9))
    return [step * n for n in range(ticks + 1)]


def _text(
    x: float, y: float, content: str, *, anchor: str = "middle", size: int = 11, extra: str = ""
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{TEXT}"{extra}>'
        f"{escape(content)}</text>"
    )


def _bar(x: float, y: float, width: float, height: float, *, color: str, tip: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{color}">'
        f"<title>{escape(tip)}</title></rect>"
    )


def _svg(title: str, height: float, body: list[str], chart_id: str) -> str:
    return (
        f'<svg width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" role="img" data-chart="{escape(chart_id)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _y_axis(ticks: Sequence[float], plot_height: float, fmt: Callable[[float], str]) -> list[str]:
    parts = []
    for value in ticks:
        y = PLOT_TOP + plot_height - plot_height * value / ticks[-1]
        parts.append(
            f'<line x1="{PLOT_LEFT}" x2="{WIDTH - PLOT_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        parts.append(_text(PLOT_LEFT - 6, y + 4, fmt(value), anchor="end", size=10))
    return parts


def _x_labels(labels: Sequence[str], slot: float, plot_height: float) -> list[str]:
    """Every label when they fit, else every n-th so that none overlap."""
    every = max(1, math.ceil(len(labels) * 44 / (WIDTH - PLOT_LEFT - PLOT_RIGHT)))
    base = PLOT_TOP + plot_height + 16
    return [
        _text(PLOT_LEFT + slot * (i + 0.5), base, label, size=10)
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def column_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    *,
    whole: bool = True,
) -> str:
    """Vertical bars per label (days, bands); several series stand side by side. ``whole``: the
    values are counts, so gridlines fall on whole numbers."""
    height = 220 + PLOT_TOP
    plot_height = 220 - AXIS_HEIGHT
    ticks = axis(max((v for s in series for v in s.values), default=0), whole=whole)
    top = ticks[-1]
    slot = (WIDTH - PLOT_LEFT - PLOT_RIGHT) / max(len(labels), 1)
    width = slot * 0.8 / max(len(series), 1)
    body = _y_axis(ticks, plot_height, fmt)
    for n, line in enumerate(series):
        for i, value in enumerate(line.values):
            if value <= 0:
                continue
            bar = max(plot_height * value / top, MIN_BAR)
            x = PLOT_LEFT + slot * i + slot * 0.1 + width * n
            body.append(
                _bar(
                    x,
                    PLOT_TOP + plot_height - bar,
                    width,
                    bar,
                    color=line.color,
                    tip=f"{labels[i]}: {fmt(value)}",
                )
            )
    body += _x_labels(labels, slot, plot_height)
    if len(series) > 1:
        body += _legend(series, height - 8)
    return _svg(title, height, body, chart_id)


def _legend(series: Sequence[Series], y: float) -> list[str]:
    parts, x = [], float(PLOT_LEFT)
    for line in series:
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{line.color}"/>')
        parts.append(_text(x + 14, y, line.name, anchor="start", size=11))
        x += 24 + 7 * len(line.name)
    return parts


def bar_rows(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, float]],
    *,
    color: str,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    empty: str = "none in this period",
) -> str:
    """Horizontal bars, one row per label (reasons), largest first; a short note when empty."""
    rows = sorted(rows, key=lambda row: (-row[1], row[0]))
    height = PLOT_TOP * 2 + ROW_HEIGHT * max(len(rows), 1)
    if not rows:
        return _svg(title, height, [_text(WIDTH / 2, PLOT_TOP + 16, empty)], chart_id)
    top = max(value for _, value in rows) or 1.0
    room = WIDTH - LABEL_WIDTH - PLOT_RIGHT - 48
    body = []
    for i, (label, value) in enumerate(rows):
        y = PLOT_TOP + ROW_HEIGHT * i
        shown = label if len(label) <= 30 else label[:29] + "…"
        body.append(_text(LABEL_WIDTH - 8, y + 15, shown, anchor="end"))
        bar = max(room * value / top, MIN_BAR) if value > 0 else 0
        body.append(_bar(LABEL_WIDTH, y + 4, bar, ROW_HEIGHT - 8, color=color, tip=f"{label}: {fmt(value)}"))
        body.append(_text(LABEL_WIDTH + bar + 6, y + 15, fmt(value), anchor="start"))
    return _svg(title, height, body, chart_id)
