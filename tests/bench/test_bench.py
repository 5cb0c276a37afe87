"""The benchmark itself works: every measure runs end to end at a small size, and what it reports
is consistent (no speed is asserted)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from archiver.dev.bench import main
from archiver.dev.bench import report as reporting
from archiver.dev.bench.cli import SIZE_MODES

MIB = 1024 * 1024


def _result(rate_mib_s: float, size: int = 512 * MIB, peak_mib: float = 100) -> dict[str, float]:
    return {
        "seconds": size / MIB / rate_mib_s,
        "bytes": size,
        "peak_rss": peak_mib * MIB,
        "rss_before": 50 * MIB,
    }


def test_ratios_use_the_slower_raw_side_and_the_faster_upload_variant() -> None:
    size = 512 * MIB
    report = {
        "sizes": {
            str(size): {
                "raw_download": [_result(1000), _result(900), _result(1100)],
                "raw_upload": [_result(70)],
                "raw_upload_md5": [_result(160)],
                "pipeline": [_result(150), _result(140), _result(100)],
                "naive": [_result(60)],
            }
        },
        "ingress": [{"events": 10000, "seconds": 1.0}],
        "import": [0.2, 0.1, 0.3],
    }
    modes = reporting.size_summaries(report)[size]
    assert modes["pipeline"].mib_s == pytest.approx(140)  # the median of three
    r = reporting.ratios(modes)
    assert r["pipeline_vs_raw"] == pytest.approx(140 / 160)
    assert r["pipeline_vs_raw_plain"] == pytest.approx(140 / 70)
    assert r["pipeline_vs_naive"] == pytest.approx(140 / 60)
    checks = {target: met for target, _, met in reporting.check_targets(report)}
    assert all(checks.values()) and len(checks) == 4
    text = reporting.render(report)
    assert "archiver pipeline" in text and "0.88" in text
    assert "| target | measured | met |" in reporting.render(report, markdown=True)


def test_a_missed_target_is_reported_and_fails_check() -> None:
    report = {"sizes": {str(2048 * MIB): {"pipeline": [_result(100, 2048 * MIB, peak_mib=400)]}}}
    [(target, measured, met)] = reporting.check_targets(report)
    assert "RSS" in target and measured == "400 MiB" and not met


def _table_rows(printed: str) -> dict[tuple[str, str], list[str]]:
    """The rows of the printed plain-text tables (cells split on 2+ spaces), by their first two cells."""
    rows: dict[tuple[str, str], list[str]] = {}
    for line in printed.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) >= 2:
            rows.setdefault((cells[0], cells[1]), cells)
    return rows


CPU_KEYS = {"worker": "cpu_seconds", "azurite": "azurite_cpu_seconds", "emulator": "emulator_cpu_seconds"}


@pytest.mark.slow
def test_the_benchmark_runs_every_measure_at_a_small_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    argv = ["--sizes", "3", "--repeats", "1", "--recordings", "6", "--recording-mib", "1", "--workers", "1,3"]
    code = main([*argv, "--ingress-events", "300", "--block-mib", "1", "--json", str(out), "--quiet"])
    assert code == 0
    report = json.loads(out.read_text())
    printed = capsys.readouterr().out
    rows = _table_rows(printed)

    def row(first: str, second: str) -> list[str]:
        assert (first, second) in rows, f"no row {first!r} | {second!r} in the printed report:\n{printed}"
        return rows[(first, second)]

    cores = report["machine"]["nproc"]
    assert cores >= 1
    # CPU time comes in clock ticks: a short run may show a tick or two more than its wall time.
    slack = 2 / os.sysconf("SC_CLK_TCK")

    def cpu_of(
        result: dict[str, Any], where: str, processes: set[str], *, worker_cores: int = cores
    ) -> dict[str, float]:
        """The run's CPU seconds per process, each at most its wall time on the cores it may use."""
        cpu = {name: result[key] for name, key in CPU_KEYS.items() if key in result}
        assert set(cpu) == processes, f"{where}: CPU figures for {sorted(cpu)}"
        for name, seconds in cpu.items():
            limit = result["seconds"] * (worker_cores if name == "worker" else cores) + slack
            assert 0 <= seconds <= limit, (
                f"{where}: {name} used {seconds} s CPU in {result['seconds']} s wall"
            )
        return cpu

    # Transfer modes: each ran once, moved exactly the size asked for, and its table row shows
    # the figures of that run.
    assert set(reporting.MODE_LABELS) == set(SIZE_MODES)
    [(size, modes)] = report["sizes"].items()
    assert int(size) == 3 * MIB
    assert sorted(modes) == sorted(SIZE_MODES)
    rates = {}
    for mode, results in modes.items():
        [result] = results
        assert result["bytes"] == 3 * MIB, mode
        assert result["seconds"] > 0 and result["peak_rss"] > result["rss_before"] > 0, mode
        cpu = cpu_of(result, mode, set(CPU_KEYS))
        rates[mode] = rate = result["bytes"] / result["seconds"] / MIB
        assert row("3 MiB", reporting.MODE_LABELS[mode])[2:] == [
            f"{rate:.0f}",
            f"{rate:.0f}-{rate:.0f}",
            f"{result['peak_rss'] / MIB:.0f}",
            f"{result['rss_before'] / MIB:.0f}",
            " / ".join(f"{cpu[name] / 3 * 1000:.1f}" for name in ("worker", "azurite", "emulator")),
            "1",
        ], mode
    # The archiver does real work for its bytes (hashing, verifying); uploads cost Azurite.
    assert modes["pipeline"][0]["cpu_seconds"] > 0
    assert sum(modes[m][0]["azurite_cpu_seconds"] for m in ("raw_upload", "raw_upload_md5", "pipeline")) > 0
    # The ratios are those of the rates above.
    raw = min(rates["raw_download"], max(rates["raw_upload"], rates["raw_upload_md5"]))
    plain = min(rates["raw_download"], rates["raw_upload"])
    expected = [f"{rates['pipeline'] / d:.2f}" for d in (raw, plain, rates["naive"])]
    assert row("3 MiB", expected[0]) == ["3 MiB", *expected]

    # Archives/s: all six recordings archived at each concurrency, 1 MiB each.
    assert sorted(report["throughput"]) == ["1", "3"]
    for workers, results in report["throughput"].items():
        [result] = results
        assert result["archives"] == 6 and result["bytes"] == 6 * MIB, workers
        assert result["seconds"] > 0 and result["peak_rss"] > result["rss_before"] > 0, workers
        cpu = cpu_of(result, f"{workers} workers", set(CPU_KEYS))
        assert cpu["worker"] > 0 and cpu["azurite"] > 0, f"{workers} workers: {cpu}"
        archives_per_second = f"{6 / result['seconds']:.1f}"
        assert row(workers, archives_per_second)[2] == f"{result['bytes'] / result['seconds'] / MIB:.0f}"
    assert "archives/s (6 x 1 MiB)" in printed

    # Ingress: the events asked for, the same payload each time, on one core.
    [ingress] = report["ingress"]
    assert ingress["events"] == 300 and ingress["bytes"] > 0 and ingress["bytes"] % 300 == 0
    cpu_of(ingress, "ingress", {"worker"}, worker_cores=1)
    row("ingress validation (validate_payload, one core)", f"{300 / ingress['seconds']:,.0f} events/s")

    assert len(report["import"]) >= 3 and all(0 < t < 30 for t in report["import"])
    row("import function_app (fresh interpreter)", f"{reporting.import_time(report) * 1000:.0f} ms")
    assert report["settings"]["COPY_BLOCK_MIB"] == 1

    # The run took longer than the parts it measured (elapsed_seconds is rounded to 0.1 s).
    measured = [
        r["seconds"] for results in [*modes.values(), *report["throughput"].values()] for r in results
    ]
    assert sum(measured) + ingress["seconds"] + sum(report["import"]) < report["elapsed_seconds"] + 0.05
    # Every target the run has data for is in the targets table, met or not.
    targets = reporting.check_targets(report)
    assert [target for target, _, _ in targets] == ["ingress >= 5000 events/s", "import function_app <= 1 s"]
    for target, value, met in targets:
        assert row(target, value)[2] == ("yes" if met else "NO")
