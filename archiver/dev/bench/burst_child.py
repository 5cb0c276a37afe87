"""The burst's child processes: ``python -m archiver.dev.bench.burst_child worker|ingress``.

Each is a separate process, as a Functions instance is, so its peak RSS (``VmHWM``) and CPU
time are its own. Both load ``function_app.py`` through ``LocalFunctionsHost`` and invoke the
real functions with inputs made by azure-functions' converters.

- ``worker``: one host instance's queue trigger for ``archive_recording_chunk``, on the real
  Azurite queue, the way the queue listener runs it: it receives ``batchSize`` messages,
  receives the next batch when the messages in flight drop to ``newBatchThreshold`` (so at
  most ``batchSize + newBatchThreshold`` at once), runs each invocation on a thread, polls an
  empty queue with an exponential back-off up to ``maxPollingInterval``, and settles each
  message as the extension does (deleted on success, made visible again after
  ``visibilityTimeout`` on an exception, poisoned after ``maxDequeueCount``).
- ``ingress``: Event Grid: it delivers each event to ``ingest_recording_event`` at its
  scheduled time, on a few threads (Event Grid delivers concurrently).

Protocol: a JSON spec on the first stdin line; ``go`` starts the work; ``stop`` (or end of
input) stops it. Every stdout line is one JSON object with a ``type``: ``ready``, then
``invocation`` / ``marker`` (worker) or ``delivered`` (ingress), and finally ``summary``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from azure.core.exceptions import AzureError
from azure.storage.queue import QueueMessage

from archiver.dev.bench.burst_plan import HostQueueSettings
from archiver.dev.bench.child import peak_rss_bytes, rss_bytes
from archiver.dev.host import Invocation, local_host
from archiver.jobqueue import JobQueue
from archiver.jobs import RecordingJob
from archiver.logs import ARCHIVED, FAILED, RETRY
from archiver.runtime import get_runtime

MIN_POLL_SECONDS = 0.1  # the queue listener's minimum polling interval
# A received message stays hidden this long while its function runs (the listener hides it
# for 10 minutes and renews; no burst job runs that long).
RUNNING_VISIBILITY_SECONDS = 600
RELAYED_MARKERS = (ARCHIVED, FAILED, RETRY)
RELAYED_FIELDS = ("document_id", "event_id", "bytes", "recording_complete", "outcome", "reason", "duration_s")
INGRESS_THREADS = 8


class Output:
    """One JSON object per stdout line, whole lines only (many threads write)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def emit(self, kind: str, **fields: Any) -> None:
        line = json.dumps({"type": kind, **fields}, default=str)
        with self._lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


class Control:
    """The parent's commands on stdin: ``go`` once, then ``stop`` or end of input."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.stop = threading.Event()

    def listen(self) -> None:
        threading.Thread(target=self._read, name="control", daemon=True).start()

    def _read(self) -> None:
        for line in sys.stdin:
            command = line.strip()
            if command == "go":
                self.go.set()
            elif command == "stop":
                break
        self.stop.set()
        self.go.set()


class MarkerRelay(logging.Handler):
    """Forwards the archiver's own outcome lines (archived, failed, retry) to the parent.

    These are the lines the deployed alerts and metrics read, so the parent learns what
    happened to each job the way an operator would, not from a side channel.
    """

    def __init__(self, output: Output) -> None:
        super().__init__(level=logging.INFO)
        self._output = output

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "archiver", None)
        if not isinstance(fields, dict) or fields.get("marker") not in RELAYED_MARKERS:
            return
        picked = {key: fields[key] for key in RELAYED_FIELDS if key in fields}
        self._output.emit("marker", marker=fields["marker"], t=record.created, **picked)


def _document_id(message: QueueMessage) -> str | None:
    try:
        return RecordingJob.from_message(str(message.content)).chunk.document_id
    except ValueError:
        return None


class QueueListener:
    """One instance's queue trigger: batches, the new-batch threshold, back-off, settlement."""

    def __init__(
        self,
        queue: JobQueue,
        invoke: Callable[[QueueMessage], Invocation],
        host: HostQueueSettings,
        output: Output,
    ) -> None:
        self._queue = queue
        self._invoke = invoke
        self._host = host
        self._output = output
        self._in_flight = 0
        self._room = threading.Condition()
        self._pool = ThreadPoolExecutor(max_workers=host.max_in_flight, thread_name_prefix="invocation")
        self.counts: Counter[str] = Counter()

    def run(self, stop: threading.Event) -> None:
        delay = MIN_POLL_SECONDS
        while not stop.is_set():
            self._wait_for_room(stop)
            batch = [] if stop.is_set() else self._receive()
            if batch:
                delay = MIN_POLL_SECONDS
                for message in batch:
                    self._start(message)
                continue
            stop.wait(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self._host.max_polling_seconds)
        self._pool.shutdown(wait=True)

    def _wait_for_room(self, stop: threading.Event) -> None:
        with self._room:
            while self._in_flight > self._host.new_batch_threshold and not stop.is_set():
                self._room.wait(0.5)

    def _receive(self) -> list[QueueMessage]:
        size = self._host.batch_size
        try:
            return list(
                self._queue.jobs.receive_messages(
                    messages_per_page=size, max_messages=size, visibility_timeout=RUNNING_VISIBILITY_SECONDS
                )
            )
        except AzureError as exc:  # the listener logs a failed poll and polls again
            self.counts["receive_errors"] += 1
            self._output.emit("receive_error", error=f"{type(exc).__name__}: {exc}")
            return []

    def _start(self, message: QueueMessage) -> None:
        with self._room:
            self._in_flight += 1
        self._pool.submit(self._run, message)

    def _run(self, message: QueueMessage) -> None:
        started = time.time()
        try:
            invocation = self._invoke(message)
            settled = self._settle(message, invocation)
        finally:
            with self._room:
                self._in_flight -= 1
                self._room.notify_all()
        self._output.emit(
            "invocation",
            document_id=_document_id(message),
            started=started,
            ended=time.time(),
            dequeue_count=message.dequeue_count,
            inserted=message.inserted_on.timestamp() if message.inserted_on else None,
            settled=settled,
            error=None if invocation.ok else f"{type(invocation.error).__name__}: {invocation.error}",
        )

    def _settle(self, message: QueueMessage, invocation: Invocation) -> str:
        """What the queue extension does with a message after its function ran."""
        self.counts["invocations"] += 1
        try:
            if invocation.ok:
                self.counts["succeeded"] += 1
                self._queue.jobs.delete_message(message)
                return "deleted"
            self.counts["raised"] += 1
            if (message.dequeue_count or 0) >= self._host.max_dequeue_count:
                self.counts["poisoned"] += 1
                self._queue.poison.send_message(message.content)
                self._queue.jobs.delete_message(message)
                return "poisoned"
            visible_in = int(self._host.visibility_timeout_seconds)
            self._queue.jobs.update_message(message, visibility_timeout=visible_in)
            return "retry"
        except AzureError as exc:  # e.g. the message was taken over: the next receive sorts it out
            self.counts["settle_errors"] += 1
            return f"settle failed: {type(exc).__name__}"


def _warm() -> tuple[Any, Any]:
    """What a warm instance already has: the indexed app, the runtime, containers and queues."""
    host = local_host()
    runtime = get_runtime()
    runtime.store.ensure_containers()
    runtime.queue.ensure()
    return host, runtime


def run_worker(spec: dict[str, Any], control: Control, output: Output) -> dict[str, Any]:
    host, runtime = _warm()
    archiver_log = logging.getLogger("archiver")
    archiver_log.setLevel(logging.INFO)
    archiver_log.addHandler(MarkerRelay(output))
    settings = HostQueueSettings(**spec["host"])
    listener = QueueListener(
        runtime.queue, host.queue_message_invoker("archive_recording_chunk"), settings, output
    )
    output.emit("ready", rss=rss_bytes(), pid=os.getpid())
    control.go.wait()
    cpu_at_go = cpu_seconds()
    listener.run(control.stop)
    return {"cpu_seconds": cpu_seconds() - cpu_at_go, **listener.counts}


def _deliver(host: Any, item: dict[str, Any], scheduled: float, output: Output) -> None:
    delivered = time.time()
    invocations = host.deliver_event_grid(json.dumps(item["payload"]).encode("utf-8"))
    errors = [f"{type(i.error).__name__}: {i.error}" for i in invocations if not i.ok]
    output.emit(
        "delivered",
        document_id=item["document_id"],
        scheduled=scheduled,
        t=delivered,
        answered=time.time(),
        error="; ".join(errors) or None,
    )


def run_ingress(spec: dict[str, Any], control: Control, output: Output) -> dict[str, Any]:
    host, _ = _warm()
    schedule = sorted(spec["events"], key=lambda item: float(item["at"]))
    output.emit("ready", rss=rss_bytes(), pid=os.getpid())
    control.go.wait()
    cpu_at_go = cpu_seconds()
    start = time.time()
    with ThreadPoolExecutor(max_workers=INGRESS_THREADS, thread_name_prefix="delivery") as pool:
        for item in schedule:
            scheduled = start + float(item["at"])
            if control.stop.wait(max(0.0, scheduled - time.time())):
                break
            pool.submit(_deliver, host, item, scheduled, output)
    return {"cpu_seconds": cpu_seconds() - cpu_at_go, "started": start}


ROLES: dict[str, Callable[[dict[str, Any], Control, Output], dict[str, Any]]] = {
    "worker": run_worker,
    "ingress": run_ingress,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    role = ROLES[argv[0]]
    spec = json.loads(sys.stdin.readline())
    output = Output()
    control = Control()
    control.listen()
    summary = role(spec, control, output)
    output.emit("summary", peak_rss=peak_rss_bytes(), pid=os.getpid(), **summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
