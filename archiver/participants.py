"""The participant index: find, export or erase every recording a person took part in.

Entries live under ``participant-index/{sha256(participantId)}/...``: the digest keeps raw
identities out of blob names and listings, and the raw id is kept inside each entry so a
data-subject request can be answered exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from azure.core.exceptions import HttpResponseError

from archiver import layout, scopes
from archiver.metadata import parse_metadata
from archiver.records import IndexEntry
from archiver.store import ArchiveStore, now_utc


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


@dataclass
class RecordingErasure:
    """One recording: erased whole, or left whole with every reason it could not be erased."""

    folder: str
    archived: list[str] = field(default_factory=list)
    index: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    @property
    def erasable(self) -> bool:
        return not self.blocked


@dataclass(frozen=True)
class ContainerRetention:
    """The archive container's time-based policy: whether there is one, and its length if known."""

    active: bool
    days: int | None = None


def _container_blocker(blob: str, retention: ContainerRetention, created: datetime | None) -> list[str]:
    if not retention.active:
        return []
    if retention.days is None or created is None:
        return [f"{blob}: the archive container's time-based retention policy protects it"]
    until = created + timedelta(days=retention.days)
    if until <= now_utc():
        return []  # expired: Azure allows the delete (never an overwrite)
    return [f"{blob}: retained until {until.isoformat()} (container policy, {retention.days} days)"]


def _blockers(store: ArchiveStore, blob: str, retention: ContainerRetention) -> list[str]:
    """Why ``blob`` cannot be deleted now: cases holding it, retention still running."""
    reasons = [f"{blob}: held for case {record.case}" for record in store.holds_on(blob)]
    protection = store.protection(blob)
    if protection.legal_hold and not reasons:
        reasons.append(f"{blob}: under a legal hold placed outside this tool")
    if protection.retained_until is not None and protection.retained_until > now_utc():
        reasons.append(f"{blob}: retained until {protection.retained_until.isoformat()}")
    return reasons + _container_blocker(blob, retention, protection.created)


def plan_erasure(
    store: ArchiveStore, participant_id: str, *, retention_days: int | None = None
) -> list[RecordingErasure]:
    """What erasing a person would delete, recording by recording, and what stands in the way."""
    scope = scopes.for_participant(store, participant_id)
    retention = ContainerRetention(store.container_retention(), retention_days)
    plans = []
    for folder in scope.folders:
        plan = RecordingErasure(folder, archived=store.archived_names(folder + "/"))
        for name in plan.archived:
            if name.endswith(".metadata.json"):
                plan.index.extend(_index_names_for_chunk(store, name))
            plan.blocked.extend(_blockers(store, name, retention))
        plans.append(plan)
    digest = layout.participant_digest(participant_id)
    leftovers = [n for n in store.index_entry_names(digest) if not any(n in p.index for p in plans)]
    if leftovers:  # entries whose recording is already gone: nothing protects them
        plans.append(RecordingErasure("(index entries without a recording)", index=leftovers))
    return plans


def erase(
    store: ArchiveStore, participant_id: str, *, dry_run: bool = True, retention_days: int | None = None
) -> list[RecordingErasure]:
    """Delete every recording the person is in, whole, with all index entries pointing at them.

    A person's voice cannot be cut out of a mixed recording, so erasure works per recording:
    its media, metadata and manifests, and the index entries of everyone in it (read from the
    archived metadata). A recording any part of which is held or retained is left whole and
    reported with why. With blob soft delete or versioning on, deleted data stays recoverable
    for that retention period; purge it there if the request requires it.
    """
    plans = plan_erasure(store, participant_id, retention_days=retention_days)
    if not dry_run:
        for plan in plans:
            if plan.erasable:
                _carry_out(store, plan)
    return plans


def _carry_out(store: ArchiveStore, plan: RecordingErasure) -> None:
    """Archived objects first: if storage refuses one (a hold placed since the plan), stop there."""
    for name in plan.archived:
        try:
            store.delete_archived(name)
        except HttpResponseError as exc:
            plan.blocked.append(
                f"{name}: storage refused the delete ({getattr(exc, 'error_code', exc.status_code)})"
            )
            return
    for name in dict.fromkeys(plan.index):
        store.delete_index_entry(name)
