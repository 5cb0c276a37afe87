"""``Repeatability-Request-ID``: a retried start gets the first answer again and starts nothing.

The SDK sends a fresh ``Repeatability-Request-ID`` (and ``Repeatability-First-Sent``) with
every start (``build_call_recording_start_recording_request``), so that its own retry after a
lost answer cannot start a second recording; the service honours it and answers
``Repeatability-Result: accepted`` (Azure REST API guidelines, *Repeatability of requests*).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict

from archiver.dev.emulator.http_types import Response

HEADER = "repeatability-request-id"
REMEMBERED = 1000


class StartMemory:
    """The answers to the most recent starts, by request id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, Response] = OrderedDict()

    def recall(self, request_id: str) -> Response | None:
        """A copy of the first answer to ``request_id``, if it is still remembered."""
        with self._lock:
            answer = self._answers.get(request_id)
        return None if answer is None else dataclasses.replace(answer, headers=dict(answer.headers))

    def remember(self, request_id: str, response: Response) -> None:
        response.headers["Repeatability-Result"] = "accepted"
        with self._lock:
            self._answers[request_id] = dataclasses.replace(response, headers=dict(response.headers))
            while len(self._answers) > REMEMBERED:
                self._answers.popitem(last=False)
