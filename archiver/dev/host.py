"""Invoke the Function App's functions the way the Functions host would, without the host.

Core Tools cannot run everywhere (CI here, for one), so the demo and the tests deliver events
and drain the job queue through the real ``function_app`` functions, with the host's queue
semantics: base64 messages decoded, ``dequeue_count`` passed, a message deleted only when the
function returns, left to reappear when it raises, and moved to the poison queue after
``max_dequeue_count`` attempts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import azure.functions as func
from azure.functions.queue import QueueMessage as HostQueueMessage

from archiver.jobqueue import JobQueue

MAX_DEQUEUE_COUNT = 5  # host.json extensions.queues.maxDequeueCount


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    if "." in text:  # Event Grid sends 7 fractional digits; Python takes at most 6
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    return datetime.fromisoformat(text)


def event_grid_events(payload: bytes) -> list[func.EventGridEvent]:
    """What the host's Event Grid converter produces for each element of a delivery."""
    decoded = json.loads(payload)
    items = decoded if isinstance(decoded, list) else [decoded]
    return [
        func.EventGridEvent(
            id=item.get("id"),
            data=item.get("data"),
            topic=item.get("topic"),
            subject=item.get("subject"),
            event_type=item.get("eventType"),
            event_time=_time(item.get("eventTime")),
            data_version=item.get("dataVersion"),
        )
        for item in items
    ]


@dataclass
class DrainReport:
    invocations: int = 0
    succeeded: int = 0
    raised: int = 0
    poisoned: int = 0
    errors: list[str] = field(default_factory=list)


def drain_queue(
    queue: JobQueue,
    handler: Callable[[func.QueueMessage], None],
    *,
    timeout: float = 120.0,
    visibility_timeout: int = 2,
    invisible_while_running: int = 60,
    idle_polls: int = 1,
    wait_for_delayed: bool = True,
) -> DrainReport:
    """Run ``handler`` on queue messages until the queue is empty (delayed messages included).

    ``invisible_while_running`` is how long a received message stays hidden: if this process
    dies mid-job, that is when the message comes back for another worker (as with the host).
    ``visibility_timeout`` is the delay before a message whose handler raised is retried.
    With ``wait_for_delayed=False`` it returns once no message is visible, leaving delayed
    (re-queued) jobs in the queue.
    """
    queue.ensure()
    report = DrainReport()
    deadline = time.monotonic() + timeout
    empty_polls = 0
    while time.monotonic() < deadline:
        batch = list(
            queue.jobs.receive_messages(
                messages_per_page=16, max_messages=16, visibility_timeout=invisible_while_running
            )
        )
        if not batch:
            if not wait_for_delayed or queue.jobs.get_queue_properties().approximate_message_count == 0:
                empty_polls += 1
                if empty_polls > idle_polls:
                    return report
            time.sleep(0.2)
            continue
        empty_polls = 0
        for message in batch:
            report.invocations += 1
            body = message.content.encode("utf-8") if isinstance(message.content, str) else message.content
            try:
                handler(HostQueueMessage(id=message.id, body=body, dequeue_count=message.dequeue_count))  # type: ignore[no-untyped-call]
            except Exception as exc:  # noqa: BLE001 - the host catches everything too
                report.raised += 1
                report.errors.append(f"{type(exc).__name__}: {exc}")
                if (message.dequeue_count or 0) >= MAX_DEQUEUE_COUNT:
                    queue.poison.send_message(message.content)
                    queue.jobs.delete_message(message)
                    report.poisoned += 1
                else:
                    queue.jobs.update_message(message, visibility_timeout=visibility_timeout)
            else:
                report.succeeded += 1
                queue.jobs.delete_message(message)
    raise TimeoutError(f"job queue not empty after {timeout:.0f}s: {report}")
