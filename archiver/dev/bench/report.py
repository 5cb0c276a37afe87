"""Summaries, targets and the printed tables of a benchmark run (plain text or Markdown)."""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024

# Order and labels of the transfer modes in the table.
MODE_LABELS: dict[str, str] = {
    "raw_download": "raw download (httpx, discard)",
    "raw_upload": "raw upload (upload_blob)",
    "raw_upload_md5": "raw upload (upload_blob, validate_content)",
    "pipeline": "archiver pipeline (event -> archive)",
    "naive": "naive (read all, one upload_blob)",
}
UPLOADS = ("raw_upload", "raw_upload_md5")

TARGET_RATIO_RAW = 0.85
TARGET_RATIO_NAIVE = 2.0
TARGET_WORKER_RSS_MIB = 150.0
TARGET_INGRESS_EVENTS = 5000.0
TARGET_IMPORT_SECONDS = 1.0
TARGET_SIZE_MIB = 512
TARGET_RSS_SIZE_MIB = 2048


@dataclass(frozen=True)
class ModeSummary:
    mode: str
    size: int
    runs: int
    mib_s: float  # median
    mib_s_min: float
    mib_s_max: float
    peak_rss_mib: float  # median
    peak_rss_max_mib: float
    rss_before_mib: float
    cpu: dict[str, float]  # median CPU seconds per MiB moved: worker, azurite, emulator


def summarize(mode: str, size: int, results: list[dict[str, Any]]) -> ModeSummary:
    rates = [r["bytes"] / r["seconds"] / MIB for r in results]
    peaks = [r["peak_rss"] / MIB for r in results]
    return ModeSummary(
        mode=mode,
        size=size,
        runs=len(results),
        mib_s=statistics.median(rates),
        mib_s_min=min(rates),
        mib_s_max=max(rates),
        peak_rss_mib=statistics.median(peaks),
        peak_rss_max_mib=max(peaks),
        rss_before_mib=statistics.median(r["rss_before"] / MIB for r in results),
        cpu={
            name: statistics.median(r.get(f"{key}cpu_seconds", 0.0) / (r["bytes"] / MIB) for r in results)
            for name, key in (("worker", ""), ("azurite", "azurite_"), ("emulator", "emulator_"))
        },
    )


def size_summaries(report: dict[str, Any]) -> dict[int, dict[str, ModeSummary]]:
    out: dict[int, dict[str, ModeSummary]] = {}
    for size_text, modes in report.get("sizes", {}).items():
        size = int(size_text)
        out[size] = {mode: summarize(mode, size, results) for mode, results in modes.items() if results}
    return out


def ratios(modes: dict[str, ModeSummary]) -> dict[str, float]:
    """pipeline / min(raw download, raw upload) and pipeline / naive (median rates).

    The raw upload is the faster of the two ``upload_blob`` variants, so the ratio is against
    the best the SDK does with the same bytes, not against its slower default.
    """
    out: dict[str, float] = {}
    pipeline = modes.get("pipeline")
    if pipeline is None:
        return out
    uploads = [modes[m].mib_s for m in UPLOADS if m in modes]
    if "raw_download" in modes and uploads:
        slower = min(modes["raw_download"].mib_s, max(uploads))
        out["pipeline_vs_raw"] = pipeline.mib_s / slower
    if "raw_upload" in modes and "raw_download" in modes:
        out["pipeline_vs_raw_plain"] = pipeline.mib_s / min(
            modes["raw_download"].mib_s, modes["raw_upload"].mib_s
        )
    if "naive" in modes:
        out["pipeline_vs_naive"] = pipeline.mib_s / modes["naive"].mib_s
    return out


def throughput_rows(report: dict[str, Any]) -> list[tuple[int, float, float, float]]:
    """(workers, archives/s median, MiB/s median, peak RSS MiB) per worker concurrency."""
    rows = []
    for workers_text, results in sorted(report.get("throughput", {}).items(), key=lambda kv: int(kv[0])):
        per_second = statistics.median(r["archives"] / r["seconds"] for r in results)
        rate = statistics.median(r["bytes"] / r["seconds"] / MIB for r in results)
        peak = max(r["peak_rss"] / MIB for r in results)
        rows.append((int(workers_text), per_second, rate, peak))
    return rows


def ingress_rate(report: dict[str, Any]) -> float | None:
    results = report.get("ingress") or []
    return statistics.median(r["events"] / r["seconds"] for r in results) if results else None


def import_time(report: dict[str, Any]) -> float | None:
    times = report.get("import") or []
    return statistics.median(times) if times else None


def check_targets(report: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for every target the run has data for."""
    checks: list[tuple[str, str, bool]] = []
    sizes = size_summaries(report)
    at = sizes.get(TARGET_SIZE_MIB * MIB)
    if at is not None:
        r = ratios(at)
        for key, target, label in (
            ("pipeline_vs_raw", TARGET_RATIO_RAW, "min(raw)"),
            ("pipeline_vs_naive", TARGET_RATIO_NAIVE, "naive"),
        ):
            if key in r:
                value = r[key]
                checks.append((f"pipeline >= {target} x {label} at 512 MiB", f"{value:.2f}", value >= target))
    big = sizes.get(TARGET_RSS_SIZE_MIB * MIB, {}).get("pipeline")
    if big is not None:
        checks.append(
            (
                f"worker peak RSS <= {TARGET_WORKER_RSS_MIB:.0f} MiB at 2 GiB",
                f"{big.peak_rss_max_mib:.0f} MiB",
                big.peak_rss_max_mib <= TARGET_WORKER_RSS_MIB,
            )
        )
    rate = ingress_rate(report)
    if rate is not None:
        checks.append(
            (
                f"ingress >= {TARGET_INGRESS_EVENTS:.0f} events/s",
                f"{rate:.0f}/s",
                rate >= TARGET_INGRESS_EVENTS,
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


def _size_tables(report: dict[str, Any], markdown: bool) -> list[str]:
    sizes = size_summaries(report)
    if not sizes:
        return []
    rows = [
        [
            "size",
            "mode",
            "MiB/s (median)",
            "min-max",
            "peak RSS MiB",
            "RSS before MiB",
            "CPU ms/MiB worker / Azurite / emulator",
            "runs",
        ]
    ]
    ratio_rows = [["size", "pipeline / min(raw)", "pipeline / min(raw, plain upload)", "pipeline / naive"]]
    for size, modes in sorted(sizes.items()):
        for mode, label in MODE_LABELS.items():
            s = modes.get(mode)
            if s is None:
                continue
            rows.append(
                [
                    f"{size // MIB} MiB",
                    label,
                    f"{s.mib_s:.0f}",
                    f"{s.mib_s_min:.0f}-{s.mib_s_max:.0f}",
                    f"{s.peak_rss_mib:.0f}" + (f" (max {s.peak_rss_max_mib:.0f})" if s.runs > 1 else ""),
                    f"{s.rss_before_mib:.0f}",
                    " / ".join(f"{s.cpu[k] * 1000:.1f}" for k in ("worker", "azurite", "emulator")),
                    str(s.runs),
                ]
            )
        r = ratios(modes)
        ratio_rows.append(
            [f"{size // MIB} MiB"]
            + [
                f"{r[k]:.2f}" if k in r else "-"
                for k in ("pipeline_vs_raw", "pipeline_vs_raw_plain", "pipeline_vs_naive")
            ]
        )
    return [_table(rows, markdown), _table(ratio_rows, markdown)]


def _other_tables(report: dict[str, Any], markdown: bool) -> list[str]:
    parts: list[str] = []
    throughput = throughput_rows(report)
    if throughput:
        recordings = report.get("throughput_recordings", "?")
        mib = report.get("throughput_recording_mib", "?")
        rows = [["worker concurrency", f"archives/s ({recordings} x {mib} MiB)", "MiB/s", "peak RSS MiB"]]
        rows += [[str(w), f"{a:.1f}", f"{m:.0f}", f"{p:.0f}"] for w, a, m, p in throughput]
        parts.append(_table(rows, markdown))
    rate, seconds = ingress_rate(report), import_time(report)
    other = [["measure", "value"]]
    if rate is not None:
        other.append(["ingress validation (validate_payload, one core)", f"{rate:,.0f} events/s"])
    if seconds is not None:
        other.append(["import function_app (fresh interpreter)", f"{seconds * 1000:.0f} ms"])
    if len(other) > 1:
        parts.append(_table(other, markdown))
    checks = check_targets(report)
    if checks:
        rows = [["target", "measured", "met"]] + [[t, v, "yes" if ok else "NO"] for t, v, ok in checks]
        parts.append(_table(rows, markdown))
    return parts


def render(report: dict[str, Any], *, markdown: bool = False) -> str:
    parts = _header(report) + _size_tables(report, markdown) + _other_tables(report, markdown)
    return "\n\n".join(parts) + "\n"


def dump(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True)
