"""Operator commands: archive an event by hand, query the participant index, redrive.

Only what a deployment needs; the developer commands (demo, emulator, bench) are
``python -m archiver.dev``, which is not deployed.

Exit codes: 0 everything archived; 1 something was rejected or failed permanently (kept in
storage with its reason); 2 something failed transiently (run again); 3 bad settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archiver.settings import SettingsError

if TYPE_CHECKING:
    from archiver.records import IndexEntry


def _archive(args: argparse.Namespace) -> int:
    from archiver.errors import PermanentError, TransientError
    from archiver.ingress import ingest
    from archiver.jobs import RecordingJob
    from archiver.pipeline import summary_line
    from archiver.runtime import get_runtime
    from archiver.worker import give_up

    runtime = get_runtime()
    payload = Path(args.event_file).read_bytes()
    jobs: list[RecordingJob] = []
    result = ingest(payload, runtime.settings, runtime.store, jobs.append)
    summary: dict[str, Any] = {"rejected": result.rejected, "chunks": [], "failed": []}
    code = 1 if result.rejected else 0
    container = runtime.store.archive_container
    for job in jobs:
        try:
            summary["chunks"].append(summary_line(runtime.archiver.archive(job), container))
        except PermanentError as exc:
            give_up(runtime.store, job, exc, exc.reason)
            summary["failed"].append({**job.log_fields(), "reason": exc.reason, "message": str(exc)})
            code = max(code, 1)
        except TransientError as exc:
            summary["failed"].append(
                {**job.log_fields(), "reason": exc.reason, "message": str(exc), "retry": True}
            )
            code = 2
    print(json.dumps(summary, indent=2, default=str))
    return code


def _participants(args: argparse.Namespace) -> int:
    from archiver import participants
    from archiver.runtime import get_runtime

    store = get_runtime().store
    if args.action == "find":
        entries = participants.find(store, args.participant_id)
        if args.json:
            print(json.dumps([e.model_dump(mode="json", by_alias=True) for e in entries], indent=2))
        else:
            print(format_index_table(entries))
        return 0
    if args.action == "erase":
        deleted = participants.erase(store, args.participant_id, dry_run=not args.yes)
        print("\n".join(deleted) or "nothing to erase")
        verb = "deleted" if args.yes else "would be deleted (dry run: add --yes to delete)"
        print(f"{len(deleted)} blobs {verb}")
        return 0
    written = list(participants.export(store, args.participant_id, Path(args.to)))
    print(f"exported {len(written)} files to {args.to}")
    return 0


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


def format_table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _redrive(args: argparse.Namespace) -> int:
    from archiver.redrive import redrive
    from archiver.runtime import get_runtime

    runtime = get_runtime()
    report = redrive(runtime.settings, runtime.store, runtime.queue)
    print(json.dumps(report.__dict__))
    return 1 if report.lost else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m archiver", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    archive = commands.add_parser(
        "archive", help="archive one event file now (Event Grid or CloudEvents JSON)"
    )
    archive.add_argument("event_file")
    archive.set_defaults(run=_archive)
    people = commands.add_parser("participants", help="query the participant index")
    people_actions = people.add_subparsers(dest="action", required=True)
    find = people_actions.add_parser("find", help="list every recording a participant is in")
    find.add_argument("participant_id", help="e.g. 8:acs:... or 4:+14255550123")
    find.add_argument("--json", action="store_true", help="print the index entries as JSON")
    export = people_actions.add_parser("export", help="download every recording a participant is in")
    export.add_argument("participant_id")
    export.add_argument("--to", required=True, help="destination directory")
    erase = people_actions.add_parser(
        "erase", help="delete every recording a participant is in, and its index entries (dry run by default)"
    )
    erase.add_argument("participant_id")
    erase.add_argument("--yes", action="store_true", help="really delete")
    people.set_defaults(run=_participants)
    redrive = commands.add_parser("redrive", help="re-queue poisoned jobs whose source still exists")
    redrive.set_defaults(run=_redrive)
    return parser


DEV_COMMANDS = ("demo", "emulator", "bench")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in DEV_COMMANDS:
        print(
            f"error: {argv[0]!r} is a developer command, not part of a deployment: "
            f"run `python -m archiver.dev {' '.join(argv)}` from a checkout of the repository",
            file=sys.stderr,
        )
        return 2
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
