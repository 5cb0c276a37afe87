"""Summaries, targets and the printed tables of a benchmark run (plain text or Markdown)."""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024

# Order and labels of the copy modes in each table.
MODE_LABELS: dict[str, str] = {
    "raw_download": "raw download (SDK download_recording, TLS)",
    "raw_upload": "raw upload (upload_blob, no checksums)",
    "pipeline": "pipeline (python -m archiver archive)",
    "function": "Function path (event -> queue -> archive_recording_chunk)",
    "naive": "naive (SDK download to memory, one upload_blob)",
}

# Issue 11's targets: in one run, cold processes, at each size.
TARGET_RATIO_RAW = 0.9  # pipeline MiB/s >= this x min(raw download, raw upload)
TARGET_CPU_RATIO = 1.25  # pipeline CPU <= this x (raw download CPU + raw upload CPU)
TARGET_WORKER_RSS_MIB = 150.0  # pipeline peak RSS
TARGET_RSS_FLAT = 1.10  # pipeline peak RSS at the largest size <= this x at the smallest
TARGET_INGRESS_EVENTS = 5000.0
TARGET_IMPORT_SECONDS = 1.0


@dataclass(frozen=True)
class Check:
    target: str
    measured: str
    met: bool


def rate(result: dict[str, Any]) -> float:
    """MiB/s of a whole cold process: bytes over its wall time, start-up included."""
    return float(result["bytes"]) / float(result["seconds"]) / MIB


def size_checks(modes: dict[str, dict[str, Any]]) -> list[Check]:
    """The three copy targets for one run at one size (those the run has data for)."""
    pipeline = modes.get("pipeline")
    download, upload = modes.get("raw_download"), modes.get("raw_upload")
    if pipeline is None:
        return []
    checks = []
    if download is not None and upload is not None:
        slower = min(rate(download), rate(upload))
        ratio = rate(pipeline) / slower
        checks.append(
            Check(
                f"pipeline MiB/s >= {TARGET_RATIO_RAW} x min(raw download, raw upload)",
                f"{ratio:.2f} ({rate(pipeline):.0f} vs {slower:.0f} MiB/s)",
                ratio >= TARGET_RATIO_RAW,
            )
        )
        raw_cpu = download["cpu_seconds"] + upload["cpu_seconds"]
        cpu_ratio = pipeline["cpu_seconds"] / raw_cpu
        checks.append(
            Check(
                f"pipeline CPU <= {TARGET_CPU_RATIO} x (raw download CPU + raw upload CPU)",
                f"{cpu_ratio:.2f} ({pipeline['cpu_seconds']:.2f} s vs {download['cpu_seconds']:.2f}"
                f" + {upload['cpu_seconds']:.2f} s)",
                cpu_ratio <= TARGET_CPU_RATIO,
            )
        )
    peak = pipeline["peak_rss"] / MIB
    checks.append(
        Check(
            f"pipeline peak RSS <= {TARGET_WORKER_RSS_MIB:.0f} MiB",
            f"{peak:.0f} MiB",
            peak <= TARGET_WORKER_RSS_MIB,
        )
    )
    return checks


def flat_check(sizes: dict[str, dict[str, dict[str, Any]]]) -> Check | None:
    """Peak RSS flat in file size: the largest size's against the smallest's, in one run."""
    peaks = sorted(
        (int(size), modes["pipeline"]["peak_rss"] / MIB)
        for size, modes in sizes.items()
        if "pipeline" in modes
    )
    if len(peaks) < 2:
        return None
    (small, low), (big, high) = peaks[0], peaks[-1]
    return Check(
        f"pipeline peak RSS flat in size ({big // MIB} MiB <= {TARGET_RSS_FLAT} x {small // MIB} MiB)",
        f"{high:.0f} vs {low:.0f} MiB",
        high <= TARGET_RSS_FLAT * low,
    )


def run_checks(run: dict[str, Any]) -> list[tuple[int | None, Check]]:
    """Every copy check of one run: (size in bytes, or None for the across-sizes one, check)."""
    out: list[tuple[int | None, Check]] = []
    for size, modes in sorted(run.get("sizes", {}).items(), key=lambda kv: int(kv[0])):
        out += [(int(size), check) for check in size_checks(modes)]
    flat = flat_check(run.get("sizes", {}))
    if flat is not None:
        out.append((None, flat))
    return out


def throughput_rows(report: dict[str, Any]) -> list[tuple[int, float, float, float]]:
    """(workers, archives/s median, MiB/s median, peak RSS MiB) per worker concurrency."""
    rows = []
    for workers_text, results in sorted(report.get("throughput", {}).items(), key=lambda kv: int(kv[0])):
        per_second = statistics.median(r["archives"] / r["seconds"] for r in results)
        mib_s = statistics.median(r["bytes"] / r["seconds"] / MIB for r in results)
        peak = max(r["peak_rss"] / MIB for r in results)
        rows.append((int(workers_text), per_second, mib_s, peak))
    return rows


def ingress_rate(report: dict[str, Any]) -> float | None:
    results = report.get("ingress") or []
    return statistics.median(r["events"] / r["seconds"] for r in results) if results else None


def import_time(report: dict[str, Any]) -> float | None:
    times = report.get("import") or []
    return statistics.median(times) if times else None


def check_targets(report: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for every target the run has data for, every run's separately."""
    checks: list[tuple[str, str, bool]] = []
    runs = report.get("runs", [])
    for run in runs:
        for size, check in run_checks(run):
            where = f"run {run['run']} of {len(runs)}" + (f", {size // MIB} MiB" if size else "")
            checks.append((f"{where}: {check.target}", check.measured, check.met))
    events = ingress_rate(report)
    if events is not None:
        checks.append(
            (
                f"ingress >= {TARGET_INGRESS_EVENTS:.0f} events/s",
                f"{events:.0f}/s",
                events >= TARGET_INGRESS_EVENTS,
            )
        )
    seconds = import_time(report)
    if seconds is not None:
        checks.append(
            (
                f"import function_app <= {TARGET_IMPORT_SECONDS:.0f} s",
                f"{seconds:.3f} s",
                seconds <= TARGET_IMPORT_SECONDS,
            )
        )
    return checks


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import psutil

        memory = psutil.virtual_memory().total
    except ImportError:  # pragma: no cover - psutil is a dev dependency
        memory = 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "nproc": cores,
        "cpu": model,
        "memory_gib": round(memory / 1024**3, 1),
        "python": platform.python_version(),
        "kernel": f"{platform.system()} {platform.release()}",
    }


def _table(rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _header(report: dict[str, Any]) -> list[str]:
    info = report.get("machine", {})
    parts = [
        f"machine: {info.get('nproc')} cores, {info.get('cpu')}, {info.get('memory_gib')} GiB; "
        f"Python {info.get('python')}; {info.get('kernel')}"
    ]
    if report.get("command"):
        parts.append(f"command: {report['command']}")
    if report.get("settings"):
        parts.append("settings: " + ", ".join(f"{k}={v}" for k, v in report["settings"].items()))
    return parts


def _mode_rows(modes: dict[str, dict[str, Any]], markdown: bool) -> list[list[str]]:
    rows = [
        [
            "mode",
            "MiB/s",
            "wall s",
            "client CPU s (user+sys)",
            "peak RSS MiB",
            "Azurite CPU s",
            "emulator CPU s",
        ]
    ]
    for mode, label in MODE_LABELS.items():
        r = modes.get(mode)
        if r is None:
            continue
        strong = markdown and mode == "pipeline"
        rows.append(
            [
                f"**{label}**" if strong else label,
                f"**{rate(r):.0f}**" if strong else f"{rate(r):.0f}",
                f"{r['seconds']:.2f}",
                f"{r['cpu_seconds']:.2f} ({r['cpu_user']:.2f}+{r['cpu_sys']:.2f})",
                f"{r['peak_rss'] / MIB:.0f}",
                f"{r.get('azurite_cpu_seconds', 0.0):.2f}",
                f"{r.get('emulator_cpu_seconds', 0.0):.2f}",
            ]
        )
    return rows


def _check_rows(checks: list[Check]) -> list[list[str]]:
    return [["target", "measured", "met"]] + [
        [c.target, c.measured, "pass" if c.met else "FAIL"] for c in checks
    ]


def _heading(text: str, markdown: bool) -> str:
    return f"#### {text}" if markdown else f"== {text} =="


def _size_tables(report: dict[str, Any], markdown: bool) -> list[str]:
    """One table per run and size, each followed by its target checks."""
    runs = report.get("runs", [])
    parts: list[str] = []
    for run in runs:
        sizes = sorted(run.get("sizes", {}).items(), key=lambda kv: int(kv[0]))
        for size, modes in sizes:
            parts.append(_heading(f"Run {run['run']} of {len(runs)}: {int(size) // MIB} MiB", markdown))
            parts.append(_table(_mode_rows(modes, markdown), markdown))
            checks = size_checks(modes)
            if checks:
                parts.append(_table(_check_rows(checks), markdown))
        flat = flat_check(run.get("sizes", {}))
        if flat is not None:
            parts.append(_table(_check_rows([flat]), markdown))
    if runs:
        passed = sum(all(check.met for _, check in run_checks(run)) for run in runs)
        parts.append(f"Copy targets met in {passed} of {len(runs)} runs.")
    return parts


def _other_tables(report: dict[str, Any], markdown: bool) -> list[str]:
    parts: list[str] = []
    throughput = throughput_rows(report)
    if throughput:
        recordings = report.get("throughput_recordings", "?")
        mib = report.get("throughput_recording_mib", "?")
        rows = [["worker concurrency", f"archives/s ({recordings} x {mib} MiB)", "MiB/s", "peak RSS MiB"]]
        rows += [[str(w), f"{a:.1f}", f"{m:.0f}", f"{p:.0f}"] for w, a, m, p in throughput]
        parts.append(_table(rows, markdown))
    events, seconds = ingress_rate(report), import_time(report)
    other = [["measure", "value"]]
    if events is not None:
        other.append(["ingress validation (validate_payload, one core)", f"{events:,.0f} events/s"])
    if seconds is not None:
        other.append(["import function_app (fresh interpreter)", f"{seconds * 1000:.0f} ms"])
    if len(other) > 1:
        parts.append(_table(other, markdown))
    checks = [c for c in check_targets(report) if not c[0].startswith("run ")]
    if checks:
        rows = [["target", "measured", "met"]] + [[t, v, "pass" if ok else "FAIL"] for t, v, ok in checks]
        parts.append(_table(rows, markdown))
    return parts


def render(report: dict[str, Any], *, markdown: bool = False) -> str:
    parts = _header(report) + _size_tables(report, markdown) + _other_tables(report, markdown)
    return "\n\n".join(parts) + "\n"


def dump(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True)
