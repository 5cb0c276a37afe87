"""Shared constants and helpers of the emulator tests (imported by conftest and the tests)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from archiver.dev.emulator.client import EmulatorProcess

# Short media keeps the suite fast; the cap is the emulator's own --max-media-seconds.
MAX_MEDIA_SECONDS = 4

Event = list[dict[str, Any]]
Recorder = Callable[..., Event]


def read_event(emulator: EmulatorProcess, event_id: str) -> Event:
    event: Event = json.loads((emulator.state_dir / "events" / f"{event_id}.json").read_text())
    return event


def only_chunk(event: Event) -> dict[str, Any]:
    [chunk] = event[0]["data"]["recordingStorageInfo"]["recordingChunks"]
    chunk_value: dict[str, Any] = chunk
    return chunk_value
