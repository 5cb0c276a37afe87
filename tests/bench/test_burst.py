"""The burst benchmark works at a small scale: every recording archived and verified, the report
has its figures, it stops at its timeout, and it leaves no process behind (no speed is asserted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psutil
import pytest

from archiver.dev.__main__ import main as dev_main
from archiver.dev.bench import burst, burst_report
from archiver.dev.bench.burst_plan import KINDS, MIB, PlanOptions, host_settings, make_plan, timespan_seconds

SMALL = [
    "--recordings", "12", "--workers", "2", "--window-seconds", "3", "--median-mib", "0.5",
    "--big", "1", "--big-mib", "3", "--limit-mib", "4", "--timeout", "180", "-q",
]  # fmt: skip


def _children() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any], str]:
    before = _children()
    out = tmp_path / "burst.json"
    code = burst.main([*SMALL, "--json", str(out), *extra])
    assert _children() <= before, "the burst left processes running"
    return code, json.loads(out.read_text()), capsys.readouterr().out


def test_a_small_burst_is_archived_verified_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result, text = _run(tmp_path, capsys, "--markdown")
    summary = result["summary"]
    assert code == 0
    assert summary["recordings"] == summary["delivered"] == summary["archived"] == summary["verified"] == 12
    assert summary["all_archived_and_verified"] and summary["problems"] == []
    assert sum(1 for r in result["recordings"] if r["big"]) == 1
    assert {r["kind"] for r in result["recordings"]} >= {"audio/unmixed/wav", "audioVideo/mixed/mp4"}
    # every figure the issue asks for is there
    assert summary["drain_seconds"] > 0
    assert all(summary["latency_s"][q] > 0 for q in ("p50", "p95", "p99", "max"))
    assert summary["mib_s"] > 0 and summary["limit_mib_s"] > 0 and summary["of_limit"] > 0
    assert len(summary["peak_rss_mib"]) == 2 and min(summary["peak_rss_mib"]) > 10
    assert result["host"]["batchSize"] == host_settings().batch_size
    assert sum(w["invocations"] for w in result["workers"]) >= 12
    assert result["leftovers"]["jobs_left"] == 0 and result["leftovers"]["poisoned"] == 0
    # the report a person reads
    assert "| recordings archived / verified / total | 12 / 12 / 12 |" in text
    for label in (
        "time to drain",
        "latency p50 / p95 / p99",
        "peak RSS per worker",
        "MiB/s",
        "what bounds it",
    ):
        assert label in text
    assert "python -m archiver.dev.bench.burst --recordings 12" in text


def test_the_timeout_stops_the_burst_and_reports_what_was_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result, text = _run(
        tmp_path, capsys, "--window-seconds", "30", "--timeout", "1", "--limit-mib", "0"
    )
    assert code == 1
    assert result["timing"]["timed_out"]
    assert result["summary"]["verified"] < 12 and result["summary"]["problems"]
    assert "TIMED OUT" in text and "not archived and verified" in text
    assert all(w["stopped_cleanly"] for w in result["workers"])


def test_python_m_archiver_dev_burst_dispatches(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        dev_main(["burst", "--help"])
    assert exited.value.code == 0
    assert "--recordings" in capsys.readouterr().out


def test_the_plan_is_seeded_mixed_and_log_normal() -> None:
    options = PlanOptions(
        recordings=1000,
        median_bytes=20 * MIB,
        sigma=0.5,
        big=3,
        big_bytes=500 * MIB,
        window_seconds=60,
        seed=1,
    )
    plan = make_plan(options)
    assert plan == make_plan(options)  # same seed, same burst
    assert plan != make_plan(PlanOptions(**{**options.__dict__, "seed": 2}))
    assert sum(1 for p in plan if p.big and p.size == 500 * MIB) == 3
    assert {(p.content_type, p.channel_type, p.format) for p in plan} == set(KINDS)
    sizes = sorted(p.size for p in plan if not p.big)
    assert 17 * MIB < sizes[len(sizes) // 2] < 23 * MIB  # the median is near 20 MiB
    assert all(0 <= p.at <= 60 for p in plan)
    assert all(2 <= p.participants <= 5 for p in plan)


def test_host_json_queue_settings_are_read_not_assumed() -> None:
    host = host_settings()
    configured = json.loads(Path("host.json").read_text())["extensions"]["queues"]
    assert host.batch_size == configured["batchSize"]
    assert host.new_batch_threshold == configured["newBatchThreshold"]
    assert host.max_in_flight == configured["batchSize"] + configured["newBatchThreshold"]
    assert host.visibility_timeout_seconds == timespan_seconds(configured["visibilityTimeout"], 0)
    assert timespan_seconds("1.02:03:04.5", 0) == 86400 + 2 * 3600 + 3 * 60 + 4.5
    assert timespan_seconds(None, 60.0) == 60.0


def test_percentiles_interpolate_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert burst_report.percentile(values, 50) == pytest.approx(50.5)
    assert burst_report.percentile(values, 99) == pytest.approx(99.01)
    assert burst_report.percentile([], 50) is None
    assert burst_report.percentile([3.0], 95) == 3.0
