"""The local stack a benchmark runs against, and the fresh processes that do the measured work.

The emulator (the source) runs for the whole benchmark; Azurite (the destination) is started
fresh for each group of measurements, so that one size's blobs never slow down the next and
disk use stays bounded. Both are real servers on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess
from archiver.dev.stack import PROJECT_ROOT, Azurite

RESOURCE_HOST = "bench.communication.azure.com"
ACCESS_KEY = base64.b64encode(b"benchmark-access-key-not-secret!").decode()
CHILD_TIMEOUT_SECONDS = 1800.0

# The archiver's own settings that a benchmark may override (environment variable names).
_COPY_SETTINGS = ("COPY_BLOCK_MIB", "COPY_CONCURRENCY")


class ChildFailed(RuntimeError):
    """A measurement process exited with an error (its stderr is in the message)."""


class BenchStack:
    """Emulator for the whole run; ``destination()`` gives a fresh Azurite for one group."""

    def __init__(self, copy_settings: dict[str, str] | None = None) -> None:
        self._stack = ExitStack()
        self.emulator: EmulatorProcess | None = None
        self.admin: EmulatorAdmin | None = None
        self.copy_settings = dict(copy_settings or {})
        for name in self.copy_settings:
            if name not in _COPY_SETTINGS:
                raise ValueError(f"{name} is not a copy setting")

    def __enter__(self) -> BenchStack:
        self.emulator = self._stack.enter_context(
            EmulatorProcess(access_key=ACCESS_KEY, resource_host=RESOURCE_HOST, max_media_seconds=3)
        )
        self.admin = self._stack.enter_context(self.emulator.admin())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()

    def seed(self, size: int, *, participants: int = 2) -> dict[str, Any]:
        """A mixed audio/video MP4 chunk of ``size`` pseudo-random bytes, with its event."""
        assert self.admin is not None and self.emulator is not None
        people = [f"8:acs:bench-{i:04d}" for i in range(participants)]
        document = self.admin.seed_document(
            format="mp4",
            content_type="audioVideo",
            channel_type="mixed",
            size_bytes=size,
            participants=people,
        )
        folder = self.emulator.state_dir / "documents" / document["documentId"]
        document["file"] = str(next(folder.glob("content*")))
        return document

    def forget(self, document: dict[str, Any]) -> None:
        assert self.admin is not None
        self.admin.forget_document(document["documentId"])

    def environment(self, azurite: Azurite | None) -> dict[str, str]:
        """The settings a local Function App worker would have, pointed at this stack.

        Without ``azurite``: ACS settings only, and no ``LOCAL_SOURCE_URL`` (ingress alone).
        """
        assert self.emulator is not None
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(
                ("ACS_", "ARCHIVE_", "ALLOWED_", "SOURCE_", "COPY_", "AzureWebJobs", "LOCAL_")
            )
        }
        env["ACS_CONNECTION_STRING"] = f"endpoint=https://{RESOURCE_HOST}/;accesskey={ACCESS_KEY}"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        if azurite is not None:
            env["ARCHIVE_STORAGE_CONNECTION_STRING"] = azurite.connection_string
            env["AzureWebJobsStorage"] = azurite.connection_string
            env["LOCAL_SOURCE_URL"] = self.emulator.url
        env.update(self.copy_settings)
        return env

    def common_spec(self, azurite: Azurite) -> dict[str, Any]:
        """What every measurement needs: credentials, and the servers whose CPU it reports."""
        assert self.emulator is not None and azurite.process is not None
        return {
            "storage": azurite.connection_string,
            "acs_access_key": ACCESS_KEY,
            "acs_host": RESOURCE_HOST,
            "servers": {"emulator": self.emulator.pid, "azurite": azurite.process.pid},
        }


def run_child(
    spec: dict[str, Any], env: dict[str, str], *, timeout: float = CHILD_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return what it printed."""
    process = subprocess.run(
        [sys.executable, "-m", "archiver.dev.bench.child"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=timeout,
        check=False,
    )
    if process.returncode != 0:
        raise ChildFailed(f"{spec['mode']} exited with {process.returncode}:\n{process.stderr[-4000:]}")
    lines = [line for line in process.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise ChildFailed(
            f"{spec['mode']} printed no result:\n{process.stdout[-2000:]}{process.stderr[-2000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def import_seconds(module: str = "function_app") -> float:
    """Seconds to import ``module`` in a fresh interpreter (cold start of a Functions worker)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACS_", "ARCHIVE_", "AzureWebJobs"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    output = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, check=True
    )
    return float(output.stdout.strip().splitlines()[-1])


def project_root() -> Path:
    return PROJECT_ROOT
