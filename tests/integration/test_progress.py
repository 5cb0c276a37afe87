"""Progress bars on long commands, on real Azurite and the emulator: bytes, rate and time left
on a terminal while ``archive``, ``participants export`` and ``verify --deep`` run; nothing at
all when the output is not a terminal, or with ``--json``."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from archiver import progress
from archiver.cli import main as cli_main
from archiver.dev.emulator.client import EmulatorAdmin
from archiver.runtime import Runtime
from tests.integration.helpers import PEOPLE, deliver, seed, work

MIB = 1024 * 1024
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BAR = "━"


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Standard error as a terminal would be: what the bars draw, with their escapes removed."""
    screen = io.StringIO()
    monkeypatch.setattr(progress, "terminal", lambda: Console(file=screen, force_terminal=True, width=120))
    monkeypatch.setattr(progress, "wanted", lambda *, json_output=False, stream=None: not json_output)
    yield screen


def shown(screen: io.StringIO) -> str:
    return ANSI.sub("", screen.getvalue())


def archived(runtime: Runtime, admin: EmulatorAdmin) -> dict[str, object]:
    document, payload = seed(
        admin, size_bytes=3 * MIB, format="mp4", content_type="audioVideo", channel_type="mixed"
    )
    deliver(payload)
    work(runtime)
    return document


def test_archive_shows_the_chunk_s_bytes_on_a_terminal(
    runtime: Runtime,
    admin: EmulatorAdmin,
    tmp_path: Path,
    terminal: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    document, payload = seed(
        admin, size_bytes=3 * MIB, format="mp4", content_type="audioVideo", channel_type="mixed"
    )
    event = tmp_path / "event.json"
    event.write_bytes(payload)
    assert cli_main(["archive", str(event)]) == 0
    text = shown(terminal)
    assert f"chunk 0 of call {json.loads(payload)[0]['subject'].split('/')[3][:16]}" in text
    assert "3.1/3.1 MB" in text and "0:00:00" in text
    summary = json.loads(capsys.readouterr().out)  # standard output is the JSON summary, untouched
    assert summary["chunks"][0]["blobs"][0]["size"] == document["size"]


def test_archive_draws_nothing_when_not_a_terminal(
    runtime: Runtime, admin: EmulatorAdmin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, payload = seed(admin)
    event = tmp_path / "event.json"
    event.write_bytes(payload)
    assert cli_main(["archive", str(event)]) == 0
    captured = capsys.readouterr()
    assert BAR not in captured.err and BAR not in captured.out
    assert runtime.source.on_media is None


def test_export_shows_the_bytes_it_downloads(
    runtime: Runtime,
    admin: EmulatorAdmin,
    tmp_path: Path,
    terminal: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    archived(runtime, admin)
    archived(runtime, admin)
    assert cli_main(["participants", "export", PEOPLE[0], "--to", str(tmp_path / "out")]) == 0
    text = shown(terminal)
    assert "export" in text and "6.3/6.3 MB" in text
    assert "exported 4 files" in capsys.readouterr().out
    assert runtime.store.on_read is None


def test_deep_verify_shows_what_it_rehashes_and_json_stays_clean(
    runtime: Runtime, admin: EmulatorAdmin, terminal: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    archived(runtime, admin)
    assert cli_main(["verify", "--deep"]) == 0
    text = shown(terminal)
    assert "re-hashing" in text and "3.1/3.1 MB" in text
    capsys.readouterr()
    before = len(terminal.getvalue())
    assert cli_main(["verify", "--deep", "--json"]) == 0
    assert len(terminal.getvalue()) == before, "no bar with --json"
    assert json.loads(capsys.readouterr().out)["intact"] is True
    assert cli_main(["verify"]) == 0
    assert len(terminal.getvalue()) == before, "the shallow check reads no blob: no bar"
