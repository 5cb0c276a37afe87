"""``participants find|export|erase``: a data-subject request, answered exactly.

Exports and erasures leave an audit record naming the person by digest only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from archiver import audit, layout, participants, progress
from archiver.commands.tables import format_table
from archiver.participants import RecordingErasure
from archiver.records import IndexEntry
from archiver.runtime import get_runtime
from archiver.store import ArchiveStore


def format_index_table(entries: list[IndexEntry]) -> str:
    if not entries:
        return "no recordings found"
    rows = [("start", "call", "chunk", "channel", "duration", "bytes", "media blob")]
    for e in entries:
        start = e.start_time.isoformat()[:19] if e.start_time else ""
        channel = "mixed" if e.channel is None else str(e.channel)
        seconds = f"{(e.duration_ms or 0) / 1000:.1f}s"
        rows.append((start, e.call_id, str(e.chunk_index), channel, seconds, str(e.media.size), e.media.blob))
    return format_table(rows)


def find(args: argparse.Namespace) -> int:
    entries = participants.find(get_runtime().store, args.participant_id)
    if args.json:
        print(json.dumps([e.model_dump(mode="json", by_alias=True) for e in entries], indent=2))
    else:
        print(format_index_table(entries))
    return 0


def _export_with_progress(store: ArchiveStore, participant_id: str, destination: Path) -> list[Path]:
    """Every file of the export; on a terminal, a bar of the bytes read (its total is the media's
    size from the index entries: the small metadata files are not in it)."""
    if not progress.wanted():
        return list(participants.export(store, participant_id, destination))
    total = sum(entry.media.size for entry in participants.find(store, participant_id))
    with progress.reading(store, "export", total=total, enabled=True):
        return list(participants.export(store, participant_id, destination))


def export(args: argparse.Namespace) -> int:
    store = get_runtime().store
    written = _export_with_progress(store, args.participant_id, Path(args.to))
    audit.record(
        store,
        operator=audit.operator_name(args.operator),
        action="export",
        scope=f"participant:{layout.participant_digest(args.participant_id)}",
        objects=len(written),
        outcome="done",
    )
    print(f"exported {len(written)} files to {args.to}")
    return 0


def _describe(plan: RecordingErasure, dry_run: bool) -> list[str]:
    if plan.erasable:
        verb = "would erase" if dry_run else "erased"
        return [
            f"{verb}: {plan.folder} ({len(plan.archived)} archived objects, {len(plan.index)} index entries)"
        ]
    return [f"LEFT WHOLE: {plan.folder}", *(f"  {reason}" for reason in plan.blocked)]


def erase(args: argparse.Namespace) -> int:
    runtime = get_runtime()
    store = runtime.store
    dry_run = not args.yes
    retention_days = runtime.settings.archive_retention_days
    plans = participants.erase(store, args.participant_id, dry_run=dry_run, retention_days=retention_days)
    left = [p for p in plans if not p.erasable]
    for plan in plans:
        print("\n".join(_describe(plan, dry_run)))
    done = [p for p in plans if p.erasable]
    objects = sum(len(p.archived) + len(p.index) for p in done)
    if not plans:
        print("nothing to erase")
    elif dry_run:
        print(f"dry run: {objects} blobs in {len(done)} recordings would be deleted; add --yes to delete")
    else:
        print(f"{objects} blobs in {len(done)} recordings deleted; {len(left)} recordings left whole")
    audit.record(
        store,
        operator=audit.operator_name(args.operator),
        action="erase",
        scope=f"participant:{layout.participant_digest(args.participant_id)}",
        objects=0 if dry_run else objects,
        outcome="dry_run" if dry_run else ("partial" if left else "done"),
        detail=f"{len(done)} recordings erasable, {len(left)} held or retained",
    )
    return 1 if left else 0
