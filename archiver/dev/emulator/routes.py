"""The URL table: which function answers which method and path, and in which API's error shape.

Path segments of the recording APIs match case-insensitively (``Recordings``, ``Pause``), as
the service does. ``GET`` routes also answer ``HEAD``.

Both recording APIs live under ``/calling``. Today's has paths of its own (``POST
/calling/recordings``, ``...:pause``, ``...:resume``); ``GET`` and ``DELETE
/calling/recordings/{recordingId}`` exist in both, and are answered in the shapes of the API the
request's ``api-version`` names (``call_automation_api.is_todays_version``: 2023-03-06 or later
is today's; none or a 2021 one is the seed's).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from archiver.dev.emulator import admin_api, call_automation_api, object_api, recording_api
from archiver.dev.emulator.app import Emulator
from archiver.dev.emulator.errors import CALL_AUTOMATION_ERRORS, SEED_ERRORS
from archiver.dev.emulator.http_types import Request, Response

Handler = Callable[[Emulator, Request, dict[str, str]], Response]

_SEGMENT = r"[^/]+"
_RECORDING = rf"/calling(?:/conversations/(?P<conversation>{_SEGMENT}))?/recordings/(?P<recording>{_SEGMENT})"
_TODAYS_RECORDING = r"/calling/recordings/(?P<recording>[^/:]+)"
BY_VERSION = "byVersion"  # the API the request's api-version names


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    admin: bool  # under /_emulator/: no authentication, not logged
    errors: str  # SEED_ERRORS, CALL_AUTOMATION_ERRORS or BY_VERSION


def _route(
    method: str, pattern: str, handler: Handler, *, admin: bool = False, errors: str = SEED_ERRORS
) -> Route:
    return Route(method, re.compile(f"^{pattern}/?$", re.IGNORECASE), handler, admin, errors)


def _by_version(todays: Handler, seeds: Handler) -> Handler:
    """A handler for a path both APIs have: today's if the api-version says so, else the seed's."""

    def handle(app: Emulator, request: Request, params: dict[str, str]) -> Response:
        chosen = todays if call_automation_api.is_todays_version(request) else seeds
        return chosen(app, request, params)

    return handle


ROUTES = (
    # Today's Call Automation recording API.
    _route("POST", "/calling/recordings", call_automation_api.start, errors=CALL_AUTOMATION_ERRORS),
    _route("POST", rf"{_TODAYS_RECORDING}:pause", call_automation_api.pause, errors=CALL_AUTOMATION_ERRORS),
    _route("POST", rf"{_TODAYS_RECORDING}:resume", call_automation_api.resume, errors=CALL_AUTOMATION_ERRORS),
    _route(
        "GET",
        _TODAYS_RECORDING,
        _by_version(call_automation_api.get_properties, recording_api.get_state),
        errors=BY_VERSION,
    ),
    _route(
        "DELETE",
        _TODAYS_RECORDING,
        _by_version(call_automation_api.stop, recording_api.stop),
        errors=BY_VERSION,
    ),
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
    _route("POST", "/_emulator/calls", admin_api.register_call, admin=True),
    _route("GET", rf"/_emulator/recordings/(?P<recording>{_SEGMENT})", admin_api.recording, admin=True),
    _route("GET", rf"/_emulator/events/(?P<event>{_SEGMENT})", admin_api.event, admin=True),
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


def error_style(route: Route | None, request: Request) -> str:
    """The error shape for ``request``: its route's, or (shared paths, no route) its api-version's."""
    if route is not None and route.errors != BY_VERSION:
        return route.errors
    return CALL_AUTOMATION_ERRORS if call_automation_api.is_todays_version(request) else SEED_ERRORS
