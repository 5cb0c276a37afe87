"""Fixtures for the emulator tests: one real emulator process for the whole session."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.communication.callautomation import CallAutomationClient
from emulator_support import MAX_MEDIA_SECONDS, Event, Recorder, read_event

from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess
from archiver.dev.emulator.sdk import LoopbackTransport


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(max_media_seconds=MAX_MEDIA_SECONDS) as process:
        yield process


@pytest.fixture(scope="session")
def session_admin(emulator: EmulatorProcess) -> Iterator[EmulatorAdmin]:
    with emulator.admin() as admin:
        yield admin


@pytest.fixture(scope="session")
def sdk(emulator: EmulatorProcess) -> Iterator[CallAutomationClient]:
    """The official SDK with the emulator's connection string; every request goes to 127.0.0.1."""
    client = CallAutomationClient.from_connection_string(
        emulator.connection_string, transport=LoopbackTransport(emulator.url)
    )
    with client:
        yield client


@pytest.fixture
def admin(session_admin: EmulatorAdmin) -> Iterator[EmulatorAdmin]:
    """The admin client, with faults cleared after each test so none leaks into the next."""
    yield session_admin
    session_admin.clear_faults()


@pytest.fixture
def record(emulator: EmulatorProcess, admin: EmulatorAdmin) -> Recorder:
    """Start a recording with ``body`` fields, optionally pause, stop it; return its event."""

    def run(
        conversation: str = "conv-test",
        *,
        active_seconds: float = 0.0,
        pauses: tuple[float, ...] = (),
        **body: Any,
    ) -> Event:
        body.setdefault("recordingStateCallbackUri", "https://callback.invalid/events")
        started = admin.call_api("POST", f"/calling/conversations/{conversation}/recordings", body)
        assert started.status_code == 200, started.text
        recording_id = started.json()["recordingId"]
        base = f"/calling/conversations/{conversation}/recordings/{recording_id}"
        time.sleep(active_seconds)
        for pause in pauses:
            assert admin.call_api("POST", f"{base}/pause").status_code == 200
            time.sleep(pause)
            assert admin.call_api("POST", f"{base}/resume").status_code == 200
            time.sleep(active_seconds)
        stopped = admin.call_api("DELETE", base)
        assert stopped.status_code == 200, stopped.text
        return read_event(emulator, stopped.json()["eventId"])

    return run
