"""Plain request and response values passed between the HTTP handler and the API modules."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from archiver.dev.emulator.errors import SEED_ERRORS, ApiError, bad_request


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query exactly as sent: what the client signed
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        if not self.body:
            raise bad_request("a JSON body is required")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise bad_request(f"the body is not valid JSON: {exc}") from exc

    def query(self, name: str) -> str | None:
        """The first value of query parameter ``name``, if any."""
        values = parse_qs(urlsplit(self.target).query).get(name)
        return values[0] if values else None

    def json_object(self) -> dict[str, Any]:
        value = self.json()
        if not isinstance(value, dict):
            raise bad_request("the body must be a JSON object")
        return value


@dataclass
class Response:
    """What to send: a status, headers and a body held in memory or read from a file slice.

    ``reset_after`` aborts the connection after that many body bytes; ``bytes_per_second``
    throttles the body. Content-Length is always the full length of the body described.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    file: Path | None = None
    file_offset: int = 0
    file_length: int = 0
    reset_after: int | None = None
    bytes_per_second: int | None = None
    document_id: str | None = None  # whose bytes these are, for the stats

    @property
    def length(self) -> int:
        return self.file_length if self.file is not None else len(self.body)


def json_response(status: int, value: Any) -> Response:
    return Response(
        status,
        {"Content-Type": "application/json; charset=utf-8"},
        json.dumps(value).encode("utf-8"),
    )


def error_response(error: ApiError, style: str = SEED_ERRORS) -> Response:
    """The error in the shape of ``style``'s API (``errors``)."""
    headers = {"Content-Type": "application/json; charset=utf-8", **error.headers}
    return Response(error.status, headers, error.body(style))
