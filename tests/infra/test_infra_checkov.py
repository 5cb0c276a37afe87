"""checkov on infra/, through scripts/checkov.sh (its own virtual environment, .venv-checkov).

The script is the CI gate: zero parsing errors (checkov's older parser skips what it cannot
read and still exits 0) and zero failed checks; a check may only be skipped by a
``//checkov:skip=CKV_...:reason`` line inside the resource body.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
SCRIPT = ROOT / "scripts" / "checkov.sh"
VENV = Path(os.environ.get("CHECKOV_VENV", ROOT / ".venv-checkov"))


@pytest.fixture(scope="module")
def checkov_ready() -> None:
    """Build .venv-checkov if needed; skip only when it cannot be created (no package index)."""
    if (VENV / "bin" / "checkov").exists():
        return
    setup = subprocess.run(
        ["bash", str(SCRIPT), "--setup"], capture_output=True, text=True, timeout=900, check=False
    )
    if setup.returncode != 0:
        pytest.skip(f"cannot create {VENV} (is PyPI reachable?): {setup.stderr.strip()[-500:]}")


def run_checkov(target: Path, report: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHECKOV_TARGET": str(target), "CHECKOV_REPORT": str(report)}
    return subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=600, env=env, check=False
    )


@pytest.fixture(scope="module")
def infra_report(checkov_ready: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    report = tmp_path_factory.mktemp("checkov") / "report.json"
    result = run_checkov(INFRA, report)
    assert result.returncode == 0, f"checkov.sh failed:\n{result.stdout}\n{result.stderr}"
    data = json.loads(report.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and data["check_type"] == "bicep"
    return data


def test_checkov_parses_every_file_and_no_check_fails(infra_report: dict[str, Any]) -> None:
    summary = infra_report["summary"]
    assert summary["parsing_errors"] == 0, infra_report["results"]["parsing_errors"]
    assert summary["failed"] == 0, [c["check_id"] for c in infra_report["results"]["failed_checks"]]
    assert summary["passed"] > 0
    checked = {
        c["file_path"].lstrip("/")
        for kind in ("passed_checks", "skipped_checks")
        for c in infra_report["results"][kind]
    }
    # The files holding the security-relevant resources were really scanned.
    assert {
        "modules/archive-storage.bicep",
        "modules/host-storage.bicep",
        "modules/function-app.bicep",
        "modules/storage-account-private.bicep",
        "modules/storage-account-public.bicep",
        "modules/network.bicep",
    } <= checked


def test_the_private_account_passes_the_network_checks_without_a_skip(infra_report: dict[str, Any]) -> None:
    """Private network mode: the account variant deployed there denies public access by its own
    literals (CKV_AZURE_35/59 pass); only the public variant skips them, with its reason."""
    results = infra_report["results"]

    def ids(kind: str, file: str) -> set[str]:
        return {c["check_id"] for c in results[kind] if c["file_path"].lstrip("/") == file}

    network_checks = {"CKV_AZURE_35", "CKV_AZURE_59"}
    assert network_checks <= ids("passed_checks", "modules/storage-account-private.bicep")
    assert network_checks <= ids("skipped_checks", "modules/storage-account-public.bicep")
    assert not network_checks & {
        c["check_id"] for c in results["skipped_checks"] if "private" in c["file_path"]
    }


def _skip_comments(infra: Path = INFRA) -> list[tuple[str, int, str, str]]:
    """(file, line, check id, reason) of every checkov skip comment under ``infra``."""
    found = []
    for path in sorted(infra.rglob("*.bicep")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            skip = re.match(r"\s*//\s*checkov\s*:\s*skip\s*=\s*([A-Z0-9_]+)\s*:?(.*)$", line)
            if skip:
                found.append(
                    (path.relative_to(infra).as_posix(), number, skip.group(1), skip.group(2).strip())
                )
    return found


def test_every_skip_gives_a_reason(infra_report: dict[str, Any]) -> None:
    """Each skip comment is applied by checkov to the resource it sits in, with its reason, and
    checkov skips nothing else: a skip naming a check that does not apply there, or sitting
    where checkov does not read it, fails here instead of silencing nothing."""
    comments = _skip_comments()
    assert comments, "no //checkov:skip comments found in infra/"
    skipped = infra_report["results"]["skipped_checks"]
    for file, line, check_id, reason in comments:
        where = f"{file}:{line}: {check_id}"
        assert len(reason) >= 40, f"{where}: reason too thin: {reason!r}"
        applied = [
            check
            for check in skipped
            if check["file_path"].lstrip("/") == file
            and check["check_id"] == check_id
            and check["file_line_range"][0] <= line <= check["file_line_range"][1]
        ]
        assert len(applied) == 1, f"{where}: checkov did not apply this skip to the resource it sits in"
        assert applied[0]["check_result"].get("suppress_comment", "").strip() == reason, where
    assert len(skipped) == len(comments), [(c["file_path"], c["check_id"]) for c in skipped]


def test_skip_comments_sit_inside_resource_bodies() -> None:
    """A skip outside a resource applies to nothing (or, worse, to the wrong resource)."""
    skips = 0
    for path in INFRA.rglob("*.bicep"):
        depth, owner = 0, None
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith("//checkov:"):
                assert re.fullmatch(r"//checkov:skip=CKV2?_[A-Z]+_\d+:.{40,}", stripped), (
                    f"{path.name}:{number}"
                )
                assert depth >= 1 and owner == "resource", (
                    f"{path.name}:{number}: skip outside a resource body"
                )
                skips += 1
                continue
            code = stripped.split("//", 1)[0]
            if depth == 0 and code:
                owner = code.split()[0]
            depth += code.count("{") + code.count("[") - code.count("}") - code.count("]")
    assert skips > 0


def _scratch_infra(tmp_path: Path) -> Path:
    target = tmp_path / "infra"
    shutil.copytree(INFRA, target)
    return target


def test_checkov_gate_fails_on_a_file_checkov_cannot_parse(checkov_ready: None, tmp_path: Path) -> None:
    target = _scratch_infra(tmp_path)
    (target / "spread.bicep").write_text(
        "var base = {\n  a: 1\n}\nvar merged = {\n  ...base\n  b: 2\n}\n"
        "resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n  location: 'y'\n}\n",
        encoding="utf-8",
    )
    result = run_checkov(target, tmp_path / "report.json")
    assert result.returncode == 1
    assert "spread.bicep" in result.stderr and "parsing error" in result.stderr


def test_checkov_gate_fails_on_a_failed_check(checkov_ready: None, tmp_path: Path) -> None:
    target = _scratch_infra(tmp_path)
    module = target / "modules" / "storage-account-private.bicep"
    code = module.read_text(encoding="utf-8")
    assert "minimumTlsVersion: 'TLS1_2'" in code
    module.write_text(
        code.replace("minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_0'"), encoding="utf-8"
    )
    result = run_checkov(target, tmp_path / "report.json")
    assert result.returncode == 1
    assert "FAILED CKV_AZURE_44" in result.stderr
