"""Shared fixtures. Real services are started once per session and always stopped."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from archiver.dev.emulator.client import EmulatorProcess
from archiver.dev.stack import Azurite
from tests.support import ACCESS_KEY, RESOURCE_HOST


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    with Azurite() as service:
        yield service


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(access_key=ACCESS_KEY, resource_host=RESOURCE_HOST, max_media_seconds=3) as process:
        yield process


@pytest.fixture(scope="session")
def function_app_functions() -> dict[str, dict[str, Any]]:
    """Each function's trigger binding as the host indexes it (``get_functions()`` runs once)."""
    from archiver.dev.host import local_host

    return {name: function.binding for name, function in local_host().functions.items()}


# --- Every log line of every test is scanned for secrets and raw participant identities ---


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:
            text = str(record.msg)
        self.lines.append(f"{record.name}: {text} {getattr(record, 'archiver', '')}")


@pytest.fixture(autouse=True)
def no_secrets_in_logs() -> Iterator[None]:
    """Fail any test whose log output (all loggers) carries a secret or a participant id."""
    from tests.support import find_leaks

    collector = _Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield
    finally:
        root.removeHandler(collector)
    leaks = find_leaks(collector.lines)
    if leaks:
        pytest.fail(
            "log output leaks a secret or an identity:\n" + "\n".join(leak[:300] for leak in leaks[:5])
        )
