"""The Event Grid trigger with both delivery schemas, invoked as the host invokes it.

Every invocation goes through ``azure.functions``' own Event Grid converter (via the local
host): a CloudEvents 1.0 subscription hands the function a ``func.CloudEvent``, an Event Grid
schema subscription a ``func.EventGridEvent``. The same recording must archive either way, and
an invalid event must be kept with its reason either way.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from archiver.dev.emulator.client import EmulatorAdmin
from archiver.runtime import Runtime
from tests.integration.helpers import deliver, names, read, rejections, seed, work
from tests.support import as_cloud_event


def one_event(payload: bytes) -> dict[str, Any]:
    decoded = json.loads(payload)
    event: dict[str, Any] = decoded[0] if isinstance(decoded, list) else decoded
    return event


@pytest.mark.parametrize("schema", ["EventGridSchema", "CloudEventSchemaV1_0"])
def test_both_schemas_archive_the_same_recording(runtime: Runtime, admin: EmulatorAdmin, schema: str) -> None:
    document, payload = seed(admin, format="mp3", content_type="audio", channel_type="mixed")
    event = one_event(payload)
    delivered = event if schema == "EventGridSchema" else as_cloud_event(event)
    deliver(json.dumps([delivered]).encode())
    report = work(runtime)
    assert report.raised == 0 and report.succeeded == 1, report.errors
    [media] = [n for n in names(runtime.store.archive) if n.endswith(".mp3")]
    stored = runtime.store.archive.download_blob(media).readall()
    assert hashlib.sha256(stored).hexdigest() == document["sha256"]
    [manifest_name] = [n for n in names(runtime.store.archive) if n.endswith("chunk-000.manifest.json")]
    manifest = read(runtime.store.archive, manifest_name)
    assert manifest["eventId"] == event["id"]
    assert not rejections(runtime)


@pytest.mark.parametrize("schema", ["EventGridSchema", "CloudEventSchemaV1_0"])
def test_both_schemas_keep_an_invalid_event_with_its_reason(
    runtime: Runtime, admin: EmulatorAdmin, schema: str
) -> None:
    _, payload = seed(admin)
    event = one_event(payload)
    event["data"]["recordingStorageInfo"]["recordingChunks"] = []
    delivered = event if schema == "EventGridSchema" else as_cloud_event(event)
    deliver(json.dumps([delivered]).encode())  # acknowledged: no exception, no Event Grid retry
    [kept] = rejections(runtime)
    assert kept["reason"] == "missing_chunks" and kept["eventId"] == event["id"]
    assert not names(runtime.store.archive)
    assert admin.stats()["requests"] == []
