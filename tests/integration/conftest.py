"""Integration fixtures, on the session's real Azurite and ACS emulator (tests/conftest.py).

Each test gets clean containers and queues and a fresh set of environment variables, then
talks to the services only through the product's own code paths.

The archive account is reached through the immutability double (tests/doubles), and the
archive container is protected by a time-based retention policy (WORM), as a regulated
deployment runs it: every suite proves the pipeline writes each archived object once. Tests
that erase recordings mark themselves ``mutable_archive`` to run without the policy (or set
their own protections on ``worm``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess
from archiver.dev.stack import Azurite
from archiver.runtime import Runtime, get_runtime, reset_runtime
from tests.doubles.immutable_blob_proxy import ImmutableBlobProxy
from tests.support import use_local_services

ARCHIVE = "recordings"


@pytest.fixture(scope="session")
def worm_proxy(azurite: Azurite) -> Iterator[ImmutableBlobProxy]:
    with ImmutableBlobProxy(azurite.connection_string) as proxy:
        yield proxy


@pytest.fixture
def worm(request: pytest.FixtureRequest, worm_proxy: ImmutableBlobProxy) -> Iterator[ImmutableBlobProxy]:
    """The double, reset, with the archive container protected unless the test says otherwise."""
    worm_proxy.reset()
    if request.node.get_closest_marker("mutable_archive") is None:
        worm_proxy.protect_container(ARCHIVE)
    yield worm_proxy
    worm_proxy.reset()


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
    monkeypatch: pytest.MonkeyPatch, azurite: Azurite, emulator: EmulatorProcess, worm: ImmutableBlobProxy
) -> Iterator[dict[str, str]]:
    """Settings as a local user sets them: Azurite for storage, the emulator as the source."""
    _clean_storage(azurite.connection_string)
    # Small blocks so that checkpoints and resumes happen on small files; short leases so that a
    # killed worker's chunk can be taken over quickly.
    env = use_local_services(
        monkeypatch, azurite.connection_string, emulator.url, COPY_BLOCK_MIB="1", ARCHIVE_LEASE_SECONDS="15"
    )
    monkeypatch.setenv("ARCHIVE_STORAGE_CONNECTION_STRING", worm.connection_string)
    env["ARCHIVE_STORAGE_CONNECTION_STRING"] = worm.connection_string
    yield env
    reset_runtime()


@pytest.fixture
def runtime(archiver_env: dict[str, str]) -> Runtime:
    return get_runtime()
