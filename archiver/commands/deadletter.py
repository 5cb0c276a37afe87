"""``deadletter replay [--dry-run] [--json]``: what the timer does every 15 minutes, by hand.

Exit 0 when every event was queued or already archived (or there was nothing to replay); 1 when
an event was rejected or had expired (each kept with its reason); 2 when storage failed (run
again: a replay is idempotent).
"""

from __future__ import annotations

import argparse
import json

from archiver import audit
from archiver.commands.tables import format_table
from archiver.deadletter import ReplayReport, replay
from archiver.runtime import get_runtime


def _detail(event_reason: str | None, kept: str | None, chunks: int) -> str:
    if event_reason:
        return f"{event_reason}: {kept or '(not kept: dry run)'}"
    return f"{chunks} chunk" + ("" if chunks == 1 else "s")


def format_report(report: ReplayReport) -> str:
    verb = "would be" if report.dry_run else "were"
    rows = [("dead-letter blob", "event", "call", "dead-letter reason", "outcome", "detail")]
    for record in report.records:
        for event in record.events:
            rows.append(
                (
                    record.blob,
                    event.event_id or "",
                    (event.call_id or "")[:40],
                    event.delivery.dead_letter_reason or "",
                    event.outcome,
                    _detail(event.reason, event.kept, len(event.chunks)),
                )
            )
    counts = ", ".join(f"{n} {outcome.replace('_', ' ')}" for outcome, n in report.counts().items())
    lines = [format_table(rows)] if len(rows) > 1 else ["no dead-lettered events"]
    lines.append(f"{len(report.records)} blobs: events {verb} {counts}")
    if report.claimed_elsewhere:
        lines.append(f"{report.claimed_elsewhere} blobs skipped: another replay holds them")
    lines += [f"storage failed, run again: {error}" for error in report.errors]
    return "\n".join(lines)


def replay_command(args: argparse.Namespace) -> int:
    runtime = get_runtime()
    report = replay(runtime.settings, runtime.store, runtime.queue.put, dry_run=args.dry_run)
    if args.json:
        records = [r.model_dump(mode="json", by_alias=True) for r in report.records]
        document = {
            "dryRun": report.dry_run,
            "counts": report.counts(),
            "blobs": records,
            "errors": report.errors,
        }
        print(json.dumps(document, indent=2))
    else:
        print(format_report(report))
    counts = report.counts()
    code = 2 if report.errors else (1 if counts["rejected"] or counts["expired"] else 0)
    if report.records and not report.dry_run:
        audit.record(
            runtime.store,
            operator=audit.operator_name(args.operator),
            action="replay",
            scope="deadletter:" + ",".join(r.blob for r in report.records)[:400],
            objects=sum(len(r.events) for r in report.records),
            outcome={0: "done", 1: "partial", 2: "failed"}[code],
            detail=", ".join(f"{k}={v}" for k, v in counts.items()),
        )
    return code
