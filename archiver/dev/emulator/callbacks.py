"""Recording state callbacks: each state change POSTed to the recording's ``recordingStateCallbackUri``.

The body is what today's Call Automation service sends for a recording state change: a JSON
array holding one CloudEvents 1.0 event of type ``Microsoft.Communication.RecordingStateChanged``::

    [{"id": "<uuid>",
      "source": "calling/recordings/<serverCallId>/recordingId/<recordingId>/RecordingStateChanged",
      "type": "Microsoft.Communication.RecordingStateChanged",
      "data": {"recordingId": "...", "state": "active", "startDateTime": "...+00:00",
               "recordingKind": "azureCommunicationServices",
               "callConnectionId": "...", "serverCallId": "...", "correlationId": "..."},
      "time": "...+00:00", "specversion": "1.0", "datacontenttype": "application/json",
      "subject": "calling/recordings/<serverCallId>/recordingId/<recordingId>"}]

Where that comes from:

- ``data``'s fields and values: the ``RecordingStateChanged`` definition of the Call Automation
  REST spec, Azure/azure-rest-api-specs,
  ``specification/communication/data-plane/CallAutomation/stable/2025-05-15/communicationservicescallautomation.json``
  (``callConnectionId``, ``serverCallId``, ``correlationId``, ``recordingId``, ``state``,
  ``startDateTime``, ``recordingKind``, optional ``resultInformation``), the same model as
  ``RecordingStateChanged._attribute_map`` in azure-communication-callautomation 1.6
  (``azure/communication/callautomation/_generated/models/_models.py``). ``RecordingState`` is
  ``active`` | ``inactive`` and ``RecordingKind`` ``azureCommunicationServices`` | ``teams`` |
  ``teamsCompliance`` in both.
- The envelope (array of one; ``source``, ``subject``, ``specversion``, ``datacontenttype``;
  ``+00:00`` timestamps): the captured service payload in the Java SDK's event parser test,
  Azure/azure-sdk-for-java,
  ``sdk/communication/azure-communication-callautomation/src/test/java/com/azure/communication/callautomation/CallAutomationEventParserUnitTests.java``
  (``parseRecordingStateChangedEvent``). That 2022 payload also has ``data.type``
  ("recordingStateChanged"), which today's spec no longer defines; it is left out.

States: start and resume send ``active``; pause and stop send ``inactive``. The service knows
no ``paused`` state (see above), so a pause and a stop look alike here too; the GET state API
keeps the seed's own ``paused``.

The ids come from the recording's call (``archiver.dev.emulator.calls``): for the seed API
``callConnectionId`` is a stand-in GUID derived from the conversation id (it has no call
connection), ``serverCallId`` the conversation id as base64url (as in the
RecordingFileStatusUpdated event's subject) and ``correlationId`` the conversation id, which is
also the call id of the recording's metadata and event. For today's API they are the locator's
own ``serverCallId`` / ``callConnectionId`` where it names one, and the call's call id. Today's
``recordingStateCallbackUri`` is optional: a recording without one sends no callbacks.

Safety and robustness, since tests run this: callbacks only ever go to loopback http(s) URLs
(``localhost``, 127.0.0.0/8, ``[::1]``); hosts under the reserved ``.invalid`` domain (RFC
6761, 6.4: they never resolve) are accepted and never called, so existing placeholder URIs keep
working; anything else is refused at start with a 400. Delivery runs on a background thread per
callback URI (so one recording's events arrive in order and a slow receiver delays no one
else), with a 5 s timeout; a failure (refused, non-2xx, timeout) is logged and recorded, never
raised, and never delays the API call that caused it. Every outcome is written to
``{state_dir}/callbacks/{eventId}.json``.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from queue import Empty, Queue
from typing import Any
from urllib.parse import urlsplit

from archiver.dev.emulator.clock import acs_timestamp, utc_now
from archiver.dev.emulator.errors import bad_request
from archiver.dev.emulator.files import write_json_atomic
from archiver.dev.emulator.recordings import ACTIVE, Recording
from archiver.settings import is_loopback_host

EVENT_TYPE = "Microsoft.Communication.RecordingStateChanged"
RECORDING_KIND = "azureCommunicationServices"
STATE_ACTIVE = "active"
STATE_INACTIVE = "inactive"
TIMEOUT_SECONDS = 5.0
IDLE_SECONDS = 30.0  # a URI's worker thread ends after this long with nothing to send
# At shutdown queued callbacks get this long, well inside the 5 s clients give a SIGTERM.
SHUTDOWN_DRAIN_SECONDS = 2.0
RESERVED_DOMAIN = "invalid"  # RFC 6761, 6.4
FIELD = "recordingStateCallbackUri"

Event = list[dict[str, Any]]


def is_deliverable(uri: str) -> bool:
    """Check a callback URI at start: True to call it, False for a reserved ``.invalid`` host.

    Raises the documented 400 for anything else, so nothing ever leaves the machine.
    """
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        host = ""
    if parts.scheme.lower() in ("http", "https") and host:
        if is_loopback_host(host):
            return True
        if host == RESERVED_DOMAIN or host.endswith("." + RESERVED_DOMAIN):
            return False
    raise bad_request(
        f"{FIELD} must be an http(s) URL on a loopback host (localhost, 127.0.0.0/8 or [::1]),"
        f" or under the reserved .invalid domain (accepted, never called): this emulator never"
        f" sends traffic off the machine; got {uri!r}",
        FIELD,
    )


def callback_state(recording_state: str) -> str:
    """The service's two states: recording or not (a paused recording is ``inactive``)."""
    return STATE_ACTIVE if recording_state == ACTIVE else STATE_INACTIVE


def callback_timestamp(moment: datetime) -> str:
    """ISO 8601 with 7 fractional digits and ``+00:00``, as the service's callbacks have them."""
    return acs_timestamp(moment).removesuffix("Z") + "+00:00"


def state_changed_event(recording: Recording, now: datetime) -> Event:
    """The callback body for ``recording``'s current state (an array of one event)."""
    call = recording.call
    server_call = call.server_call_id
    subject = f"calling/recordings/{server_call}/recordingId/{recording.recording_id}"
    return [
        {
            "id": str(uuid.uuid4()),
            "source": f"{subject}/RecordingStateChanged",
            "type": EVENT_TYPE,
            "data": {
                "recordingId": recording.recording_id,
                "state": callback_state(recording.state),
                "startDateTime": callback_timestamp(recording.started_at),
                "recordingKind": RECORDING_KIND,
                "callConnectionId": call.call_connection_id,
                "serverCallId": server_call,
                "correlationId": call.call_id,
            },
            "time": callback_timestamp(now),
            "specversion": "1.0",
            "datacontenttype": "application/json",
            "subject": subject,
        }
    ]


def post_json(url: str, body: bytes, timeout: float) -> int:
    """POST ``body`` to a loopback ``url``; return the status (raises OSError on failure)."""
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme.lower() == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Content-Type": "application/json", "User-Agent": "acs-recording-emulator"}
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


class CallbackSender:
    """Delivers callbacks in order per URI on background threads; outcomes go to ``outcomes_dir``."""

    def __init__(self, outcomes_dir: Path, timeout: float = TIMEOUT_SECONDS) -> None:
        self.outcomes_dir = outcomes_dir
        self.timeout = timeout
        self._lock = threading.Lock()
        self._queues: dict[str, Queue[Event | None]] = {}
        self._workers: list[threading.Thread] = []
        self._closed = False

    def notify(self, recording: Recording) -> None:
        """Queue the callback for ``recording``'s new state (call it where the state changed)."""
        if recording.callback_uri is not None:
            self.send(recording.callback_uri, state_changed_event(recording, utc_now()))

    def send(self, url: str, event: Event) -> None:
        with self._lock:
            if self._closed:
                return
            queue = self._queues.get(url)
            if queue is None:
                queue = self._queues[url] = Queue()
                worker = threading.Thread(
                    target=self._drain, args=(url, queue), name="emulator-callbacks", daemon=True
                )
                self._workers = [w for w in self._workers if w.is_alive()] + [worker]
                worker.start()
            queue.put(event)

    def close(self, timeout: float = SHUTDOWN_DRAIN_SECONDS) -> None:
        """Stop taking callbacks; give the queued ones up to ``timeout`` seconds in all to go out."""
        with self._lock:
            self._closed = True
            for queue in self._queues.values():
                queue.put(None)
            workers = list(self._workers)
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def _drain(self, url: str, queue: Queue[Event | None]) -> None:
        while True:
            try:
                event = queue.get(timeout=IDLE_SECONDS)
            except Empty:
                with self._lock:
                    if queue.empty():
                        del self._queues[url]
                        return
                continue
            if event is None:
                return
            self._deliver(url, event)

    def _deliver(self, url: str, event: Event) -> None:
        """One attempt; whatever happens is recorded and logged, never raised."""
        outcome: dict[str, Any]
        try:
            if not is_deliverable(url):
                outcome = {"skipped": "reserved .invalid host: never called"}
            else:
                status = post_json(url, json.dumps(event).encode("utf-8"), self.timeout)
                outcome = {"status": status}
                if not 200 <= status < 300:
                    _log(f"recording state callback to {url} answered {status}")
        except Exception as exc:  # noqa: BLE001 - a callback must never break the emulator
            outcome = {"error": f"{type(exc).__name__}: {exc}"}
            _log(f"recording state callback to {url} failed: {outcome['error']}")
        record = {"url": url, "time": acs_timestamp(utc_now()), **outcome, "event": event}
        try:
            write_json_atomic(self.outcomes_dir / f"{event[0]['id']}.json", record)
        except OSError as exc:
            _log(f"could not record a callback outcome: {exc}")


def _log(message: str) -> None:
    print(f"emulator: {message}", file=sys.stderr, flush=True)
