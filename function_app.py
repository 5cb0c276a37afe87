"""Azure Functions entry points (Python v2 model). Glue only: the work is in ``archiver``.

Importing this module must need no setting and no network: the host imports it to index the
functions. Everything heavier is imported inside the functions, on first invocation.
"""

from __future__ import annotations

import azure.functions as func

JOBS_QUEUE = "recording-jobs"  # == archiver.settings.JOBS_QUEUE (a test keeps them equal)
REDRIVE_SCHEDULE = "0 */5 * * * *"  # every 5 minutes: far inside any retention window
DEADLETTER_SCHEDULE = "0 */15 * * * *"  # every 15 minutes
RECONCILE_SCHEDULE = "0 7 * * * *"  # hourly, at minute 7
INTEGRITY_SCHEDULE = "0 30 3 * * 0"  # weekly, Sunday 03:30 UTC

app = func.FunctionApp()


@app.function_name("ingest_recording_event")
@app.event_grid_trigger(arg_name="event")
def ingest_recording_event(event: func.EventGridEvent) -> None:
    """Validate and enqueue; never copies media (Event Grid waits only 30 s).

    The converter returns ``func.CloudEvent`` for a CloudEvents-schema subscription, whatever
    this annotation says (a ``Union`` here would make the worker refuse to load the function).
    """
    from archiver.delivery import delivered_event_json
    from archiver.ingress import ingest
    from archiver.runtime import get_runtime

    runtime = get_runtime()
    ingest(delivered_event_json(event), runtime.settings, runtime.store, runtime.queue.put)


@app.function_name("archive_recording_chunk")
@app.queue_trigger(arg_name="message", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def archive_recording_chunk(message: func.QueueMessage) -> None:
    """Copy one chunk; unexpected errors raise so the host retries, then poisons."""
    from archiver.runtime import get_runtime
    from archiver.worker import process_message

    runtime = get_runtime()
    process_message(message.get_body(), runtime.settings, runtime.store, runtime.queue, runtime.archiver)


@app.function_name("redrive_failed_jobs")
@app.timer_trigger(arg_name="timer", schedule=REDRIVE_SCHEDULE, run_on_startup=False, use_monitor=True)
def redrive_failed_jobs(timer: func.TimerRequest) -> None:
    """Put poisoned jobs back while their recording still exists; record the lost ones."""
    from archiver.redrive import redrive
    from archiver.runtime import get_runtime

    runtime = get_runtime()
    redrive(runtime.settings, runtime.store, runtime.queue)


@app.function_name("replay_dead_letters")
@app.timer_trigger(arg_name="timer", schedule=DEADLETTER_SCHEDULE, run_on_startup=False, use_monitor=True)
def replay_dead_letters(timer: func.TimerRequest) -> None:
    """Feed events Event Grid dead-lettered through ingress again, before their recording expires."""
    from archiver.deadletter import replay
    from archiver.runtime import get_runtime

    runtime = get_runtime()
    replay(runtime.settings, runtime.store, runtime.queue.put)


@app.function_name("reconcile_with_acs")
@app.timer_trigger(arg_name="timer", schedule=RECONCILE_SCHEDULE, run_on_startup=False, use_monitor=True)
def reconcile_with_acs(timer: func.TimerRequest) -> None:
    """Log ARCHIVER_MISSING for each recording ACS reports that the archive lacks."""
    from archiver.reconcile import reconcile_if_configured
    from archiver.runtime import get_runtime

    runtime = get_runtime()
    reconcile_if_configured(runtime.settings, runtime.store)


@app.function_name("verify_archive_integrity")
@app.timer_trigger(arg_name="timer", schedule=INTEGRITY_SCHEDULE, run_on_startup=False, use_monitor=True)
def verify_archive_integrity(timer: func.TimerRequest) -> None:
    """The shallow fixity check; logs ARCHIVER_INTEGRITY with its counts."""
    from archiver.fixity import log_result, record_result, verify
    from archiver.runtime import get_runtime

    runtime = get_runtime()
    report = verify(runtime.settings, runtime.store)
    log_result(report)
    record_result(runtime.store, report, operator="timer:verify_archive_integrity")
