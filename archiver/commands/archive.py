"""``archive EVENT_FILE``: archive one event now, in-process; a replay leaves an audit record."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from archiver import audit
from archiver.errors import PermanentError, TransientError
from archiver.ingress import ingest
from archiver.jobs import RecordingJob
from archiver.pipeline import summary_line
from archiver.runtime import get_runtime
from archiver.worker import give_up


def run(args: argparse.Namespace) -> int:
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
    calls = sorted({job.recording.call_id for job in jobs})
    audit.record(
        runtime.store,
        operator=audit.operator_name(args.operator),
        action="replay",
        scope=",".join(f"call:{c}" for c in calls) or "event:rejected",
        objects=len(summary["chunks"]),
        outcome={0: "done", 1: "failed", 2: "partial"}[code],
        detail=f"{len(summary['chunks'])} chunks archived, {len(summary['failed'])} failed, "
        f"{len(result.rejected)} rejected",
    )
    print(json.dumps(summary, indent=2, default=str))
    return code
