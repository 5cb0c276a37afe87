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


def _result(rate_mib_s: float, cpu: float, size: int = 512 * MIB, peak_mib: float = 100) -> dict[str, float]:
    return {
        "seconds": size / MIB / rate_mib_s,
        "bytes": size,
        "cpu_seconds": cpu,
        "cpu_user": cpu * 0.8,
        "cpu_sys": cpu * 0.2,
        "peak_rss": peak_mib * MIB,
    }


def _run(number: int, pipeline: dict[str, float], size: int = 512 * MIB) -> dict[str, Any]:
    return {
        "run": number,
        "sizes": {
            str(size): {
                "raw_download": _result(360, 1.6, size, 48),
                "raw_upload": _result(160, 1.0, size, 580),
                "pipeline": pipeline,
                "naive": _result(80, 4.1, size, 1092),
            }
        },
    }


def test_each_run_is_checked_against_the_slower_raw_side_and_the_raw_cpu() -> None:
    report = {
        "runs": [_run(1, _result(150, 3.0)), _run(2, _result(145, 3.4, peak_mib=160))],
        "ingress": [{"events": 10000, "seconds": 1.0}],
        "import": [0.2, 0.1, 0.3],
    }
    checks = {target: (measured, met) for target, measured, met in reporting.check_targets(report)}
    ratio = "run 1 of 2, 512 MiB: pipeline MiB/s >= 0.9 x min(raw download, raw upload)"
    assert checks[ratio] == (f"{150 / 160:.2f} (150 vs 160 MiB/s)", True)
    cpu = "run 1 of 2, 512 MiB: pipeline CPU <= 1.25 x (raw download CPU + raw upload CPU)"
    assert checks[cpu] == ("1.15 (3.00 s vs 1.60 + 1.00 s)", True)
    # Run 2 misses two targets: CPU 3.4 > 1.25 x 2.6, and 160 MiB of RSS.
    assert not checks[cpu.replace("run 1", "run 2")][1]
    assert checks["run 2 of 2, 512 MiB: pipeline peak RSS <= 150 MiB"] == ("160 MiB", False)
    assert checks["run 2 of 2, 512 MiB: pipeline MiB/s >= 0.9 x min(raw download, raw upload)"][1]
    assert checks["ingress >= 5000 events/s"][1] and checks["import function_app <= 1 s"][1]
    text = reporting.render(report, markdown=True)
    assert "#### Run 1 of 2: 512 MiB" in text and "#### Run 2 of 2: 512 MiB" in text
    assert "| **pipeline (python -m archiver archive)** | **150** |" in text
    assert text.count("| FAIL |") == 2 and "Copy targets met in 1 of 2 runs." in text


def test_peak_rss_must_be_flat_in_file_size() -> None:
    run = _run(1, _result(150, 3.0, peak_mib=100))
    run["sizes"].update(_run(1, _result(150, 12.0, 2048 * MIB, peak_mib=130), 2048 * MIB)["sizes"])
    [(target, measured, met)] = [c for c in reporting.check_targets({"runs": [run]}) if "flat" in c[0]]
    assert "2048 MiB <= 1.1 x 512 MiB" in target and measured == "130 vs 100 MiB" and not met


def _table_rows(printed: str) -> dict[tuple[str, str], list[str]]:
    """The rows of the printed plain-text tables (cells split on 2+ spaces), by their first two cells."""
    rows: dict[tuple[str, str], list[str]] = {}
    for line in printed.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) >= 2:
            rows.setdefault((cells[0], cells[1]), cells)
    return rows


@pytest.mark.slow
def test_the_benchmark_runs_every_measure_at_a_small_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    argv = ["--sizes", "3", "--runs", "2", "--repeats", "1", "--recordings", "6", "--recording-mib", "1"]
    argv += ["--workers", "1,3", "--ingress-events", "300", "--block-mib", "1", "--json", str(out), "--quiet"]
    code = main([*argv, "--check"])
    report = json.loads(out.read_text())
    printed = capsys.readouterr().out
    missed = [c for c in reporting.check_targets(report) if not c[2]]
    assert code == (1 if missed else 0), missed  # --check: 1 exactly when a target was missed
    rows = _table_rows(printed)

    def row(first: str, second: str) -> list[str]:
        assert (first, second) in rows, f"no row {first!r} | {second!r} in the printed report:\n{printed}"
        return rows[(first, second)]

    cores = report["machine"]["nproc"]
    assert cores >= 1

    # Copy modes: two runs, each mode once per run, a whole cold process that moved exactly the
    # size asked for; its row shows that process's figures.
    assert set(reporting.MODE_LABELS) == set(SIZE_MODES)
    assert [run["run"] for run in report["runs"]] == [1, 2]
    for run in report["runs"]:
        [(size, modes)] = run["sizes"].items()
        assert int(size) == 3 * MIB and sorted(modes) == sorted(SIZE_MODES)
        assert f"== Run {run['run']} of 2: 3 MiB ==" in printed
        for mode, result in modes.items():
            assert result["bytes"] == 3 * MIB, mode
            # Cold: the interpreter, imports and clients count. A Python process is never tiny.
            assert result["seconds"] > 0 and result["peak_rss"] > 20 * MIB, mode
            assert result["cpu_seconds"] == pytest.approx(result["cpu_user"] + result["cpu_sys"]), mode
            assert 0 < result["cpu_seconds"] <= result["seconds"] * cores + 0.1, mode
            assert {"azurite_cpu_seconds", "emulator_cpu_seconds"} <= set(result), mode
        for mode in ("raw_upload", "pipeline", "function", "naive"):
            assert modes[mode]["azurite_cpu_seconds"] > 0, mode
    first = report["runs"][0]["sizes"][str(3 * MIB)]
    pipeline = first["pipeline"]
    # The printed row is the pipeline's own figures (the first run's table comes first).
    assert rows[("pipeline (python -m archiver archive)", f"{reporting.rate(pipeline):.0f}")][2:5] == [
        f"{pipeline['seconds']:.2f}",
        f"{pipeline['cpu_seconds']:.2f} ({pipeline['cpu_user']:.2f}+{pipeline['cpu_sys']:.2f})",
        f"{pipeline['peak_rss'] / MIB:.0f}",
    ]
    # Every run's three copy targets are printed with pass or FAIL.
    copy_checks = [c for c in reporting.check_targets(report) if c[0].startswith("run ")]
    assert len(copy_checks) == 6
    for target, measured, met in copy_checks[:3]:
        plain = target.split(": ", 1)[1]
        assert row(plain, measured)[2] == ("pass" if met else "FAIL")

    # Archives/s: all six recordings archived at each concurrency, 1 MiB each.
    assert sorted(report["throughput"]) == ["1", "3"]
    for workers, results in report["throughput"].items():
        [result] = results
        assert result["archives"] == 6 and result["bytes"] == 6 * MIB, workers
        assert result["seconds"] > 0 and result["peak_rss"] > result["rss_before"] > 0, workers
        assert result["cpu_seconds"] > 0 and result["azurite_cpu_seconds"] > 0, workers
        archives_per_second = f"{6 / result['seconds']:.1f}"
        assert row(workers, archives_per_second)[2] == f"{result['bytes'] / result['seconds'] / MIB:.0f}"
    assert "archives/s (6 x 1 MiB)" in printed

    # Ingress: the events asked for, the same payload each time, on one core.
    [ingress] = report["ingress"]
    assert ingress["events"] == 300 and ingress["bytes"] > 0 and ingress["bytes"] % 300 == 0
    assert 0 < ingress["cpu_seconds"] <= ingress["seconds"] + 2 / os.sysconf("SC_CLK_TCK")
    row("ingress validation (validate_payload, one core)", f"{300 / ingress['seconds']:,.0f} events/s")

    assert len(report["import"]) >= 3 and all(0 < t < 30 for t in report["import"])
    row("import function_app (fresh interpreter)", f"{reporting.import_time(report) * 1000:.0f} ms")
    assert report["settings"]["COPY_BLOCK_MIB"] == 1 and report["settings"]["runs"] == 2
    # Every download went over TLS to a production-shaped host (the SDK refuses anything else).
    assert report["settings"]["source"] == "https://bench-storage.asm.skype.com (TLS, emulator on 127.0.0.1)"
    for target, value, met in reporting.check_targets(report)[6:]:
        assert row(target, value)[2] == ("pass" if met else "FAIL")
