"""The Functions host's view of the app: importable with nothing set, three functions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_imports_with_no_settings_and_no_network() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACS_", "ARCHIVE_", "AzureWebJobs"))}
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('network used at import')\n"
        "socket.socket.connect = refuse\n"
        "import function_app\n"
        "print(len(function_app.app.get_functions()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "3"


def test_functions_triggers_and_bindings(function_app_functions: dict[str, dict[str, object]]) -> None:
    from archiver.settings import JOBS_QUEUE

    assert set(function_app_functions) == {
        "ingest_recording_event",
        "archive_recording_chunk",
        "redrive_failed_jobs",
    }
    assert function_app_functions["ingest_recording_event"]["type"] == "eventGridTrigger"
    queue = function_app_functions["archive_recording_chunk"]
    assert queue["type"] == "queueTrigger"
    assert queue["queueName"] == JOBS_QUEUE
    assert queue["connection"] == "AzureWebJobsStorage"
    timer = function_app_functions["redrive_failed_jobs"]
    assert timer["type"] == "timerTrigger"
    assert timer["schedule"] == "0 */5 * * * *"
