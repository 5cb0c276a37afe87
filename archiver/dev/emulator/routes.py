"""The URL table: which function answers which method and path, and who must authenticate.

Path segments of the recording API match case-insensitively (``Recordings``, ``Pause``),
as the service does. ``GET`` routes also answer ``HEAD``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from archiver.dev.emulator import admin_api, object_api, recording_api
from archiver.dev.emulator.app import Emulator
from archiver.dev.emulator.http_types import Request, Response

Handler = Callable[[Emulator, Request, dict[str, str]], Response]

_SEGMENT = r"[^/]+"
_RECORDING = rf"/calling(?:/conversations/(?P<conversation>{_SEGMENT}))?/recordings/(?P<recording>{_SEGMENT})"


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    admin: bool  # under /_emulator/: no authentication, not logged


def _route(method: str, pattern: str, handler: Handler, *, admin: bool = False) -> Route:
    return Route(method, re.compile(f"^{pattern}/?$", re.IGNORECASE), handler, admin)


ROUTES = (
    # The seed's Call Recording API.
    _route("POST", rf"/calling/conversations/(?P<conversation>{_SEGMENT})/recordings", recording_api.start),
    _route("GET", _RECORDING, recording_api.get_state),
    _route("POST", rf"{_RECORDING}/pause", recording_api.pause),
    _route("POST", rf"{_RECORDING}/resume", recording_api.resume),
    _route("DELETE", _RECORDING, recording_api.stop),
    # Today's download URLs.
    _route("GET", rf"/v1/objects/(?P<document>{_SEGMENT})/content/(?:video|audio)", object_api.content),
    _route("GET", rf"/v1/objects/(?P<document>{_SEGMENT})/content/acsmetadata", object_api.metadata),
    _route("DELETE", rf"/v1/objects/(?P<document>{_SEGMENT})", object_api.delete),
    # The seed's download URLs.
    _route("GET", rf"/recording/download/(?P<document>{_SEGMENT})", object_api.content),
    _route("GET", rf"/recording/download/(?P<document>{_SEGMENT})/metadata", object_api.metadata),
    # The admin API.
    _route("GET", "/_emulator/health", admin_api.health, admin=True),
    _route("POST", "/_emulator/documents", admin_api.seed_document, admin=True),
    _route(
        "DELETE", rf"/_emulator/documents/(?P<document>{_SEGMENT})", admin_api.forget_document, admin=True
    ),
    _route("POST", "/_emulator/faults", admin_api.add_faults, admin=True),
    _route("GET", "/_emulator/faults", admin_api.list_faults, admin=True),
    _route("DELETE", "/_emulator/faults", admin_api.clear_faults, admin=True),
    _route("GET", "/_emulator/stats", admin_api.stats, admin=True),
    _route("POST", "/_emulator/stats/reset", admin_api.reset_stats, admin=True),
)


def is_admin_path(path: str) -> bool:
    return path == "/_emulator" or path.startswith("/_emulator/")


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for ``method`` and ``path`` (still percent-encoded) and its decoded params."""
    wanted = "GET" if method == "HEAD" else method
    for route in ROUTES:
        if route.method != wanted:
            continue
        found = route.pattern.match(path)
        if found:
            params = {k: unquote(v) for k, v in found.groupdict().items() if v is not None}
            return route, params
    return None
