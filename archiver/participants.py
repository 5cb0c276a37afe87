"""The participant index: find and export every recording a person took part in.

Entries live under ``participant-index/{sha256(participantId)}/...``: the digest keeps raw
identities out of blob names and listings, and the raw id is kept inside each entry so a
data-subject request can be answered exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from archiver import layout
from archiver.store import ArchiveStore


def find(store: ArchiveStore, participant_id: str) -> list[dict[str, Any]]:
    """Index entries for ``participant_id`` whose chunk is committed, oldest first."""
    prefix = layout.participant_digest(participant_id) + "/"
    entries = []
    for name in store.names(store.index, prefix):
        entry = store.read_json(store.index, name)
        if entry is None or entry.get("participantId") != participant_id.strip():
            continue
        if store.exists(store.archive, entry["chunkManifest"]):
            entries.append(entry)
    return sorted(entries, key=lambda e: (str(e.get("startTime")), e.get("chunkIndex", 0)))


def export(store: ArchiveStore, participant_id: str, destination: Path) -> Iterator[Path]:
    """Copy every recording chunk (media + metadata) the person is in to ``destination``."""
    for entry in find(store, participant_id):
        for name in (entry["media"]["blob"], entry["metadataBlob"]):
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as handle:
                store.archive.download_blob(name).readinto(handle)
            yield target
    (destination / "index.json").write_text(json.dumps(find(store, participant_id), indent=2))
