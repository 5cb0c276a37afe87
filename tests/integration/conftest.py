"""Integration fixtures: one real Azurite and one real ACS emulator per session, on loopback.

Each test gets clean containers and queues and a fresh set of environment variables, then
talks to the services only through the product's own code paths.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from archiver.devstack import Azurite
from archiver.emulator.client import EmulatorAdmin, EmulatorProcess
from archiver.runtime import Runtime, get_runtime, reset_runtime
from tests.support import ACCESS_KEY, RESOURCE_HOST


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    with Azurite() as service:
        yield service


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(access_key=ACCESS_KEY, resource_host=RESOURCE_HOST, max_media_seconds=3) as process:
        yield process


@pytest.fixture
def admin(emulator: EmulatorProcess) -> Iterator[EmulatorAdmin]:
    with emulator.admin() as client:
        client.clear_faults()
        client.reset_stats()
        yield client
        client.clear_faults()


def _clean_storage(connection_string: str) -> None:
    blobs = BlobServiceClient.from_connection_string(connection_string)
    for container in blobs.list_containers():
        blobs.delete_container(container.name)
    queues = QueueServiceClient.from_connection_string(connection_string)
    for queue in queues.list_queues():
        queues.delete_queue(queue.name)


@pytest.fixture
def archiver_env(
    monkeypatch: pytest.MonkeyPatch, azurite: Azurite, emulator: EmulatorProcess
) -> Iterator[dict[str, str]]:
    """Settings as a local user sets them: Azurite for storage, the emulator as the source."""
    _clean_storage(azurite.connection_string)
    env = {
        "ACS_CONNECTION_STRING": f"endpoint=https://{RESOURCE_HOST}/;accesskey={ACCESS_KEY}",
        "ARCHIVE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "AzureWebJobsStorage": azurite.connection_string,
        "LOCAL_SOURCE_URL": emulator.url,
        "COPY_BLOCK_MIB": "1",
        "ARCHIVE_LEASE_SECONDS": "15",
    }
    for name in list(os.environ):
        if name.startswith(
            ("ACS_", "ARCHIVE_", "ALLOWED_", "SOURCE_", "COPY_", "AzureWebJobs", "LOCAL_SOURCE")
        ):
            monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_runtime()
    yield env
    reset_runtime()


@pytest.fixture
def runtime(archiver_env: dict[str, str]) -> Runtime:
    return get_runtime()
