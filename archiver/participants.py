"""The participant index: find, export or erase every recording a person took part in.

Entries live under ``participant-index/{sha256(participantId)}/...``: the digest keeps raw
identities out of blob names and listings, and the raw id is kept inside each entry so a
data-subject request can be answered exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from archiver import layout
from archiver.metadata import parse_metadata
from archiver.records import IndexEntry
from archiver.store import ArchiveStore


def find(store: ArchiveStore, participant_id: str) -> list[IndexEntry]:
    """Index entries for ``participant_id`` whose chunk is committed, oldest first."""
    wanted = participant_id.strip()
    entries = [
        entry
        for _, entry in store.index_entries(layout.participant_digest(participant_id))
        if entry.participant_id == wanted and store.archived_exists(entry.chunk_manifest)
    ]
    return sorted(entries, key=lambda e: (e.start_time.isoformat() if e.start_time else "", e.chunk_index))


def export(store: ArchiveStore, participant_id: str, destination: Path) -> Iterator[Path]:
    """Copy every recording chunk (media + metadata) the person is in to ``destination``."""
    entries = find(store, participant_id)
    for entry in entries:
        for name in (entry.media.blob, entry.metadata_blob):
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as handle:
                store.download_archived(name, handle)
            yield target
    index = [entry.model_dump(mode="json", by_alias=True) for entry in entries]
    (destination / "index.json").write_text(json.dumps(index, indent=2))


def _index_names_for_chunk(store: ArchiveStore, metadata_name: str) -> list[str]:
    """Index entries of everyone in the chunk, from its archived metadata (no dangling entry)."""
    raw = store.read_archived(metadata_name)
    metadata = parse_metadata(raw, max_bytes=max(len(raw), 1))
    stem = metadata_name.removesuffix(".metadata.json")
    return [f"{layout.participant_digest(p.participant_id)}/{stem}.json" for p in metadata.participants]


def erase(store: ArchiveStore, participant_id: str, *, dry_run: bool = True) -> list[str]:
    """Delete every recording the person is in, with all index entries that point at them.

    A person's voice cannot be cut out of a mixed recording, so erasure works per recording:
    its media, metadata and manifests, and the index entries of everyone in it (read from the
    archived metadata). Returns the blob names (``container/name``) deleted, or that would be
    with ``dry_run``. With blob soft delete or versioning on (the deployed default), deleted
    data stays recoverable for that retention period; purge it there if the request requires it.
    """
    digest = layout.participant_digest(participant_id)
    own = store.index_entries(digest)
    folders = sorted({entry.recording_manifest.rsplit("/", 1)[0] for _, entry in own})
    archived: list[str] = []
    index: list[str] = []
    for folder in folders:
        names = store.archived_names(folder + "/")
        for name in names:
            if name.endswith(".metadata.json"):
                index.extend(_index_names_for_chunk(store, name))
        archived.extend(names)
    index.extend(store.index_entry_names(digest))
    archived, index = list(dict.fromkeys(archived)), list(dict.fromkeys(index))
    if not dry_run:
        for name in index:
            store.delete_index_entry(name)
        for name in archived:
            store.delete_archived(name)
    return [f"{store.index_container}/{n}" for n in index] + [
        f"{store.archive_container}/{n}" for n in archived
    ]
