"""``archive EVENT_FILE``: archive one event now, in-process; a replay leaves an audit record."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from archiver import audit, progress
from archiver.errors import PermanentError, TransientError
from archiver.ingress import ingest
from archiver.jobs import RecordingJob
from archiver.pipeline import summary_line
from archiver.runtime import Runtime, get_runtime
from archiver.worker import give_up


def _archive_job(runtime: Runtime, job: RecordingJob, summary: dict[str, Any]) -> int:
    """Archive one chunk, with a progress bar of its media on a terminal; 0, 1 or 2 as ``run``."""
    label = f"chunk {job.chunk.index} of call {job.recording.call_id[:16]}"
    shown = progress.wanted()
    with progress.bar(label, total=None, enabled=shown) as bar:
        runtime.source.on_media = bar.update if shown else None
        try:
            result = runtime.archiver.archive(job)
        except PermanentError as exc:
            give_up(runtime.store, job, exc, exc.reason)
            summary["failed"].append({**job.log_fields(), "reason": exc.reason, "message": str(exc)})
            return 1
        except TransientError as exc:
            summary["failed"].append(
                {**job.log_fields(), "reason": exc.reason, "message": str(exc), "retry": True}
            )
            return 2
        finally:
            runtime.source.on_media = None
    summary["chunks"].append(summary_line(result, runtime.store.archive_container))
    return 0


def run(args: argparse.Namespace) -> int:
    runtime = get_runtime()
    payload = Path(args.event_file).read_bytes()
    jobs: list[RecordingJob] = []
    result = ingest(payload, runtime.settings, runtime.store, jobs.append)
    summary: dict[str, Any] = {"rejected": result.rejected, "chunks": [], "failed": []}
    code = 1 if result.rejected else 0
    for job in jobs:
        code = max(code, _archive_job(runtime, job, summary))
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
