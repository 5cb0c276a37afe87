"""Fixtures for the benchmark's tests, on the session's Azurite and emulator (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from archiver.dev.emulator.client import EmulatorProcess
from archiver.dev.stack import Azurite
from archiver.runtime import reset_runtime
from tests.support import use_local_services


@pytest.fixture
def worker_env(
    monkeypatch: pytest.MonkeyPatch, azurite: Azurite, emulator: EmulatorProcess
) -> Iterator[None]:
    """A local archive worker's settings, copy settings left at their defaults."""
    use_local_services(monkeypatch, azurite.connection_string, emulator.url)
    yield
    reset_runtime()
