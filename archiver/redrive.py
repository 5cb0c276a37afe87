"""Timer job: put poisoned jobs back while their source still exists; record the rest as lost.

The Functions host moves a message to ``recording-jobs-poison`` after ``maxDequeueCount``
failed attempts (unexpected errors only: known transient ones are re-queued by the worker).
Poison is not the end while the recording is still in ACS's temporary storage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import ValidationError

from archiver import logs
from archiver.errors import RecordingLost
from archiver.jobqueue import JobQueue
from archiver.jobs import RecordingJob
from archiver.settings import Settings
from archiver.store import ArchiveStore
from archiver.worker import give_up, report_margin

log = logging.getLogger("archiver.redrive")


@dataclass
class RedriveReport:
    requeued: int = 0
    lost: int = 0
    invalid: int = 0


def redrive(settings: Settings, store: ArchiveStore, queue: JobQueue) -> RedriveReport:
    report = RedriveReport()
    for message in queue.poisoned():
        try:
            job = RecordingJob.from_message(message.content)
        except ValidationError as exc:
            store.keep_rejected(str(message.content).encode(), reason="invalid_job", message=str(exc))
            report.invalid += 1
        else:
            if job.margin_seconds() <= 0:
                give_up(
                    store,
                    job,
                    RecordingLost("retention window closed while the job was poisoned"),
                    "recording_lost",
                )
                report.lost += 1
            else:
                queue.put(job.model_copy(update={"attempt": job.attempt + 1}))
                report_margin(settings, job)
                report.requeued += 1
        queue.poison.delete_message(message)
    if report.requeued or report.lost or report.invalid:
        logs.emit(
            log,
            logging.WARNING,
            logs.RETRY,
            "poison queue redriven",
            requeued=report.requeued,
            lost=report.lost,
            invalid=report.invalid,
        )
    return report
