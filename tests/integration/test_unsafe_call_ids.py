"""A call id that is unsafe in a blob name costs nothing: the recording is archived, verified,
under a stable encoded folder name, with the raw id kept in its records (issue 10, point 5)."""

from __future__ import annotations

import json

import pytest

from archiver import layout
from archiver.cli import main as cli_main
from archiver.dev.emulator.client import EmulatorAdmin
from archiver.runtime import Runtime
from tests.integration.helpers import deliver, names, seed, work


@pytest.mark.parametrize("call_id", ["..", "call 42 (Zürich) \u202e", "a%2e%2e\\b"])
def test_a_recording_with_an_odd_call_id_is_archived_under_an_encoded_name(
    runtime: Runtime, admin: EmulatorAdmin, call_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    document, payload = seed(admin, call_id=call_id)
    assert json.loads(payload)[0]["subject"].startswith(f"/recording/call/{call_id}/")
    deliver(payload)
    deliver(payload)  # a redelivery lands on the same names
    work(runtime)
    archived = names(runtime.store.archive)
    segment = layout.name_segment(call_id)
    assert segment.startswith("_") and {name.split("/")[3] for name in archived} == {segment}
    assert len(archived) == 4  # media, metadata, chunk manifest, recording manifest: once each
    [manifest_name] = [n for n in archived if n.endswith(".manifest.json")]
    manifest = runtime.store.chunk_manifest(manifest_name)
    assert manifest is not None and manifest.call_id == call_id  # the raw id, inside the record
    assert manifest.media.sha256 == document["sha256"]
    capsys.readouterr()
    assert cli_main(["verify", "--deep"]) == 0
