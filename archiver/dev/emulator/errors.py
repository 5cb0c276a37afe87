"""The documented ACS error body, raised anywhere in a handler and rendered once."""

from __future__ import annotations

import json
from typing import Any


class ApiError(Exception):
    """An HTTP error answered with ``{"code", "message", "target", "details"}`` at top level."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        target: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.headers = headers or {}

    def body(self) -> bytes:
        return error_body(self.code, self.message, self.target)


def error_body(code: str, message: str, target: str | None = None) -> bytes:
    value: dict[str, Any] = {
        "code": code,
        "message": message,
        "target": target,
        "details": [],
    }
    return json.dumps(value).encode("utf-8")


def bad_request(message: str, target: str | None = None) -> ApiError:
    return ApiError(400, "BadRequest", message, target)


def not_found(message: str, target: str | None = None) -> ApiError:
    return ApiError(404, "NotFound", message, target)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "Unauthorized", message)
