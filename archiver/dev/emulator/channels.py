"""Who is recorded on which channel of an unmixed recording.

Today's start request shapes the channel layout with two optional lists (REST spec
``StartCallRecordingRequest``, SDK ``audio_channel_participant_ordering`` / ``channel_affinity``):

- ``audioChannelParticipantOrdering``: ``CommunicationIdentifierModel``s; channels are handed out
  in this order first, then to the rest of the call in order;
- ``channelAffinity``: ``{"channel": 0..4, "participant": CommunicationIdentifierModel}``; that
  participant gets exactly that channel.

Participants are read by ``rawId`` (the SDK always sends it), else from the kind-specific field.
A participant named in either list who is not in the call is added to it (the emulator's calls
are whatever the test says they are). Without either list the layout is the seed's: the
``i``-th participant on channel ``min(i, 4)``. Both lists only make sense for unmixed audio, so
a non-empty one on a mixed recording is a 400 (the SDK sends ``channelAffinity: []`` always).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archiver.dev.emulator.errors import bad_request
from archiver.dev.emulator.formats import MAX_UNMIXED_CHANNELS

ORDERING = "audioChannelParticipantOrdering"
AFFINITY = "channelAffinity"
MAX_CHANNEL = MAX_UNMIXED_CHANNELS - 1
# CommunicationIdentifierModel's kind-specific fields and the raw id prefix each one implies
# (the SDK's identifier models: PHONE_NUMBER_PREFIX "4:", TEAMS_USER_PUBLIC_CLOUD_PREFIX "8:orgid:").
_RAW_PREFIXES = {"phoneNumber": ("value", "4:"), "microsoftTeamsUser": ("userId", "8:orgid:")}


@dataclass(frozen=True)
class Layout:
    """The recording's participants in channel order, and each one's channel (unmixed only)."""

    participants: tuple[str, ...]
    channels: tuple[int, ...]


def default_channels(count: int) -> tuple[int, ...]:
    """The seed's layout: one channel each, later participants sharing the last one."""
    return tuple(min(i, MAX_CHANNEL) for i in range(count))


def raw_id(model: object, field: str) -> str:
    """The raw id of a ``CommunicationIdentifierModel``, or a 400 naming ``field``."""
    if isinstance(model, dict):
        raw = model.get("rawId")
        if isinstance(raw, str) and raw:
            return raw
        user = model.get("communicationUser")
        if isinstance(user, dict) and isinstance(user.get("id"), str) and user["id"]:
            return str(user["id"])
        for kind, (key, prefix) in _RAW_PREFIXES.items():
            value = model.get(kind)
            if isinstance(value, dict) and isinstance(value.get(key), str) and value[key]:
                return prefix + str(value[key])
    raise bad_request(f"{field} must be a CommunicationIdentifierModel with a rawId", field)


def _ordering(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(f"{ORDERING} must be a list of identifiers", ORDERING)
    ordered = [raw_id(item, f"{ORDERING}[{i}]") for i, item in enumerate(value)]
    if len(set(ordered)) != len(ordered):
        raise bad_request(f"{ORDERING} names a participant twice", ORDERING)
    return ordered


def _affinity(value: object) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise bad_request(f"{AFFINITY} must be a list of {{channel, participant}}", AFFINITY)
    fixed: dict[str, int] = {}
    for i, item in enumerate(value):
        where = f"{AFFINITY}[{i}]"
        channel = item.get("channel") if isinstance(item, dict) else None
        if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel <= MAX_CHANNEL:
            raise bad_request(f"{where}.channel must be an integer from 0 to {MAX_CHANNEL}", where)
        participant = raw_id(item.get("participant"), f"{where}.participant")
        if participant in fixed or channel in fixed.values():
            raise bad_request(f"{AFFINITY} gives a participant or a channel twice", where)
        fixed[participant] = channel
    return fixed


def layout(body: dict[str, Any], call_participants: tuple[str, ...], *, unmixed: bool) -> Layout:
    """The participants and channels for a start request on a call with ``call_participants``."""
    ordered, fixed = _ordering(body.get(ORDERING)), _affinity(body.get(AFFINITY))
    if not unmixed:
        if ordered or fixed:
            field = ORDERING if ordered else AFFINITY
            raise bad_request(f"{field} applies to unmixed audio only (recordingChannelType unmixed)", field)
        return Layout(call_participants, ())
    people = list(dict.fromkeys([*ordered, *call_participants, *fixed]))
    free = [c for c in range(MAX_UNMIXED_CHANNELS) if c not in fixed.values()]
    channels: list[int] = []
    for person in people:
        if person in fixed:
            channels.append(fixed[person])
        else:
            channels.append(free.pop(0) if len(free) > 1 else (free[0] if free else MAX_CHANNEL))
    return Layout(tuple(people), tuple(channels))
