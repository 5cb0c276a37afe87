"""A local Log Analytics query API that answers for ``ACSCallRecordingSummary``.

Development and tests only (never deployed). ACS writes one summary row per recording to Log
Analytics; locally, the emulator writes every event it publishes to ``{state_dir}/events/``, and
this server turns each into the row ACS would have logged for that recording, so that
``python -m archiver reconcile`` runs its whole path (azure-monitor-query's ``LogsQueryClient``,
HTTP, JSON, column types) with no cloud account.

What it serves: ``POST /v1/workspaces/{workspaceId}/query`` with ``{"query", "timespan"}``, as
the Logs query API does. It needs a ``Bearer`` token (any: it is a double) and the configured
workspace id, and understands as much KQL as the archiver sends: the table
(``ACSCallRecordingSummary``, anything else is a 400 like the service's), ``| project`` of
known columns, and ``| order by TimeGenerated``; the ``timespan`` (``PT{seconds}S`` or
``start/end``) filters on ``TimeGenerated``. Answers ``{"tables": [{"name": "PrimaryResult",
"columns": [{"name", "type"}], "rows": [...]}]}``. It binds to loopback only.

    python -m archiver.dev.loganalytics --state-dir .local/emulator --port 8091
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

DEFAULT_WORKSPACE = "00000000-0000-4000-8000-00000000a11a"
TABLE = "ACSCallRecordingSummary"
# Microsoft's table reference for ACSCallRecordingSummary (the columns this double can fill).
COLUMN_TYPES = {
    "TimeGenerated": "datetime",
    "OperationName": "string",
    "CorrelationId": "string",
    "RecordingId": "string",
    "ResultType": "string",
    "Level": "string",
    "ChunkCount": "int",
    "ChannelType": "string",
    "RecordingStartTime": "datetime",
    "ContentType": "string",
    "FormatType": "string",
    "RecordingLength": "real",
    "AudioChannelsCount": "int",
    "RecordingEndReason": "string",
    "TenantId": "string",
    "SourceSystem": "string",
    "Type": "string",
    "_ResourceId": "string",
}
CONTENT_TYPES = {"audiovideo": "Audio - Video", "audio": "Audio Only"}
_SUBJECT = re.compile(
    r"/recording/call/(?P<call>[^/]+)(?:/serverCallId/[^/]+)?(?:/recordingId/(?P<rec>[^/]+))?/?"
)
_PROJECT = re.compile(r"\|\s*project\s+([^|]+)")


class QueryError(Exception):
    """Answered as the service answers a bad query: a status and ``{"error": {code, message}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def summary_row(event: dict[str, Any], workspace_id: str) -> dict[str, Any] | None:
    """The summary ACS logs for the recording an event announced; None for anything else."""
    match = _SUBJECT.fullmatch(str(event.get("subject") or ""))
    data = event.get("data")
    if not match or not isinstance(data, dict):
        return None
    chunks = (data.get("recordingStorageInfo") or {}).get("recordingChunks") or []
    duration = data.get("recordingDurationMs")
    channel = str(data.get("recordingChannelType") or "").lower() or None
    return {
        "TimeGenerated": _text(_iso(event.get("eventTime"))),
        "OperationName": "RecordingSummary",
        "CorrelationId": match["call"],
        "RecordingId": match["rec"] or data.get("recordingId"),
        "ResultType": "Succeeded",
        "Level": "Informational",
        "ChunkCount": len(chunks),
        "ChannelType": channel,
        "RecordingStartTime": _text(_iso(data.get("recordingStartTime"))),
        "ContentType": CONTENT_TYPES.get(str(data.get("recordingContentType") or "").lower()),
        "FormatType": str(data.get("recordingFormatType") or "").lower() or None,
        "RecordingLength": round(duration / 1000, 2) if isinstance(duration, int | float) else None,
        "AudioChannelsCount": 1 if channel == "mixed" else None,
        "RecordingEndReason": data.get("sessionEndReason"),
        "TenantId": workspace_id,
        "SourceSystem": "Azure",
        "Type": TABLE,
        "_ResourceId": str(event.get("topic") or "").lower(),
    }


def _window(timespan: str | None, now: datetime) -> tuple[datetime, datetime] | None:
    """The SDK's timespan forms: ``PT{seconds}S``, ``{start}/{end}`` or ``{start}/PT{seconds}S``."""
    if not timespan:
        return None
    start_text, _, end_text = timespan.partition("/")
    duration = re.fullmatch(r"PT([0-9.]+)S", end_text or start_text)
    if not end_text and duration:
        return now - timedelta(seconds=float(duration[1])), now
    start = _iso(start_text)
    end = (
        now
        if start is None
        else (start + timedelta(seconds=float(duration[1])) if duration else _iso(end_text))
    )
    if start is None or end is None:
        raise QueryError(400, "BadArgumentError", f"cannot read the timespan {timespan!r}")
    return start, end


def _columns(query: str) -> list[str]:
    table = query.strip().split("|", 1)[0].strip()
    if table != TABLE:
        raise QueryError(
            400, "BadArgumentError", f"Failed to resolve table or column expression named '{table}'"
        )
    projected = _PROJECT.search(query)
    if not projected:
        return list(COLUMN_TYPES)
    names = [name.strip() for name in projected[1].split(",") if name.strip()]
    unknown = [name for name in names if name not in COLUMN_TYPES]
    if unknown:
        raise QueryError(400, "BadArgumentError", f"Failed to resolve column expression named '{unknown[0]}'")
    return names


class LogAnalyticsDouble:
    """The query API on ``127.0.0.1``, fed by the emulator's ``events/`` directory."""

    def __init__(self, state_dir: Path, *, workspace_id: str = DEFAULT_WORKSPACE, port: int = 0) -> None:
        self.events_dir = state_dir / "events"
        self.workspace_id = workspace_id
        self.queries: list[dict[str, Any]] = []  # what was asked, for tests
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def rows(self) -> list[dict[str, Any]]:
        found = []
        for path in sorted(self.events_dir.glob("*.json")):
            try:
                published = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                continue  # being written: the next query sees it
            for event in published if isinstance(published, list) else [published]:
                row = summary_row(event, self.workspace_id) if isinstance(event, dict) else None
                if row is not None:
                    found.append(row)
        return found

    def answer(self, workspace: str, body: dict[str, Any]) -> dict[str, Any]:
        if workspace.lower() != self.workspace_id.lower():
            raise QueryError(404, "WorkspaceNotFoundError", f"workspace {workspace} not found")
        self.queries.append(body)
        columns = _columns(str(body.get("query") or ""))
        window = _window(body.get("timespan"), datetime.now(UTC))
        rows = self.rows()
        if window is not None:
            rows = [r for r in rows if (t := _iso(r["TimeGenerated"])) and window[0] <= t <= window[1]]
        rows.sort(key=lambda r: r["TimeGenerated"] or "")
        return {
            "tables": [
                {
                    "name": "PrimaryResult",
                    "columns": [{"name": c, "type": COLUMN_TYPES[c]} for c in columns],
                    "rows": [[row[c] for c in columns] for row in rows],
                }
            ]
        }

    def start(self) -> LogAnalyticsDouble:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever: only if it runs
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LogAnalyticsDouble:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _handler_for(double: LogAnalyticsDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            match = re.fullmatch(r"/v1/workspaces/([^/?]+)/query(?:\?.*)?", self.path)
            try:
                if not match:
                    raise QueryError(404, "PathNotFoundError", f"no such path {self.path}")
                if not (self.headers.get("Authorization") or "").startswith("Bearer "):
                    raise QueryError(
                        401, "AuthorizationRequiredError", "Valid authentication was not provided"
                    )
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                self._send(200, double.answer(match[1], body if isinstance(body, dict) else {}))
            except QueryError as exc:
                self._send(exc.status, {"error": {"code": exc.code, "message": str(exc)}})
            except ValueError as exc:
                self._send(400, {"error": {"code": "BadArgumentError", "message": str(exc)}})

        def _send(self, status: int, document: dict[str, Any]) -> None:
            payload = json.dumps(document).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: a line on stderr per request is noise

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m archiver.dev.loganalytics", description=__doc__)
    parser.add_argument("--state-dir", required=True, type=Path, help="the emulator's state directory")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workspace-id", default=DEFAULT_WORKSPACE)
    args = parser.parse_args(argv)
    with LogAnalyticsDouble(args.state_dir, workspace_id=args.workspace_id, port=args.port) as double:
        print(f"LOG_ANALYTICS_READY {double.url} workspace {double.workspace_id}", flush=True)
        with suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
