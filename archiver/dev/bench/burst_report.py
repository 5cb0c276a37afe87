"""The burst's figures from its raw result, and the report as text or Markdown.

Kept apart from the run so that the figures can be recomputed from a saved ``--json`` file and
tested without running anything. Every figure says what it measures from and to.
"""

from __future__ import annotations

import os
import platform
import sys
from collections import Counter
from typing import Any

MIB = 1024 * 1024
GIB = 1024 * MIB
BUSY = 0.85  # a resource this busy over the drain is what limited it
LISTED_PROBLEMS = 20


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else None,
    }


def machine() -> dict[str, Any]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return {
        "cores": cores,
        "processor": platform.processor() or platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
    }


def _latencies(recordings: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Event delivered -> chunk manifest committed; and event delivered -> first invocation."""
    latency, wait = [], []
    for row in recordings:
        delivered = row.get("delivered_at")
        if delivered is None:
            continue
        if row.get("archived") and row.get("committed_at") is not None:
            latency.append(row["committed_at"] - delivered)
        if row.get("first_started") is not None:
            wait.append(row["first_started"] - delivered)
    return latency, wait


def _drain(result: dict[str, Any]) -> float | None:
    """First event delivered -> last manifest committed (or the timeout, when not all were)."""
    recordings = result["recordings"]
    delivered = [r["delivered_at"] for r in recordings if r.get("delivered_at") is not None]
    committed = [r["committed_at"] for r in recordings if r.get("committed_at") is not None]
    if not delivered:
        return None
    timing = result["timing"]
    first = float(min(delivered))
    if timing.get("timed_out") or len(committed) < len(recordings):
        return float(timing["ended"]) - first
    return float(max(committed)) - first


def _cpu(result: dict[str, Any]) -> dict[str, float]:
    """CPU seconds over the burst (from "go" to the end) per kind of process, and how busy."""
    workers = sum(float(w.get("cpu_seconds", 0.0)) for w in result["workers"])
    servers = result.get("servers_cpu", {})
    parts = {
        "workers": workers,
        "ingress": float(result.get("ingress", {}).get("cpu_seconds", 0.0)),
        "azurite": float(servers.get("azurite", 0.0)),
        "emulator": float(servers.get("emulator", 0.0)),
    }
    interval = max(float(result["timing"]["ended"]) - float(result["timing"]["go"]), 1e-9)
    total = sum(parts.values())
    cores = int(result["machine"]["cores"])
    machine_seconds = float(servers.get("machine", total))
    return {
        **parts,
        "total": total,
        "interval_s": interval,
        "busy": total / (interval * cores),
        "machine_busy": machine_seconds / (interval * cores),
        "others": max(0.0, machine_seconds - total),
        "azurite_busy": parts["azurite"] / interval,
    }


def bound_by(summary: dict[str, Any], result: dict[str, Any]) -> str:
    """What limited the drain, from how busy each resource was while it ran."""
    cpu = summary["cpu"]
    window = float(result["options"]["window_seconds"])
    cores = result["machine"]["cores"]
    drain = summary["drain_seconds"] or 0.0
    saturated = []
    if cpu["azurite_busy"] >= BUSY:
        saturated.append(f"Azurite's JavaScript thread ({cpu['azurite_busy']:.0%} of one core)")
    if cpu["machine_busy"] >= BUSY:
        shared = f", {cpu['others']:.0f} CPU-s of it other work" if cpu["others"] >= 1 else ""
        saturated.append(f"CPU (the {cores} cores {cpu['machine_busy']:.0%} busy{shared})")
    if saturated:
        return " and ".join(saturated)
    if drain <= window * 1.1:
        return f"the arrivals: the queue kept up with events spread over {window:.0f} s"
    return (
        f"concurrency, not CPU ({cpu['busy']:.0%} of {cores} cores busy): "
        "more workers or a larger batchSize would drain faster"
    )


def _problem(row: dict[str, Any]) -> str:
    what = row.get("problem") or "not verified"
    return f"{row['document_id']} ({row['kind']}, {row['size'] / MIB:.1f} MiB): {what}"


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    recordings = result["recordings"]
    latency, wait = _latencies(recordings)
    drain = _drain(result)
    archived_bytes = sum(r["size"] for r in recordings if r.get("archived"))
    rate = archived_bytes / MIB / drain if drain else None
    limit = result.get("limit") or {}
    limit_rate = min(limit.values()) if limit else None
    summary: dict[str, Any] = {
        "recordings": len(recordings),
        "delivered": sum(1 for r in recordings if r.get("delivered_at") is not None),
        "archived": sum(1 for r in recordings if r.get("archived")),
        "verified": sum(1 for r in recordings if r.get("verified")),
        "planned_bytes": sum(r["size"] for r in recordings),
        "archived_bytes": archived_bytes,
        "drain_seconds": drain,
        "latency_s": spread(latency),
        "queue_wait_s": spread(wait),
        "mib_s": rate,
        "limit_mib_s": limit_rate,
        "of_limit": rate / limit_rate if rate and limit_rate else None,
        "peak_rss_mib": [w["peak_rss"] / MIB for w in result["workers"]],
        "cpu": _cpu(result),
        "problems": [_problem(r) for r in recordings if not r.get("verified")],
    }
    summary["bound_by"] = bound_by(summary, result)
    summary["all_archived_and_verified"] = summary["verified"] == summary["recordings"]
    return summary


# Rendering ------------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s" if value >= 10 else f"{value:.2f} s"


def _spread_text(values: dict[str, float | None]) -> str:
    return " / ".join(_seconds(values[key]) for key in ("p50", "p95", "p99", "max"))


def table(headers: list[str], rows: list[list[str]], *, markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        for row in [headers, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _limit_text(summary: dict[str, Any], result: dict[str, Any]) -> str:
    limit = result.get("limit")
    if not limit or summary["limit_mib_s"] is None:
        return "not measured (--limit-mib 0)"
    parts = ", ".join(f"{name.replace('_', ' ')} {rate:.0f}" for name, rate in limit.items())
    of = summary["of_limit"]
    tail = f"; the burst reached {of:.2f} of it" if of is not None else ""
    return f"{summary['limit_mib_s']:.0f} MiB/s = min({parts}){tail}"


def _cpu_text(cpu: dict[str, float], cores: int) -> str:
    return (
        f"{cpu['busy']:.0%} of {cores} cores over {cpu['interval_s']:.0f} s: workers {cpu['workers']:.0f} s, "
        f"Azurite {cpu['azurite']:.0f} s, emulator {cpu['emulator']:.0f} s, ingress {cpu['ingress']:.0f} s; "
        f"other work on the machine {cpu['others']:.0f} s (machine {cpu['machine_busy']:.0%} busy)"
    )


def _rss_text(summary: dict[str, Any], result: dict[str, Any]) -> str:
    """Each worker's peak, against ready RSS + in-flight chunks x the copy's media buffers.

    That sum is the part the copy bounds; what a worker holds beyond it (each copy's
    connections and HTTP buffers, heap fragmentation) is the measured peak minus the sum.
    """
    peaks = ", ".join(f"{mib:.0f} MiB" for mib in summary["peak_rss_mib"])
    copy, host = result.get("copy"), result["host"]
    ready = max((w.get("rss_ready", 0) for w in result["workers"]), default=0) / MIB
    if not copy:
        return peaks
    in_flight = host["batchSize"] + host["newBatchThreshold"]
    bound = ready + in_flight * copy["chunk_bound_mib"]
    per_chunk = copy["chunk_bound_mib"]
    return (
        f"{peaks} (ready {ready:.0f} + {in_flight} chunks x {per_chunk} MiB of media buffers"
        f" = {bound:.0f} MiB)"
    )


def _leftover_text(left: dict[str, Any]) -> str:
    keys = ("jobs_left", "poisoned", "failed_jobs", "rejected_events")
    return ", ".join(f"{key.replace('_', ' ')} {left.get(key, '-')}" for key in keys)


def figure_rows(summary: dict[str, Any], result: dict[str, Any]) -> list[list[str]]:
    rate = summary["mib_s"]
    ingress = result.get("ingress", {})
    return [
        [
            "recordings archived / verified / total",
            f"{summary['archived']} / {summary['verified']} / {summary['recordings']}",
        ],
        [
            "events delivered (ingest_recording_event)",
            f"{summary['delivered']}, {ingress.get('errors', 0)} errors",
        ],
        ["time to drain (first event -> last manifest)", _seconds(summary["drain_seconds"])],
        ["event-to-archived latency p50 / p95 / p99 / max", _spread_text(summary["latency_s"])],
        [
            "queue wait (event -> first invocation) p50 / p95 / p99 / max",
            _spread_text(summary["queue_wait_s"]),
        ],
        [
            "aggregate throughput (archived bytes / drain)",
            "-" if rate is None else f"{rate:.0f} MiB/s ({summary['archived_bytes'] / GIB:.2f} GiB)",
        ],
        ["limit: min(raw download, raw upload), MiB/s", _limit_text(summary, result)],
        ["peak RSS per worker (VmHWM)", _rss_text(summary, result)],
        ["CPU", _cpu_text(summary["cpu"], int(result["machine"]["cores"]))],
        ["what bounds it", summary["bound_by"]],
        ["left over", _leftover_text(result.get("leftovers", {}))],
    ]


def worker_rows(result: dict[str, Any]) -> list[list[str]]:
    return [
        [
            w["name"],
            str(w.get("invocations", 0)),
            str(w.get("succeeded", 0)),
            str(w.get("raised", 0)),
            str(w.get("poisoned", 0)),
            f"{w['peak_rss'] / MIB:.0f}",
            f"{w.get('rss_ready', 0) / MIB:.0f}",
            f"{w.get('cpu_seconds', 0.0):.1f}",
        ]
        for w in result["workers"]
    ]


def kind_rows(result: dict[str, Any]) -> list[list[str]]:
    planned: Counter[str] = Counter()
    verified: Counter[str] = Counter()
    size: Counter[str] = Counter()
    for row in result["recordings"]:
        planned[row["kind"]] += 1
        verified[row["kind"]] += int(bool(row.get("verified")))
        size[row["kind"]] += row["size"]
    return [
        [kind, str(planned[kind]), str(verified[kind]), f"{size[kind] / GIB:.2f}"] for kind in sorted(planned)
    ]


def _heading(result: dict[str, Any], summary: dict[str, Any]) -> str:
    options, host = result["options"], result["host"]
    big = sum(1 for r in result["recordings"] if r.get("big"))
    return (
        f"{summary['recordings']} recordings ({summary['planned_bytes'] / GIB:.2f} GiB, log-normal around "
        f"{options['median_mib']:g} MiB, {big} of {options['big_mib']:g} MiB), events over "
        f"{options['window_seconds']:g} s; {options['workers']} workers, each up to "
        f"{host['batchSize']} + {host['newBatchThreshold']} messages in flight (host.json)"
    )


def render(result: dict[str, Any], *, markdown: bool = False) -> str:
    summary = result.get("summary") or summarise(result)
    machine_info = result["machine"]
    parts = [
        ("### Burst\n\n" if markdown else "BURST\n") + _heading(result, summary) + "\n",
        ("`" if markdown else "command: ") + result["command"] + ("`\n" if markdown else "\n"),
        f"machine: {machine_info['cores']} cores, {machine_info['system']}, "
        f"Python {machine_info['python']}\n",
        table(["figure", "value"], figure_rows(summary, result), markdown=markdown),
        table(
            ["worker", "invocations", "ok", "raised", "poisoned", "peak RSS MiB", "RSS ready MiB", "CPU s"],
            worker_rows(result),
            markdown=markdown,
        ),
        table(["format", "recordings", "verified", "GiB"], kind_rows(result), markdown=markdown),
    ]
    if result["timing"].get("timed_out"):
        parts.append(f"TIMED OUT after {result['options']['timeout']:g} s: the figures cover what was done\n")
    problems = summary["problems"]
    if problems:
        listed = "\n".join(f"- {line}" for line in problems[:LISTED_PROBLEMS])
        more = (
            f"\n- ... and {len(problems) - LISTED_PROBLEMS} more" if len(problems) > LISTED_PROBLEMS else ""
        )
        parts.append(f"not archived and verified ({len(problems)}):\n{listed}{more}\n")
    return "\n".join(parts)
