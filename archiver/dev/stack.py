"""Start and stop the local services (Azurite, the ACS emulator) for the demo, tests and bench.

Development only; the Function App never imports this. Both services bind to 127.0.0.1 on
ports the OS picks, keep their state in a temporary directory, and are stopped by whoever
started them (context managers), so parallel runs never collide and nothing is left behind.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Azurite's well-known development account (public, documented by Microsoft; not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_LISTENING = re.compile(r"Azurite (Blob|Queue) service is successfully listening at (http://\S+)")


def azurite_binary() -> str:
    candidate = PROJECT_ROOT / "node_modules" / ".bin" / "azurite"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("azurite")
    if found:
        return found
    raise FileNotFoundError("Azurite is not installed: run `npm ci` in the project root")


def stop_process(process: subprocess.Popen[bytes] | subprocess.Popen[str], *, grace: float = 5.0) -> None:
    """SIGTERM, wait, then SIGKILL: never leave a child running."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace)


class Azurite:
    """A real Azurite (Blob + Queue) on loopback, with a connection string for it."""

    def __init__(self, *, location: Path | None = None, startup_timeout: float = 30.0) -> None:
        self._own_dir = location is None
        self.location = location or Path(tempfile.mkdtemp(prefix="azurite-"))
        self._timeout = startup_timeout
        self.process: subprocess.Popen[str] | None = None
        self.blob_url = ""
        self.queue_url = ""

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint={self.blob_url}/{DEV_ACCOUNT};QueueEndpoint={self.queue_url}/{DEV_ACCOUNT};"
        )

    def start(self, *, blob_port: int = 0, queue_port: int = 0) -> Azurite:
        args = [
            azurite_binary(),
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--blobHost", "127.0.0.1", "--blobPort", str(blob_port),
            "--queueHost", "127.0.0.1", "--queuePort", str(queue_port),
            "--tableHost", "127.0.0.1", "--tablePort", "0",
            "--location", str(self.location),
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - fixed argument list
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.location,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + self._timeout
        seen: list[str] = []
        while not (self.blob_url and self.queue_url):
            line = self.process.stdout.readline()
            if not line:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("Azurite did not start:\n" + "".join(seen[-20:]))
                continue
            seen.append(line)
            match = _LISTENING.search(line)
            if match:
                if match[1] == "Blob":
                    self.blob_url = match[2]
                else:
                    self.queue_url = match[2]
        # Keep draining its output so a full pipe can never block it.
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for _ in self.process.stdout:
            pass

    def outage(self, seconds: float) -> None:
        """Stop Azurite mid-flight and bring it back on the same ports after ``seconds``.

        An outage of our own storage, for tests: every connection drops and new ones are
        refused meanwhile. Azurite is stopped with SIGTERM so that it saves its state (it keeps
        containers in memory and would forget them on SIGKILL, which Azure never does).
        """
        assert self.process is not None
        blob_port, queue_port = (int(url.rsplit(":", 1)[1]) for url in (self.blob_url, self.queue_url))
        stop_process(self.process)
        time.sleep(seconds)
        self.blob_url = self.queue_url = ""
        self.start(blob_port=blob_port, queue_port=queue_port)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        if self._own_dir:
            shutil.rmtree(self.location, ignore_errors=True)

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
