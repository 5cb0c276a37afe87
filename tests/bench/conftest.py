"""Fixtures for the benchmark's tests: one Azurite and one emulator for the module, on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from archiver.devstack import Azurite
from archiver.emulator.client import EmulatorProcess
from archiver.runtime import reset_runtime
from tests.support import ACCESS_KEY, RESOURCE_HOST


@pytest.fixture(scope="module")
def azurite() -> Iterator[Azurite]:
    with Azurite() as service:
        yield service


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(access_key=ACCESS_KEY, resource_host=RESOURCE_HOST, max_media_seconds=3) as process:
        yield process


@pytest.fixture
def worker_env(
    monkeypatch: pytest.MonkeyPatch, azurite: Azurite, emulator: EmulatorProcess
) -> Iterator[None]:
    """A local archive worker's settings, copy settings left at their defaults."""
    for name in list(os.environ):
        if name.startswith(
            ("ACS_", "ARCHIVE_", "ALLOWED_", "SOURCE_", "COPY_", "AzureWebJobs", "LOCAL_SOURCE")
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ACS_CONNECTION_STRING", f"endpoint=https://{RESOURCE_HOST}/;accesskey={ACCESS_KEY}")
    monkeypatch.setenv("ARCHIVE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    monkeypatch.setenv("LOCAL_SOURCE_URL", emulator.url)
    reset_runtime()
    yield
    reset_runtime()
