"""The participant index: find, export or erase every recording a person took part in.

Entries live under ``participant-index/{sha256(participantId)}/...``: the digest keeps raw
identities out of blob names and listings, and the raw id is kept inside each entry so a
data-subject request can be answered exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

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


def erase(store: ArchiveStore, participant_id: str, *, dry_run: bool = True) -> list[str]:
    """Delete every recording the person is in, with all index entries that point at them.

    A person's voice cannot be cut out of a mixed recording, so erasure works per recording:
    its media, metadata and manifests, and the index entries of everyone in it (read from the
    archived metadata, so no other person keeps a dangling entry). Returns the blob names
    (``container/name``) deleted, or that would be with ``dry_run``. With blob soft delete or
    versioning on (the deployed default), deleted data stays recoverable for that retention
    period; purge it there if the request requires it.
    """
    digest = layout.participant_digest(participant_id)
    own_entries = [
        e for e in (store.read_json(store.index, n) for n in store.names(store.index, digest + "/")) if e
    ]
    folders = sorted({entry["recordingManifest"].rsplit("/", 1)[0] for entry in own_entries})
    doomed: list[tuple[Any, str]] = []
    for folder in folders:
        archived = list(store.names(store.archive, folder + "/"))
        for name in archived:
            if name.endswith(".metadata.json"):
                raw = store.archive.download_blob(name).readall()
                people = json.loads(raw).get("participants") or []
                stem = name.removesuffix(".metadata.json")
                for person in people:
                    if isinstance(person, dict) and isinstance(person.get("participantId"), str):
                        key = layout.participant_digest(person["participantId"])
                        doomed.append((store.index, f"{key}/{stem}.json"))
        doomed.extend((store.archive, name) for name in archived)
    doomed.extend((store.index, n) for n in store.names(store.index, digest + "/"))
    unique = list(dict.fromkeys((container.container_name, name) for container, name in doomed))
    containers = {store.index.container_name: store.index, store.archive.container_name: store.archive}
    if not dry_run:
        for container_name, name in unique:
            with suppress(ResourceNotFoundError):
                containers[container_name].delete_blob(name, delete_snapshots="include")
    return [f"{container}/{name}" for container, name in unique]
