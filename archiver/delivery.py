"""What the Event Grid trigger hands us, back into the JSON our event parser reads.

``azure.functions``' Event Grid converter (1.25 and later) returns a ``func.CloudEvent`` when the
subscription delivers the CloudEvents 1.0 schema and a ``func.EventGridEvent`` otherwise. Both
carry the same recording data; both must archive, or be rejected and kept, identically. The
converter has already parsed the event's time (an aware UTC datetime, or a naive one when the
text had no zone, which Event Grid's times always have); an event whose time it cannot parse
never reaches us: the invocation fails, Event Grid retries and then dead-letters it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class CloudEventInput(Protocol):
    """The fields of ``func.CloudEvent`` we read (structural: no import of the library here)."""

    @property
    def specversion(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def time(self) -> datetime | None: ...
    @property
    def id(self) -> str: ...
    @property
    def subject(self) -> str | None: ...
    def get_json(self) -> Any: ...


class EventGridEventInput(Protocol):
    """The fields of ``func.EventGridEvent`` we read."""

    @property
    def id(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def event_time(self) -> datetime | None: ...
    @property
    def data_version(self) -> str: ...
    def get_json(self) -> Any: ...


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def delivered_event_json(event: CloudEventInput | EventGridEventInput) -> bytes:
    """The event in its own schema's JSON, as ``archiver.events`` parses both."""
    if isinstance(event, CloudEventInput):
        document: dict[str, Any] = {
            "specversion": event.specversion,
            "id": event.id,
            "source": event.source,
            "type": event.type,
            "time": _iso(event.time),
            "subject": event.subject,
            "data": event.get_json(),
        }
    else:
        document = {
            "id": event.id,
            "topic": event.topic,
            "subject": event.subject,
            "eventType": event.event_type,
            "eventTime": _iso(event.event_time),
            "data": event.get_json(),
            "dataVersion": event.data_version,
        }
    return json.dumps(document).encode("utf-8")
