"""An outage of our own storage mid-copy is transient: nothing half-written, the next run finishes.

Azurite is killed outright while a chunk is being copied and comes back on the same ports
later, as a storage account that drops every connection for a while would.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from archiver.cli import main as cli_main
from archiver.dev.emulator.client import EmulatorAdmin, EmulatorProcess
from archiver.dev.stack import Azurite
from archiver.runtime import get_runtime, reset_runtime
from tests.integration.helpers import names, seed
from tests.support import use_local_services

MIB = 1024 * 1024


@pytest.fixture
def own_azurite(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorProcess) -> Iterator[Azurite]:
    """An Azurite of this test's own, so that killing it disturbs no other test."""
    with Azurite() as service:
        use_local_services(monkeypatch, service.connection_string, emulator.url, COPY_BLOCK_MIB="1")
        yield service
        reset_runtime()


def test_storage_outage_mid_copy_is_retried_and_never_leaves_partial_media(
    own_azurite: Azurite, admin: EmulatorAdmin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document, payload = seed(
        admin, size_bytes=16 * MIB, format="mp4", content_type="audioVideo", channel_type="mixed"
    )
    admin.inject(document["documentId"], "content", {"kind": "slow", "bytesPerSecond": 4 * MIB})
    event_file = tmp_path / "event.json"
    event_file.write_bytes(payload)
    codes: list[int] = []
    run = threading.Thread(target=lambda: codes.append(cli_main(["archive", str(event_file)])))
    run.start()
    time.sleep(1.5)  # the copy is under way: a few MiB staged
    own_azurite.outage(8.0)
    run.join(timeout=180)
    first = json.loads(capsys.readouterr().out)
    # The SDK's own retries (15 s back-off) may ride the outage out (0); if not, the failure is
    # transient (2: run again). Never 1, "failed for good", as before this change.
    assert codes in ([0], [2]), first
    if codes == [2]:
        assert first["failed"] and first["failed"][0]["retry"] is True
        reset_runtime()
        archive = get_runtime().store.archive
        assert [n for n in names(archive) if n.endswith(".mp4")] == []  # no partial media under a final name
        assert cli_main(["archive", str(event_file)]) == 0
        first = json.loads(capsys.readouterr().out)
    [chunk] = first["chunks"]
    [media] = [b for b in chunk["blobs"] if b["name"].endswith(".mp4")]
    stored = get_runtime().store.archive.download_blob(media["name"]).readall()
    assert hashlib.sha256(stored).hexdigest() == document["sha256"] == media["sha256"]
