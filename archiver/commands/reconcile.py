"""``reconcile [--hours N] [--json]``: every recording ACS reports must be in the archive.

Exit 0 when every recording ACS logged (past the grace period) is archived whole; 1 when any
is missing or incomplete (each listed with its call id, age and why); 2 when the query failed
(run again); 3 when reconciliation is not configured or the identity may not read the logs.
"""

from __future__ import annotations

import argparse
import json
import sys

from archiver.commands.tables import format_table
from archiver.errors import ConfigurationError, TransientError
from archiver.reconcile import ReconcileReport, reconcile
from archiver.runtime import get_runtime


def format_report(report: ReconcileReport) -> str:
    counts = report.counts()
    head = (
        f"ACS logged {len(report.findings)} recordings in the last {report.hours:g} hours: "
        + ", ".join(f"{n} {status}" for status, n in counts.items())
        + f" (grace {report.grace_minutes:g} min)"
    )
    if not report.problems:
        return head + "\nevery recording ACS reports is in the archive"
    rows = [("status", "call id", "recording", "chunks (ACS/archive)", "age", "why")]
    for finding in report.problems:
        recording = finding.recording
        rows.append(
            (
                finding.status.upper(),
                recording.call_id,
                recording.key,
                f"{recording.chunk_count}/{finding.archived_chunks}",
                f"{finding.age_hours:.1f} h",
                finding.note,
            )
        )
    return f"{head}\n\n{format_table(rows)}"


def _as_json(report: ReconcileReport) -> str:
    findings = [
        {
            "status": f.status,
            "callId": f.recording.call_id,
            "recordingId": f.recording.recording_id,
            "recordingKey": f.recording.key,
            "chunkCount": f.recording.chunk_count,
            "archivedChunks": f.archived_chunks,
            "folder": f.folder,
            "loggedAt": f.recording.logged_at.isoformat(),
            "ageHours": round(f.age_hours, 2),
            "note": f.note,
        }
        for f in report.findings
    ]
    return json.dumps({"hours": report.hours, "counts": report.counts(), "findings": findings}, indent=2)


def run(args: argparse.Namespace) -> int:
    runtime = get_runtime()
    try:
        report = reconcile(runtime.settings, runtime.store, hours=args.hours)
    except ConfigurationError:
        raise  # exit 3, with the message naming what to fix
    except TransientError as exc:
        print(f"error: {exc} (run again)", file=sys.stderr)
        return 2
    print(_as_json(report) if args.json else format_report(report))
    return 1 if report.problems else 0
