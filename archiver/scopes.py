"""Which recordings an operator means: every recording of a call, or of a person.

A recording is its folder in the archive container (``{date}/{callId}/{time}Z-{key}``); holds,
exports and erasures act on whole recordings, because a person's voice cannot be cut out of a
mixed recording.
"""

from __future__ import annotations

from dataclasses import dataclass

from archiver import layout
from archiver.store import ArchiveStore


@dataclass(frozen=True)
class Scope:
    """What the operator named, in the form the audit trail may keep (no raw identity)."""

    label: str  # "call:<id>" or "participant:<sha256 digest>"
    folders: list[str]


def for_participant(store: ArchiveStore, participant_id: str) -> Scope:
    digest = layout.participant_digest(participant_id)
    entries = store.index_entries(digest)
    folders = sorted({entry.recording_manifest.rsplit("/", 1)[0] for _, entry in entries})
    return Scope(f"participant:{digest}", folders)


def for_call(store: ArchiveStore, call_id: str) -> Scope:
    """Every recording of ``call_id`` (a listing of the archive: holds and erasures are rare)."""
    segment = layout.name_segment(call_id)  # the call's folder name, encoded if the id is odd
    folders = {
        layout.recording_folder_of(name)
        for name in store.archived_names("")
        if name.split("/")[3:4] == [segment]
    }
    return Scope(f"call:{call_id}", sorted(f for f in folders if f))
