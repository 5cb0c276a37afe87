"""The process: loopback only, ready signals, clean shutdown, state that survives a restart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from archiver.dev.emulator.client import PROJECT_ROOT, EmulatorProcess

KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHM="


def run_emulator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archiver.dev.emulator", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=PROJECT_ROOT,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "--host must be a loopback address"),
        (["--host", "192.168.1.10"], "--host must be a loopback address"),
        (["--host", "::1"], "--host must be a loopback address"),
        (["--webhook-url", "http://example.com/hook"], "--webhook-url must be"),
        (["--access-key", "not base64!"], "not valid base64"),
        (["--chunk-seconds", "0"], "--chunk-seconds must be at least 1"),
        (["--event-schema", "xml"], "invalid choice: 'xml'"),
    ],
)
def test_invalid_options_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_emulator("--state-dir", str(tmp_path), "--access-key", KEY, *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_ready_file_line_and_clean_sigterm(tmp_path: Path) -> None:
    emulator = EmulatorProcess(access_key=KEY, state_dir=tmp_path / "state")
    with emulator:
        assert emulator.url.startswith("http://127.0.0.1:")
        assert emulator.process is not None and emulator.pid == emulator.process.pid
        assert emulator.ready_file.exists()
        with emulator.admin() as admin:
            assert admin.health()["status"] == "ok"
        assert emulator.stop() == 0
        assert not emulator.ready_file.exists()
        assert f"EMULATOR_READY {emulator.url}" in emulator.log_file.read_text()


def test_documents_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with EmulatorProcess(access_key=KEY, state_dir=state) as first, first.admin() as admin:
        seeded = admin.seed_document(format="wav", size_bytes=1234)
    with EmulatorProcess(access_key=KEY, state_dir=state) as second, second.admin() as admin:
        path = seeded["contentLocation"].removeprefix(first.url)
        response = admin.signed_request("GET", path)
        assert response.status_code == 200 and len(response.content) == 1234


def test_a_startup_failure_reports_the_output(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="before it was ready") as caught:
        EmulatorProcess(extra_args=("--max-media-seconds", "0")).start()
    assert "--max-media-seconds must be at least 1" in str(caught.value)
