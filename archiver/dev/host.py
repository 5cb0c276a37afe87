"""A local stand-in for the Functions host: index ``function_app.py``, invoke through the converters.

Core Tools cannot run everywhere (CI here, for one), so the demo and the tests drive the real
functions the way the host and the Python worker do:

- indexing loads ``function_app.py`` by path, finds its one ``FunctionApp``, calls
  ``get_functions()`` once, and checks each trigger parameter's annotation with the binding's
  converter (a ``Union`` there fails to load in the real worker too);
- every invocation hands the function what ``azure.functions``' own converter decodes from the
  binding data the host sends: an Event Grid event as JSON with trigger metadata ``data`` and
  ``sys``; a queue message as the (base64-decoded) text with ``Id``, ``PopReceipt``,
  ``DequeueCount``, ``InsertionTime``, ``ExpirationTime``, ``NextVisibleTime``; a timer as
  JSON with ``Schedule``, ``ScheduleStatus``, ``IsPastDue``. No ``func.*`` object is built by
  hand and no date is parsed here: the converter does it, with its quirks.
- queue semantics: a message is deleted only when the function returns, reappears when it
  raises, and moves to the poison queue after ``maxDequeueCount`` attempts.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_type_hints

from azure.functions import meta
from azure.storage.queue import QueueMessage as StorageQueueMessage

from archiver.dev.stack import PROJECT_ROOT
from archiver.jobqueue import JobQueue

MAX_DEQUEUE_COUNT = 5  # host.json extensions.queues.maxDequeueCount


def _converter(binding_type: str) -> Any:
    """The ``azure.functions`` converter registered for a binding type, as the worker finds it."""
    converter = meta.get_binding_registry().get(binding_type)  # type: ignore[no-untyped-call]
    if converter is None:
        raise RuntimeError(f"no converter for binding type {binding_type!r}")
    return converter


def _json(value: Any) -> meta.Datum:
    return meta.Datum(type="json", value=json.dumps(value))


def _host_time(value: datetime | None) -> meta.Datum | None:
    """A DateTimeOffset as the host serialises it into trigger metadata (a JSON string)."""
    return None if value is None else _json(value.astimezone(UTC).isoformat())


@dataclass(frozen=True)
class IndexedFunction:
    name: str
    trigger_type: str
    trigger_param: str
    binding: dict[str, Any]  # the trigger binding as the host reads it (function.json shape)
    user_function: Callable[..., Any]


@dataclass
class Invocation:
    """One function run: ``error`` is what the host would log (and answer 500 for Event Grid)."""

    function: str
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def load_script(script: Path) -> Any:
    """Import ``function_app.py`` as the host does (by path); reuse it if already imported."""
    loaded = sys.modules.get("function_app")
    if loaded is not None and Path(loaded.__file__ or "").resolve() == script.resolve():
        return loaded
    spec = importlib.util.spec_from_file_location("function_app", script)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {script}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    spec.loader.exec_module(module)
    return module


class LocalFunctionsHost:
    """The app's functions, indexed once, invoked with converter-made inputs."""

    def __init__(self, script: Path = PROJECT_ROOT / "function_app.py") -> None:
        module = load_script(script)
        import azure.functions as func

        apps = [value for value in vars(module).values() if isinstance(value, func.FunctionApp)]
        if len(apps) != 1:
            raise RuntimeError(f"{script} must define exactly one FunctionApp, found {len(apps)}")
        self.functions: dict[str, IndexedFunction] = {}
        for function in apps[0].get_functions():  # once per process, like the worker
            indexed = _index(function)
            self.functions[indexed.name] = indexed

    def invoke(self, name: str, data: meta.Datum, metadata: dict[str, meta.Datum | None]) -> Invocation:
        """Decode ``data`` with the trigger's converter and call the function; never raises."""
        function = self.functions[name]
        converter = _converter(function.trigger_type)
        present = {key: value for key, value in metadata.items() if value is not None}
        try:
            argument = converter.decode(data, trigger_metadata=present)
            function.user_function(**{function.trigger_param: argument})
        except Exception as exc:  # noqa: BLE001 - the worker reports every failure to the host
            return Invocation(name, exc)
        return Invocation(name)

    def _function_with_trigger(self, trigger_type: str) -> str:
        [name] = [n for n, f in self.functions.items() if f.trigger_type == trigger_type]
        return name

    # Event Grid -------------------------------------------------------------------------------

    def deliver_event_grid(self, body: bytes) -> list[Invocation]:
        """One Event Grid delivery (a JSON array, or one event): one invocation per event."""
        decoded = json.loads(body)
        events = decoded if isinstance(decoded, list) else [decoded]
        name = self._function_with_trigger("eventGridTrigger")
        return [self.invoke(name, _json(event), _event_grid_metadata(event)) for event in events]

    # Timer ------------------------------------------------------------------------------------

    def fire_timer(self, name: str, *, past_due: bool = False) -> Invocation:
        now = datetime.now(UTC)
        schedule = {
            "Schedule": {"AdjustForDST": True},
            "ScheduleStatus": {
                "Last": (now - timedelta(minutes=5)).isoformat(),
                "Next": (now + timedelta(minutes=5)).isoformat(),
                "LastUpdated": now.isoformat(),
            },
            "IsPastDue": past_due,
        }
        return self.invoke(name, _json(schedule), {"sys": _json(_sys_metadata(name))})

    # Queue ------------------------------------------------------------------------------------

    def queue_message_invoker(self, name: str) -> Callable[[StorageQueueMessage], Invocation]:
        def run(message: StorageQueueMessage) -> Invocation:
            content = message.content
            text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
            metadata = {
                "Id": meta.Datum(type="string", value=message.id),
                "PopReceipt": meta.Datum(type="string", value=message.pop_receipt or ""),
                "DequeueCount": _json(message.dequeue_count or 1),
                "InsertionTime": _host_time(message.inserted_on),
                "ExpirationTime": _host_time(message.expires_on),
                "NextVisibleTime": _host_time(message.next_visible_on),
                "QueueTrigger": meta.Datum(type="string", value=text),
                "sys": _json(_sys_metadata(name)),
            }
            return self.invoke(name, meta.Datum(type="string", value=text), metadata)

        return run


def _event_grid_metadata(event: Any) -> dict[str, meta.Datum | None]:
    data = event.get("data") if isinstance(event, dict) else None
    return {"data": _json(data), "sys": _json(_sys_metadata("ingest"))}


def _sys_metadata(method: str) -> dict[str, str]:
    return {"MethodName": method, "UtcNow": datetime.now(UTC).isoformat(), "RandGuid": str(uuid.uuid4())}


def _index(function: Any) -> IndexedFunction:
    trigger = function.get_trigger()
    user_function = function.get_user_function()
    converter = _converter(trigger.type)
    hints = get_type_hints(user_function, vars(sys.modules[user_function.__module__]))
    parameter = inspect.signature(user_function).parameters[trigger.name]
    annotation = hints.get(parameter.name)
    if annotation is not None and not (
        isinstance(annotation, type) and converter.check_input_type_annotation(annotation)
    ):
        raise TypeError(
            f"{function.get_function_name()}: {trigger.type} cannot bind to {annotation!r} "
            "(the Python worker refuses to load such a function)"
        )
    return IndexedFunction(
        name=function.get_function_name(),
        trigger_type=trigger.type,
        trigger_param=trigger.name,
        binding=json.loads(json.dumps(trigger.get_dict_repr(), default=str)),
        user_function=user_function,
    )


_host: LocalFunctionsHost | None = None
_host_lock = threading.Lock()


def local_host() -> LocalFunctionsHost:
    """The process's one host (``get_functions()`` may run only once per process).

    Locked: deliveries arrive on many threads at once, and a second thread must never see the
    app module while the first is still executing it.
    """
    global _host  # noqa: PLW0603 - one per process, like the worker
    with _host_lock:
        if _host is None:
            _host = LocalFunctionsHost()
        return _host


@dataclass
class DrainReport:
    invocations: int = 0
    succeeded: int = 0
    raised: int = 0
    poisoned: int = 0
    errors: list[str] = field(default_factory=list)


def drain_queue(
    queue: JobQueue,
    handler: Callable[[StorageQueueMessage], Invocation],
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
            _settle(queue, message, handler(message), report, visibility_timeout)
    raise TimeoutError(f"job queue not empty after {timeout:.0f}s: {report}")


def _settle(
    queue: JobQueue,
    message: StorageQueueMessage,
    invocation: Invocation,
    report: DrainReport,
    visibility_timeout: int,
) -> None:
    """What the queue extension does with a message after its function ran."""
    report.invocations += 1
    if invocation.ok:
        report.succeeded += 1
        queue.jobs.delete_message(message)
        return
    report.raised += 1
    report.errors.append(f"{type(invocation.error).__name__}: {invocation.error}")
    if (message.dequeue_count or 0) >= MAX_DEQUEUE_COUNT:
        queue.poison.send_message(message.content)
        queue.jobs.delete_message(message)
        report.poisoned += 1
    else:
        queue.jobs.update_message(message, visibility_timeout=visibility_timeout)
