"""The benchmark itself works: every measure runs end to end at a small size (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

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


@pytest.mark.slow
def test_the_benchmark_runs_every_measure_at_a_small_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    argv = ["--sizes", "3", "--repeats", "1", "--recordings", "6", "--recording-mib", "1", "--workers", "1,3"]
    code = main([*argv, "--ingress-events", "300", "--block-mib", "1", "--json", str(out), "--quiet"])
    assert code == 0
    report = json.loads(out.read_text())
    [(size, modes)] = report["sizes"].items()
    assert int(size) == 3 * MIB
    assert sorted(modes) == sorted(SIZE_MODES)
    for mode, results in modes.items():
        [result] = results
        assert result["bytes"] == 3 * MIB, mode
        assert result["seconds"] > 0 and result["peak_rss"] > result["rss_before"] > 0, mode
        assert result["azurite_cpu_seconds"] >= 0 and result["emulator_cpu_seconds"] >= 0
    assert sorted(report["throughput"]) == ["1", "3"]
    assert all(r[0]["archives"] == 6 for r in report["throughput"].values())
    assert report["ingress"][0]["events"] == 300
    assert len(report["import"]) >= 3 and all(0 < t < 30 for t in report["import"])
    assert report["settings"]["COPY_BLOCK_MIB"] == 1
    printed = capsys.readouterr().out
    assert "archiver pipeline (event -> archive)" in printed
    assert "archives/s" in printed and "events/s" in printed and "import function_app" in printed
