"""The local stack a benchmark runs against, and the fresh processes that do the measured work.

The emulator (the source) runs for the whole benchmark, over TLS with a throwaway CA, and
publishes its content at a production-shaped host (``bench-storage.asm.skype.com``): clients
connect to 127.0.0.1 but send SNI for that name and verify the certificate against it, so the
TLS cost and code path are production's. Azurite (the destination) is started fresh for each
measurement, so that no run pays for an earlier one's blobs and disk use stays bounded. Both
are real servers on 127.0.0.1.

``measure_process`` runs one measurement as a whole, cold process and takes its figures from
the kernel when it exits (see there).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from archiver.dev.bench.child import process_cpu_seconds
from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess
from archiver.dev.stack import PROJECT_ROOT, Azurite

RESOURCE_HOST = "bench.communication.azure.com"
STORAGE_URL = "https://bench-storage.asm.skype.com"  # where the emulator says its content is
ACCESS_KEY = base64.b64encode(b"benchmark-access-key-not-secret!").decode()
CHILD_TIMEOUT_SECONDS = 1800.0

# The archiver's own settings that a benchmark may override (environment variable names).
_COPY_SETTINGS = ("COPY_BLOCK_MIB", "COPY_CONCURRENCY")
_OWN_SETTINGS = ("ACS_", "ARCHIVE_", "ALLOWED_", "SOURCE_", "COPY_", "AzureWebJobs", "LOCAL_")
_TRUST_SETTINGS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

# Runs the measured command and reports what the kernel says about it (os.wait4). A process's
# peak RSS (ru_maxrss) includes the memory of whoever spawned it (Linux carries the old image's
# high-water mark over exec), so the spawner must be tiny: this, in an interpreter without site
# (a few MiB), rather than the benchmark itself with its clients loaded.
_LAUNCHER = """
import json, os, sys, time
argv, out = json.loads(sys.argv[1]), sys.argv[2]
started = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(out, "w", encoding="ascii") as f:
    json.dump({"seconds": seconds, "user": usage.ru_utime, "sys": usage.ru_stime,
               "maxrss_kib": usage.ru_maxrss, "exit": os.waitstatus_to_exitcode(status)}, f)
"""


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
            EmulatorProcess(
                access_key=ACCESS_KEY,
                resource_host=RESOURCE_HOST,
                max_media_seconds=3,
                public_url=STORAGE_URL,
                tls=True,
            )
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
            if not name.startswith(_OWN_SETTINGS) and name not in _TRUST_SETTINGS
        }
        env["ACS_CONNECTION_STRING"] = f"endpoint=https://{RESOURCE_HOST}/;accesskey={ACCESS_KEY}"
        if self.emulator.ca_file is not None:
            env["SSL_CERT_FILE"] = str(self.emulator.ca_file)  # httpx's trust: the emulator's CA only
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        if azurite is not None:
            env["ARCHIVE_STORAGE_CONNECTION_STRING"] = azurite.connection_string
            env["AzureWebJobsStorage"] = azurite.connection_string
            env["LOCAL_SOURCE_URL"] = self.emulator.url
        env.update(self.copy_settings)
        return env

    def common_spec(self, azurite: Azurite) -> dict[str, Any]:
        """What every measurement needs: credentials, where the emulator is, and the servers
        whose CPU it reports."""
        assert self.emulator is not None
        return {
            "storage": azurite.connection_string,
            "acs_connection_string": self.emulator.connection_string,
            "emulator_url": self.emulator.url,
            "ca_file": str(self.emulator.ca_file) if self.emulator.ca_file else None,
            "servers": self.servers(azurite),
        }

    def servers(self, azurite: Azurite) -> dict[str, int]:
        assert self.emulator is not None and azurite.process is not None
        return {"emulator": self.emulator.pid, "azurite": azurite.process.pid}


@dataclass(frozen=True)
class ProcessFigures:
    """One cold process, as the kernel saw it."""

    seconds: float  # wall, from spawn to exit: interpreter start, imports and the work
    cpu_user: float  # all its threads (and any children it waited for)
    cpu_sys: float
    peak_rss: int  # bytes, ru_maxrss
    server_cpu: dict[str, float]  # CPU seconds each server used over the same interval
    stdout: str

    @property
    def cpu_seconds(self) -> float:
        return self.cpu_user + self.cpu_sys


def _python(
    args: list[str], env: dict[str, str], stdin: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    """This interpreter on ``args`` in the project root; its output captured, its exit code kept."""
    return subprocess.run(  # noqa: S603 - our own interpreter and argument list
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=timeout,
        check=False,
    )


def measure_process(
    argv: list[str],
    env: dict[str, str],
    *,
    stdin: str = "",
    servers: dict[str, int] | None = None,
    timeout: float = CHILD_TIMEOUT_SECONDS,
) -> ProcessFigures:
    """Run ``argv`` as a fresh process; its wall time, CPU (user+sys) and peak RSS, whole.

    Everything the process does counts, interpreter start-up and imports included: a cold
    start is what a scaled-out Functions instance or an operator's command pays. The servers'
    CPU is sampled around it, so a figure shows which side was the bottleneck.
    """
    servers = servers or {}
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        out = Path(scratch) / "figures.json"
        before = {name: process_cpu_seconds(pid) for name, pid in servers.items()}
        process = _python(["-I", "-S", "-c", _LAUNCHER, json.dumps(argv), str(out)], env, stdin, timeout)
        after = {name: process_cpu_seconds(pid) for name, pid in servers.items()}
        if process.returncode != 0 or not out.exists():
            raise ChildFailed(f"the launcher failed ({process.returncode}):\n{process.stderr[-4000:]}")
        figures = json.loads(out.read_text(encoding="ascii"))
    if figures["exit"] != 0:
        raise ChildFailed(f"{' '.join(argv[1:4])} exited with {figures['exit']}:\n{process.stderr[-4000:]}")
    return ProcessFigures(
        seconds=figures["seconds"],
        cpu_user=figures["user"],
        cpu_sys=figures["sys"],
        peak_rss=int(figures["maxrss_kib"]) * 1024,
        server_cpu={name: after[name] - before[name] for name in servers},
        stdout=process.stdout,
    )


def run_child(
    spec: dict[str, Any], env: dict[str, str], *, timeout: float = CHILD_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return what it printed."""
    process = _python(["-m", "archiver.dev.bench.child"], env, json.dumps(spec), timeout)
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
