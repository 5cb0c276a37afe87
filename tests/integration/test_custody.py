"""Chain of custody on a WORM archive: legal holds per case, erasure that respects holds and
retention, and an audit record for every action, with no raw identity in it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from archiver.cli import main as cli_main
from archiver.dev.emulator.client import EmulatorAdmin
from archiver.runtime import Runtime, get_runtime, reset_runtime
from tests.doubles.immutable_blob_proxy import ImmutableBlobProxy
from tests.integration.helpers import PEOPLE, deliver, names, seed, work

ALICE, BOB = PEOPLE
CAROL = "8:orgid:2b9f6e3a-1111-2222-3333-444455556666"


def archive_calls(runtime: Runtime, admin: EmulatorAdmin, *groups: list[str]) -> list[dict[str, Any]]:
    documents = []
    for people in groups:
        document, payload = seed(admin, participants=people)
        deliver(payload)
        documents.append(document)
    work(runtime)
    return documents


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """A command as the records officer runs it (``--operator`` where the command records one)."""
    acting = argv[:2] not in (("audit", "list"), ("hold", "list"))
    code = cli_main([*argv, "--operator", "records-officer"] if acting else list(argv))
    return code, capsys.readouterr().out


def call_of(runtime: Runtime, document: dict[str, Any]) -> tuple[str, list[str]]:
    """The call id the archive filed the document under, and that recording's blobs."""
    manifests = [
        json.loads(runtime.store.archive.download_blob(n).readall())
        for n in names(runtime.store.archive)
        if n.endswith(".manifest.json")
    ]
    [manifest] = [m for m in manifests if m["documentId"] == document["documentId"]]
    folder = manifest["media"]["blob"].rsplit("/", 1)[0]
    return manifest["callId"], names(runtime.store.archive, folder + "/")


@pytest.mark.mutable_archive
def test_holds_block_erasure_and_one_case_never_releases_another(
    runtime: Runtime, admin: EmulatorAdmin, worm: ImmutableBlobProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = archive_calls(runtime, admin, [ALICE, BOB], [ALICE, CAROL])
    call_a, blobs_a = call_of(runtime, first)
    _, blobs_b = call_of(runtime, second)

    assert run(capsys, "hold", "set", "--case", "MATTER-1", "--call", call_a)[0] == 0
    assert run(capsys, "hold", "set", "--case", "MATTER-2", "--participant", BOB)[0] == 0
    assert all(worm.legal_hold("recordings", blob) for blob in blobs_a)  # the storage flag itself
    assert not any(worm.legal_hold("recordings", blob) for blob in blobs_b)
    code, listing = run(capsys, "hold", "list")
    assert code == 0 and "MATTER-1" in listing and "MATTER-2" in listing

    code, out = run(capsys, "participants", "erase", ALICE, "--yes")
    assert code == 1  # something was left: call A is held
    assert "LEFT WHOLE" in out and "held for case MATTER-1" in out and "held for case MATTER-2" in out
    assert names(runtime.store.archive, blobs_a[0].rsplit("/", 1)[0]) == blobs_a  # nothing of A gone
    assert not [n for n in names(runtime.store.archive) if n in blobs_b]  # B erased whole

    code, out = run(capsys, "hold", "clear", "--case", "MATTER-1")
    assert code == 0 and "still held for MATTER-2" in out
    assert all(worm.legal_hold("recordings", blob) for blob in blobs_a)  # MATTER-2 still holds all
    code, out = run(capsys, "participants", "erase", ALICE, "--yes")
    assert code == 1 and "held for case MATTER-2" in out and "MATTER-1" not in out

    code, out = run(capsys, "hold", "clear", "--case", "MATTER-2")
    assert code == 0 and f"{len(blobs_a)} objects released" in out
    assert not any(worm.legal_hold("recordings", blob) for blob in blobs_a)
    assert run(capsys, "participants", "erase", ALICE, "--yes")[0] == 0
    assert [n for n in names(runtime.store.archive) if n.endswith(".wav")] == []

    code, out = run(capsys, "audit", "list", "--json")
    records = json.loads(out)
    actions = [r["action"] for r in records]
    assert actions.count("hold_set") == 2 and actions.count("hold_clear") == 2 and actions.count("erase") == 3
    assert {r["operator"] for r in records} == {"records-officer"}
    assert [r["outcome"] for r in records if r["action"] == "erase"] == ["partial", "partial", "done"]
    stored = b"".join(runtime.store.audit.download_blob(n).readall() for n in names(runtime.store.audit))
    assert b"8:acs:" not in stored and b"4:+" not in stored and b"8:orgid:" not in stored
    code, table = run(capsys, "audit", "list")
    assert code == 0 and "hold_clear" in table and "records-officer" in table


def test_erasure_under_retention_leaves_every_recording_whole(
    runtime: Runtime, admin: EmulatorAdmin, worm: ImmutableBlobProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    archive_calls(runtime, admin, [ALICE, BOB])
    before = names(runtime.store.archive)
    index_before = names(runtime.store.index)
    code, out = run(capsys, "participants", "erase", ALICE, "--yes")
    assert code == 1 and "retention policy protects it" in out  # length unknown: no date to give
    assert names(runtime.store.archive) == before and names(runtime.store.index) == index_before
    assert worm.refusals("recordings") == []  # it never even tried: planned, not attempted


def test_erasure_says_until_when_the_container_retains_a_recording(
    runtime: Runtime, admin: EmulatorAdmin, worm: ImmutableBlobProxy, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    archive_calls(runtime, admin, [ALICE, BOB])
    before = names(runtime.store.archive)
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", "30")  # as the deployment sets it with the policy
    reset_runtime()
    code, out = run(capsys, "participants", "erase", ALICE, "--yes")
    assert code == 1 and "(container policy, 30 days)" in out
    created = get_runtime().store.archive.get_blob_client(before[0]).get_blob_properties().creation_time
    assert f"retained until {(created + timedelta(days=30)).isoformat()}" in out
    assert names(get_runtime().store.archive) == before


def test_a_hold_on_an_account_that_cannot_hold_says_which_setting(
    runtime: Runtime, admin: EmulatorAdmin, azurite: Any, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    [document] = archive_calls(runtime, admin, [ALICE, BOB])
    call_id, _ = call_of(runtime, document)
    monkeypatch.setenv("ARCHIVE_STORAGE_CONNECTION_STRING", azurite.connection_string)  # no immutability
    reset_runtime()
    code = cli_main(["hold", "set", "--case", "MATTER-9", "--call", call_id])
    err = capsys.readouterr().err
    assert code == 3 and "immutability=version" in err
    assert names(get_runtime().store.holds) == []
