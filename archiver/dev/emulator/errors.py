"""The service's error bodies, raised anywhere in a handler and rendered once, in the caller's API.

Two shapes, one per API generation:

- the seed's (2021 recording API, downloads): ``{"code", "message", "target", "details"}`` at
  top level;
- today's Call Automation API: ``CommunicationErrorResponse``, the same ``CommunicationError``
  fields under ``"error"`` (REST spec ``definitions/CommunicationErrorResponse``; SDK
  ``_generated/models.CommunicationErrorResponse``, which ``HttpResponseError`` reads for its
  message; the SDK maps 401, 404 and 409 to ``ClientAuthenticationError``,
  ``ResourceNotFoundError`` and ``ResourceExistsError`` by status alone).
"""

from __future__ import annotations

import json
from typing import Any

SEED_ERRORS = "seed"
CALL_AUTOMATION_ERRORS = "callAutomation"


class ApiError(Exception):
    """An HTTP error answered with the service's error body (see ``body``)."""

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

    def body(self, style: str = SEED_ERRORS) -> bytes:
        return error_body(self.code, self.message, self.target, style)


def error_body(code: str, message: str, target: str | None = None, style: str = SEED_ERRORS) -> bytes:
    value: dict[str, Any] = {
        "code": code,
        "message": message,
        "target": target,
        "details": [],
    }
    return json.dumps({"error": value} if style == CALL_AUTOMATION_ERRORS else value).encode("utf-8")


def bad_request(message: str, target: str | None = None) -> ApiError:
    return ApiError(400, "BadRequest", message, target)


def not_found(message: str, target: str | None = None) -> ApiError:
    return ApiError(404, "NotFound", message, target)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "Unauthorized", message)


def not_implemented(message: str, target: str | None = None) -> ApiError:
    return ApiError(501, "NotImplemented", message, target)
