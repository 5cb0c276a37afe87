"""Recording sessions (of either API) and their state machine.

``active`` -> ``paused`` -> ``active`` ... -> ``inactive`` (``pauseOnStart`` starts at
``paused``): pausing needs an active recording, resuming a paused one, stopping one that is not
yet stopped; anything else is a 400. Both APIs share the sessions, so a recording started with
one can be driven with the other. Each change is saved to
``{state_dir}/recordings/{recordingId}.json`` and reported to the ``on_change`` hook (the
emulator's recording state callbacks) while the lock is still held, so the hook sees the
changes of a recording in the order they happened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from archiver.dev.emulator.calls import CallInfo
from archiver.dev.emulator.clock import acs_timestamp, utc_now
from archiver.dev.emulator.errors import bad_request, not_found
from archiver.dev.emulator.events import new_recording_id
from archiver.dev.emulator.files import write_json_atomic
from archiver.dev.emulator.formats import RecordingKind
from archiver.dev.emulator.timeline import Pause, Timeline

ACTIVE = "active"
PAUSED = "paused"
INACTIVE = "inactive"
SEED_API = "2021"  # POST /calling/conversations/{conversationId}/recordings
CALL_AUTOMATION_API = "callAutomation"  # POST /calling/recordings (today's)


@dataclass(frozen=True)
class RecordingPlan:
    """What a start request asked for, once validated: the same for both APIs."""

    api: str
    call: CallInfo
    conversation_id: str | None  # the seed API's path segment; None for today's API
    callback_uri: str | None  # optional in today's API: no callbacks without one
    kind: RecordingKind
    participants: tuple[str, ...]
    channels: tuple[int, ...] = ()  # each participant's channel (unmixed); () for the seed's layout
    chunk_count: int | None = None  # None: as many as the emulator's --chunk-seconds makes
    pause_on_start: bool = False


@dataclass
class Recording:
    recording_id: str
    plan: RecordingPlan
    started_at: datetime
    state: str = ACTIVE
    pause_starts: list[datetime] = field(default_factory=list)
    pause_ends: list[datetime] = field(default_factory=list)
    stopped_at: datetime | None = None
    event_id: str | None = None
    document_ids: list[str] = field(default_factory=list)

    @property
    def conversation_id(self) -> str | None:
        return self.plan.conversation_id

    @property
    def call(self) -> CallInfo:
        return self.plan.call

    @property
    def callback_uri(self) -> str | None:
        return self.plan.callback_uri

    @property
    def kind(self) -> RecordingKind:
        return self.plan.kind

    @property
    def participants(self) -> tuple[str, ...]:
        return self.plan.participants

    def timeline(self) -> Timeline:
        assert self.stopped_at is not None, "only a stopped recording has a timeline"
        return Timeline(
            started_at=self.started_at,
            stopped_at=self.stopped_at,
            pauses=tuple(Pause(s, e) for s, e in zip(self.pause_starts, self.pause_ends, strict=True)),
        )

    def to_json(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "recordingId": self.recording_id,
            "api": plan.api,
            "conversationId": plan.conversation_id,
            "callId": plan.call.call_id,
            "serverCallId": plan.call.server_call_id,
            "callConnectionId": plan.call.call_connection_id,
            "recordingStateCallbackUri": plan.callback_uri,
            "recordingContentType": plan.kind.content_type,
            "recordingChannelType": plan.kind.channel_type,
            "recordingFormatType": plan.kind.format,
            "participants": list(plan.participants),
            "channels": list(plan.channels) or None,
            "chunkCount": plan.chunk_count,
            "pauseOnStart": plan.pause_on_start,
            "recordingState": self.state,
            "startedAt": acs_timestamp(self.started_at),
            "pauses": [
                {"pausedAt": acs_timestamp(s), "resumedAt": acs_timestamp(e) if e else None}
                for s, e in zip(self.pause_starts, [*self.pause_ends, None], strict=False)
            ],
            "stoppedAt": acs_timestamp(self.stopped_at) if self.stopped_at else None,
            "eventId": self.event_id,
            "documentIds": self.document_ids,
        }


class RecordingStore:
    """Thread-safe registry of recordings; transitions happen under one lock.

    ``on_change`` must be quick and must not raise (it runs under the lock): queue, don't send.
    """

    def __init__(self, root: Path, on_change: Callable[[Recording], None] | None = None) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._recordings: dict[str, Recording] = {}
        self._on_change = on_change

    def start(self, plan: RecordingPlan) -> Recording:
        """A new recording, ``active`` or (``pauseOnStart``) ``paused`` from its first moment."""
        now = utc_now()
        recording = Recording(recording_id=new_recording_id(), plan=plan, started_at=now)
        if plan.pause_on_start:
            recording.state = PAUSED
            recording.pause_starts.append(now)
        with self._lock:
            self._recordings[recording.recording_id] = recording
            self._changed(recording)
        return recording

    def get(self, recording_id: str, conversation_id: str | None = None) -> Recording:
        with self._lock:
            return self._find(recording_id, conversation_id)

    def pause(self, recording_id: str, conversation_id: str | None = None) -> Recording:
        with self._lock:
            recording = self._find(recording_id, conversation_id)
            if recording.state != ACTIVE:
                raise bad_request(f"cannot pause a recording that is {recording.state}", "recordingId")
            recording.state = PAUSED
            recording.pause_starts.append(utc_now())
            self._changed(recording)
            return recording

    def resume(self, recording_id: str, conversation_id: str | None = None) -> Recording:
        with self._lock:
            recording = self._find(recording_id, conversation_id)
            if recording.state != PAUSED:
                raise bad_request(f"cannot resume a recording that is {recording.state}", "recordingId")
            recording.state = ACTIVE
            recording.pause_ends.append(utc_now())
            self._changed(recording)
            return recording

    def stop(self, recording_id: str, conversation_id: str | None = None) -> Recording:
        """Mark the recording inactive; a pause still open ends at the stop."""
        with self._lock:
            recording = self._find(recording_id, conversation_id)
            if recording.state == INACTIVE:
                raise bad_request("the recording is already stopped", "recordingId")
            now = utc_now()
            if recording.state == PAUSED:
                recording.pause_ends.append(now)
            recording.state = INACTIVE
            recording.stopped_at = now
            self._changed(recording)
            return recording

    def record_outcome(self, recording: Recording, event_id: str, document_ids: list[str]) -> None:
        with self._lock:
            recording.event_id = event_id
            recording.document_ids = document_ids
            self._save(recording)

    def _find(self, recording_id: str, conversation_id: str | None) -> Recording:
        recording = self._recordings.get(recording_id)
        if recording is None or (
            conversation_id is not None and recording.conversation_id != conversation_id
        ):
            raise not_found(f"recording {recording_id} not found", "recordingId")
        return recording

    def _changed(self, recording: Recording) -> None:
        """Persist a state transition and report it (caller holds the lock)."""
        self._save(recording)
        if self._on_change is not None:
            self._on_change(recording)

    def _save(self, recording: Recording) -> None:
        write_json_atomic(self.root / f"{recording.recording_id}.json", recording.to_json())
