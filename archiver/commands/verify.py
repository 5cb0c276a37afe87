"""``verify [--since DATE] [--deep] [--json]``: prove the archive still holds what it was given.

Exit 0 only if intact; 1 with every problem named (blob, expected, found).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import date, timedelta

from archiver import audit, fixity, layout, progress
from archiver.commands.audit_log import parse_since
from archiver.commands.tables import format_table
from archiver.fixity import COUNT_LABELS, FixityReport
from archiver.runtime import get_runtime
from archiver.store import ArchiveStore, now_utc


def format_report(report: FixityReport) -> str:
    scope = f"recordings filed since {report.since:%Y-%m-%d}" if report.since else "every recording"
    mode = (
        "deep: sizes, Content-MD5 and SHA-256 re-hashed" if report.deep else "shallow: sizes and Content-MD5"
    )
    lines = [f"fixity check of {scope} ({mode})", ""]
    summary = report.summary()
    rows = [("", "count")] + [(COUNT_LABELS[key], str(value)) for key, value in summary.items()]
    lines.append(format_table(rows))
    lines.append("")
    if report.intact:
        lines.append("INTACT: every committed chunk is present and matches its manifest")
        return "\n".join(lines)
    lines.append(f"NOT INTACT: {len(report.problems)} problems")
    problem_rows = [("problem", "blob", "expected", "found")]
    problem_rows += [(p.kind, p.blob, p.expected, p.found) for p in report.problems]
    lines.append(format_table(problem_rows))
    return "\n".join(lines)


def deep_check_bytes(store: ArchiveStore, since: date | None) -> int:
    """What ``--deep`` will re-read: media and metadata outside the Archive tier (for its ETA)."""
    prefixes = [""] if since is None else layout.day_prefixes(since, now_utc().date() + timedelta(days=1))
    return sum(
        blob.size
        for prefix in prefixes
        for blob in store.archived_blobs(prefix)
        if layout.recording_folder_of(blob.name)
        and not blob.name.endswith("manifest.json")
        and not blob.archived_tier
    )


def run(args: argparse.Namespace) -> int:
    runtime = get_runtime()
    since = parse_since(args.since)
    day = since.date() if since else None
    shown = args.deep and progress.wanted(json_output=args.json)
    total = deep_check_bytes(runtime.store, day) if shown else None
    with progress.reading(runtime.store, "re-hashing", total=total, enabled=shown):
        report = fixity.verify(runtime.settings, runtime.store, since=day, deep=args.deep)
    fixity.record_result(runtime.store, report, audit.operator_name(args.operator))
    if args.json:
        document = {
            "intact": report.intact,
            "deep": report.deep,
            "since": report.since.isoformat() if report.since else None,
            "counts": report.summary(),
            "problems": [asdict(problem) for problem in report.problems],
        }
        print(json.dumps(document, indent=2))
    else:
        print(format_report(report))
    return 0 if report.intact else 1
