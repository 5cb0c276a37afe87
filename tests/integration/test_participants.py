"""Data-subject requests: find, export and erase a person's recordings through the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from archiver.cli import main as cli_main
from archiver.dev.emulator.client import EmulatorAdmin
from archiver.runtime import Runtime
from tests.integration.helpers import PEOPLE, deliver, names, seed, work

ALICE, BOB = PEOPLE
CAROL = "8:orgid:2b9f6e3a-1111-2222-3333-444455556666"


def archive_three_calls(runtime: Runtime, admin: EmulatorAdmin) -> list[dict]:
    documents = []
    for people in ([ALICE, BOB], [ALICE, CAROL], [BOB, CAROL]):
        document, payload = seed(admin, participants=people)
        deliver(payload)
        documents.append(document)
    work(runtime)
    return documents


@pytest.mark.mutable_archive
def test_find_export_and_erase(
    runtime: Runtime, admin: EmulatorAdmin, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    documents = archive_three_calls(runtime, admin)
    capsys.readouterr()

    assert cli_main(["participants", "find", ALICE, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert sorted(e["documentId"] for e in found) == sorted(d["documentId"] for d in documents[:2])
    assert all(e["participantId"] == ALICE for e in found)
    assert cli_main(["participants", "find", ALICE]) == 0
    assert "chunk-000.wav" in capsys.readouterr().out

    assert cli_main(["participants", "export", ALICE, "--to", str(tmp_path)]) == 0
    exported = sorted(p for p in tmp_path.rglob("*.wav"))
    assert sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in exported) == sorted(
        d["sha256"] for d in documents[:2]
    )

    before = names(runtime.store.archive)
    assert cli_main(["participants", "erase", ALICE]) == 0  # dry run
    assert "would be deleted" in capsys.readouterr().out
    assert names(runtime.store.archive) == before

    assert cli_main(["participants", "erase", ALICE, "--yes"]) == 0
    capsys.readouterr()
    assert cli_main(["participants", "find", ALICE, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    # Bob's and Carol's call is untouched; nobody keeps an entry for an erased recording.
    remaining = [n for n in names(runtime.store.archive) if n.endswith(".wav")]
    assert len(remaining) == 1
    for person in (BOB, CAROL):
        assert cli_main(["participants", "find", person, "--json"]) == 0
        assert [e["documentId"] for e in json.loads(capsys.readouterr().out)] == [documents[2]["documentId"]]
    assert len(names(runtime.store.index)) == 2
