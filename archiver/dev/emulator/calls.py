"""The calls a recording can be started on, and who is in them.

The emulator has no calls of its own, so a call is whatever a start request names: the seed
API's ``conversationId``, or today's call locator (``serverCallId``, ``groupCallId``, a room's
``roomId``) or ``callConnectionId``. Each call gets the ids the service would report for it:

- ``call_id``: the GUID the metadata calls ``callId``, the event's subject names after
  ``/recording/call/`` and the state callbacks call ``correlationId``;
- ``server_call_id``: the ``serverCallId`` of the event's subject and of the callbacks;
- ``call_connection_id``: the ``callConnectionId`` of the callbacks.

Unless a test registered the call first (``POST /_emulator/calls``), ids that are not given are
derived from the locator, stable across requests and restarts, and the participants are two
defaults. The seed API's values stay exactly what they were (callId = the conversation id).
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from archiver.dev.emulator.errors import bad_request
from archiver.dev.emulator.events import server_call_id

DEFAULT_PARTICIPANTS = (
    "8:acs:00000000-0000-0000-0000-000000000000_00000021-0000-0000-0000-000000000001",
    "4:+14255550100",
)
# The locator kinds of today's API (CallLocatorKind) and the field each one carries.
LOCATOR_FIELDS = {
    "serverCallLocator": "serverCallId",
    "groupCallLocator": "groupCallId",
    "roomCallLocator": "roomId",
}
CALL_CONNECTION = "callConnectionId"
MAX_ID_LENGTH = 4096
MAX_PARTICIPANTS = 64
_CALL_CONNECTION_NAMESPACE = uuid.UUID("6f7c2a5e-2d55-4a56-9a3e-4c1f0d9a8b21")
_CALL_ID_NAMESPACE = uuid.UUID("0b9f4c3e-52a1-4c8e-9d17-3e6a5f2b8c40")
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class CallKey:
    """How a request names a call: the locator's field (or ``callConnectionId``) and its value."""

    field: str
    value: str


@dataclass(frozen=True)
class CallInfo:
    call_id: str
    server_call_id: str
    call_connection_id: str
    participants: tuple[str, ...]


def call_connection_id(name: str) -> str:
    """A stable GUID standing in for a call connection the request did not name."""
    return str(uuid.uuid5(_CALL_CONNECTION_NAMESPACE, name))


def seed_call(conversation_id: str, participants: tuple[str, ...]) -> CallInfo:
    """The seed API's call: its conversation id is the call id, as it always was here."""
    return CallInfo(
        call_id=conversation_id,
        server_call_id=server_call_id(conversation_id),
        call_connection_id=call_connection_id(conversation_id),
        participants=participants,
    )


def derived_call(key: CallKey, participants: tuple[str, ...] = DEFAULT_PARTICIPANTS) -> CallInfo:
    """The ids of a call nobody registered, derived from how the request named it."""
    name = f"{key.field}:{key.value}"
    is_guid = key.field == "groupCallId" and _GUID.fullmatch(key.value)
    return CallInfo(
        # A group call's id is a GUID the archiver can use as the call id as it is.
        call_id=key.value.lower() if is_guid else str(uuid.uuid5(_CALL_ID_NAMESPACE, name)),
        server_call_id=key.value if key.field == "serverCallId" else server_call_id(name),
        call_connection_id=key.value if key.field == CALL_CONNECTION else call_connection_id(name),
        participants=participants,
    )


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_LENGTH:
        raise bad_request(f"{field} must be a non-empty string of at most {MAX_ID_LENGTH} characters", field)
    return value


def locator_key(locator: object) -> CallKey:
    """The call named by a ``CallLocator`` object (``kind`` and the one matching id field)."""
    if not isinstance(locator, dict):
        raise bad_request("callLocator must be an object", "callLocator")
    kind = locator.get("kind")
    present = [field for field in LOCATOR_FIELDS.values() if locator.get(field) is not None]
    if kind is not None:
        field = next(
            (f for k, f in LOCATOR_FIELDS.items() if isinstance(kind, str) and k.lower() == kind.lower()),
            None,
        )
        if field is None:
            raise bad_request(
                f"callLocator.kind must be one of {', '.join(LOCATOR_FIELDS)}", "callLocator.kind"
            )
        if present not in ([], [field]):
            raise bad_request(f"a {kind} names the call by {field} only", "callLocator")
        return CallKey(field, _text(locator.get(field), f"callLocator.{field}"))
    if len(present) != 1:
        raise bad_request(
            "callLocator must name the call by exactly one of serverCallId, groupCallId or roomId",
            "callLocator",
        )
    return CallKey(present[0], _text(locator[present[0]], f"callLocator.{present[0]}"))


def start_key(body: dict[str, Any]) -> CallKey:
    """The call a start request names: ``callLocator`` or ``callConnectionId``, exactly one."""
    locator, connection = body.get("callLocator"), body.get(CALL_CONNECTION)
    if (locator is None) == (connection is None):
        raise bad_request("give exactly one of callLocator or callConnectionId", "callLocator")
    if connection is not None:
        return CallKey(CALL_CONNECTION, _text(connection, CALL_CONNECTION))
    return locator_key(locator)


def participant_list(value: object, field: str = "participants") -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= MAX_PARTICIPANTS
        or not all(isinstance(p, str) and p for p in value)
        or len(set(value)) != len(value)
    ):
        raise bad_request(
            f"{field} must be a list of 1 to {MAX_PARTICIPANTS} distinct raw identifiers", field
        )
    return tuple(value)


class CallRegistry:
    """Calls registered through the admin API, with their ids and participants."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[CallKey, CallInfo] = {}

    def register(self, key: CallKey, call: CallInfo) -> None:
        with self._lock:
            self._calls[key] = call

    def find(self, key: CallKey) -> CallInfo:
        """The registered call, or one with derived ids and the default participants."""
        with self._lock:
            found = self._calls.get(key)
        return found or derived_call(key)


def registration(body: dict[str, Any]) -> tuple[CallKey, CallInfo]:
    """Parse ``POST /_emulator/calls``: the field naming the call, its participants, its callId."""
    names = (*LOCATOR_FIELDS.values(), CALL_CONNECTION)
    fields = [f for f in names if body.get(f) is not None]
    if len(fields) != 1:
        raise bad_request(f"name the call by exactly one of {', '.join(names)}", "serverCallId")
    key = CallKey(fields[0], _text(body[fields[0]], fields[0]))
    derived = derived_call(key, participant_list(body.get("participants")))
    call_id = body.get("callId", derived.call_id)
    if not isinstance(call_id, str) or not _GUID.fullmatch(call_id):
        raise bad_request("callId must be a GUID", "callId")
    return key, CallInfo(
        call_id=call_id.lower(),
        server_call_id=derived.server_call_id,
        call_connection_id=derived.call_connection_id,
        participants=derived.participants,
    )
