"""Start the emulator as a child process and drive it: for tests, the demo and benchmarks.

``EmulatorProcess`` runs ``python -m archiver.dev.emulator`` on 127.0.0.1 with a temporary state
dir (over HTTPS with ``tls=True``: ``ca_file`` is then the throwaway CA to trust) and stops it
on exit; ``EmulatorAdmin`` wraps the admin API (documents, calls, recordings,
events, faults, stats) and signs raw calls to the service with the project's own HMAC signer.
To drive the recording API with the official SDK instead, see ``archiver.dev.emulator.sdk``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from archiver.acs_auth import decode_access_key, sign_headers
from archiver.dev.stack import stop_process

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_RESOURCE_HOST = "contoso.communication.azure.com"
STARTUP_TIMEOUT_SECONDS = 20.0
STOP_GRACE_SECONDS = 5.0


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class EmulatorAdmin:
    """Client for the admin API, plus signed requests to the emulated service."""

    def __init__(
        self,
        url: str,
        *,
        access_key: str | None = None,
        resource_host: str = DEFAULT_RESOURCE_HOST,
        timeout: float = 60.0,
        ca_file: Path | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.access_key = access_key
        self.resource_host = resource_host
        # An https emulator's certificate comes from its own throwaway CA: trust that, and only that.
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self.http = httpx.Client(timeout=timeout, trust_env=False, verify=verify)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> EmulatorAdmin:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.url}/_emulator{path}", json=body)
        response.raise_for_status()
        return response.json()

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._admin("GET", "/health")
        return result

    def seed_document(self, **fields: Any) -> dict[str, Any]:
        """Seed a document; snake_case keywords map to the API's camelCase (size_bytes=...)."""
        result: dict[str, Any] = self._admin("POST", "/documents", {_camel(k): v for k, v in fields.items()})
        return result

    def register_call(self, **fields: Any) -> dict[str, Any]:
        """Say who is in a call before recording it: ``server_call_id=...`` (or ``group_call_id``,
        ``room_id``, ``call_connection_id``), ``participants=[raw ids]``, optional ``call_id``."""
        result: dict[str, Any] = self._admin("POST", "/calls", {_camel(k): v for k, v in fields.items()})
        return result

    def recording(self, recording_id: str) -> dict[str, Any]:
        """The emulator's record of a recording: state, call ids, and once stopped its event id."""
        result: dict[str, Any] = self._admin("GET", f"/recordings/{quote(recording_id, safe='')}")
        return result

    def event(self, event_id: str, schema: str = "eventgrid") -> Any:
        """A published event: ``eventgrid`` (a list of one) or ``cloudevents`` (one object)."""
        return self._admin("GET", f"/events/{quote(event_id, safe='')}?schema={schema}")

    def forget_document(self, document_id: str) -> None:
        self._admin("DELETE", f"/documents/{document_id}")

    def inject(self, document_id: str, target: str, *faults: dict[str, Any]) -> None:
        """Queue ``faults`` for ``document_id`` ("*" for any) and ``target``."""
        self._admin("POST", "/faults", {"documentId": document_id, "target": target, "faults": list(faults)})

    def pending_faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._admin("GET", "/faults")["pending"]
        return result

    def clear_faults(self) -> None:
        self._admin("DELETE", "/faults")

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._admin("GET", "/stats")
        return result

    def reset_stats(self) -> None:
        self._admin("POST", "/stats/reset")

    def signed_headers(self, method: str, url: str, body: bytes = b"") -> dict[str, str]:
        if self.access_key is None:
            raise ValueError("EmulatorAdmin needs access_key to sign requests")
        return sign_headers(
            method, url, acs_host=self.resource_host, key=decode_access_key(self.access_key), body=body
        )

    def signed_request(
        self,
        method: str,
        url_or_path: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A request to the emulated service, signed as the download client signs it."""
        url = url_or_path if "://" in url_or_path else f"{self.url}{url_or_path}"
        all_headers = {**self.signed_headers(method, url, body), **(headers or {})}
        return self.http.request(method, url, content=body, headers=all_headers)

    def call_api(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """Call the recording API; a JSON body is included in the signature."""
        body = b"" if json is None else _json_bytes(json)
        headers = {"Content-Type": "application/json"} if json is not None else {}
        return self.signed_request(method, path, body=body, headers=headers)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


class EmulatorProcess:
    """The emulator as a real child process on 127.0.0.1; a context manager.

    >>> with EmulatorProcess() as emulator:
    ...     admin = emulator.admin()
    ...     doc = admin.seed_document(format="wav")
    """

    def __init__(
        self,
        *,
        access_key: str | None = None,
        resource_host: str = DEFAULT_RESOURCE_HOST,
        state_dir: Path | None = None,
        public_url: str | None = None,
        webhook_url: str | None = None,
        resource_id: str | None = None,
        max_media_seconds: int | None = None,
        chunk_seconds: int | None = None,
        event_schema: str | None = None,
        port: int = 0,
        tls: bool = False,
        extra_args: tuple[str, ...] = (),
        startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
        keep_files: bool = False,
    ) -> None:
        self.access_key = access_key or base64.b64encode(os.urandom(32)).decode("ascii")
        self.resource_host = resource_host
        self._root = Path(tempfile.mkdtemp(prefix="acs-emulator-"))
        self.state_dir = state_dir or self._root / "state"
        self.ready_file = self._root / "ready.json"
        self.log_file = self._root / "emulator.log"
        self._keep_files = keep_files
        self._startup_timeout = startup_timeout
        self.url = ""
        self.pid = 0
        self.ca_file: Path | None = None  # with tls: the CA that signed the emulator's certificate
        self.process: subprocess.Popen[bytes] | None = None
        self.args = [
            "--host", "127.0.0.1",
            "--port", str(port),
            "--state-dir", str(self.state_dir),
            "--access-key", self.access_key,
            "--resource-host", resource_host,
            "--ready-file", str(self.ready_file),
        ]  # fmt: skip
        for option, value in (
            ("--public-url", public_url),
            ("--webhook-url", webhook_url),
            ("--resource-id", resource_id),
            ("--max-media-seconds", None if max_media_seconds is None else str(max_media_seconds)),
            ("--chunk-seconds", None if chunk_seconds is None else str(chunk_seconds)),
            ("--event-schema", event_schema),
        ):
            if value is not None:
                self.args += [option, value]
        if tls:
            self.args.append("--tls")
        self.args += list(extra_args)

    @property
    def connection_string(self) -> str:
        """An ACS connection string for the emulated resource (route its host to ``url``, e.g. with
        ``archiver.dev.emulator.sdk.LoopbackTransport``)."""
        return f"endpoint=https://{self.resource_host}/;accesskey={self.access_key}"

    def admin(self) -> EmulatorAdmin:
        return EmulatorAdmin(
            self.url, access_key=self.access_key, resource_host=self.resource_host, ca_file=self.ca_file
        )

    def start(self) -> EmulatorProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        # Output goes to a file, never a pipe: a full pipe would block the server.
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argument list, our own module
                [sys.executable, "-m", "archiver.dev.emulator", *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=PROJECT_ROOT,
            )
        deadline = time.monotonic() + self._startup_timeout
        while not self.ready_file.exists():
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"the emulator exited with {code} before it was ready:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                limit = self._startup_timeout
                raise RuntimeError(f"the emulator was not ready within {limit} s:\n{self.log_tail()}")
            time.sleep(0.05)
        ready = json.loads(self.ready_file.read_text(encoding="utf-8"))
        self.url, self.pid = ready["url"], ready["pid"]
        self.ca_file = Path(ready["caFile"]) if "caFile" in ready else None
        return self

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a grace period; returns the exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        stop_process(process, grace=STOP_GRACE_SECONDS)
        return process.returncode

    def close(self) -> None:
        self.stop()
        if not self._keep_files:
            shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> EmulatorProcess:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
