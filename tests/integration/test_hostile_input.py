"""A table of bad and hostile events and metadata files. For every case: a specific reason,
no request reaches the source, no archive blob, and the event or job is kept with its reason."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from archiver import layout
from archiver.dev.emulator.client import EmulatorAdmin
from archiver.ingress import ingest
from archiver.runtime import Runtime, get_runtime, reset_runtime
from tests.integration.helpers import deliver, failures, names, rejections, seed, work
from tests.support import SAMPLES

BASE: dict[str, Any] = json.loads((SAMPLES / "eventgrid-mixed-mp4.json").read_text())[0]
CHUNK = ("data", "recordingStorageInfo", "recordingChunks", 0)
GOOD_CALL = "5f2a4b9e-1c3d-4e8f-a7b6-c9d0e1f2a3b4"


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(event: dict[str, Any]) -> None:
        target = event
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return apply


_DELETE = object()


def _chunk(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return _set((*CHUNK, field), value)


def _url(url: str) -> Callable[[dict[str, Any]], None]:
    return _chunk("contentLocation", url)


def _subject_call(call_id: str) -> Callable[[dict[str, Any]], None]:
    return _set(("subject",), f"/recording/call/{call_id}/serverCallId/aHR0cHM6Ly9")


def _chunks(chunks: Any) -> Callable[[dict[str, Any]], None]:
    return _set(("data", "recordingStorageInfo", "recordingChunks"), chunks)


def _many_chunks(count: int) -> Callable[[dict[str, Any]], None]:
    def apply(event: dict[str, Any]) -> None:
        template = event["data"]["recordingStorageInfo"]["recordingChunks"][0]
        event["data"]["recordingStorageInfo"]["recordingChunks"] = [
            {**template, "documentId": f"{i}-eus-d6-{i:032x}", "index": i} for i in range(count)
        ]

    return apply


def _duplicate(field: str) -> Callable[[dict[str, Any]], None]:
    def apply(event: dict[str, Any]) -> None:
        chunks = event["data"]["recordingStorageInfo"]["recordingChunks"]
        other = {**chunks[0], "documentId": "1-eus-d6-ffff", "index": 1}
        other[field] = chunks[0][field]
        chunks.append(other)

    return apply


# (case id, mutation of a valid event, expected reason)
EVENT_CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("wrong event type", _set(("eventType",), "Microsoft.Communication.CallStarted"), "wrong_event_type"),
    ("validation handshake type", _set(("eventType",), "Microsoft.EventGrid.SubscriptionValidationEvent"),
     "wrong_event_type"),
    ("event type in other casing", _set(("eventType",), "microsoft.communication.recordingfilestatusupdated"),
     "wrong_event_type"),
    ("missing event type", _set(("eventType",), _DELETE), "invalid_envelope"),
    ("event type not a string", _set(("eventType",), 7), "invalid_envelope"),
    ("missing id", _set(("id",), _DELETE), "invalid_envelope"),
    ("empty id", _set(("id",), ""), "invalid_envelope"),
    ("wrong topic", _set(("topic",), BASE["topic"].replace("acs-contoso", "acs-attacker")), "topic_not_allowed"),
    ("missing topic", _set(("topic",), _DELETE), "topic_not_allowed"),
    ("topic of another subscription", _set(("topic",), BASE["topic"].replace("00000000-0000", "11111111-0000")),
     "topic_not_allowed"),
    ("missing subject", _set(("subject",), _DELETE), "invalid_envelope"),
    ("subject of another kind", _set(("subject",), "/calling/call/abc"), "invalid_subject"),
    ("subject with extra segments", _set(("subject",), f"/recording/call/{GOOD_CALL}/x/y/z"), "invalid_subject"),
    ("callId with ../", _subject_call("../../etc"), "invalid_subject"),
    ("no data", _set(("data",), _DELETE), "invalid_data"),
    ("data is a string", _set(("data",), "recording"), "invalid_data"),
    ("missing recordingStorageInfo", _set(("data", "recordingStorageInfo"), _DELETE), "missing_chunks"),
    ("missing chunk list", _set(("data", "recordingStorageInfo", "recordingChunks"), _DELETE), "missing_chunks"),
    ("empty chunk list", _chunks([]), "missing_chunks"),
    ("null chunk list", _chunks(None), "missing_chunks"),
    ("chunk list is an object", _chunks({"documentId": "x"}), "missing_chunks"),
    ("chunk is a string", _chunks(["0-eus-d6-abc"]), "missing_chunks"),
    ("huge chunk list", _many_chunks(5000), "too_many_chunks"),
    ("duplicate documentIds", _duplicate("documentId"), "duplicate_chunk"),
    ("duplicate chunk index", _duplicate("index"), "duplicate_chunk"),
    ("negative chunk index", _chunk("index", -1), "missing_chunks"),
    ("chunk index not a number", _chunk("index", "first"), "missing_chunks"),
    ("documentId missing", _chunk("documentId", _DELETE), "missing_chunks"),
    ("documentId empty", _chunk("documentId", ""), "unsafe_identifier"),
    ("documentId with ../", _chunk("documentId", "../../other-call/chunk"), "unsafe_identifier"),
    ("documentId with %2e%2e", _chunk("documentId", "%2e%2e%2fx"), "unsafe_identifier"),
    ("documentId with slash", _chunk("documentId", "a/b"), "unsafe_identifier"),
    ("documentId with control character", _chunk("documentId", "0-eus\r\nx"), "unsafe_identifier"),
    ("documentId with unicode lookalike", _chunk("documentId", "0-eus-d6-аbc"), "unsafe_identifier"),
    ("documentId too long", _chunk("documentId", "0" * 500), "unsafe_identifier"),
    ("documentId not a string", _chunk("documentId", 12345), "missing_chunks"),
    ("plain http URL", _url("http://us-storage.asm.skype.com/v1/objects/x/content/video"), "url_not_allowed"),
    ("IPv4 literal", _url("https://52.114.1.1/v1/objects/x/content/video"), "url_not_allowed"),
    ("metadata service address", _url("https://169.254.169.254/metadata/identity/oauth2/token"), "url_not_allowed"),
    ("IPv6 literal", _url("https://[fd00::1]/x"), "url_not_allowed"),
    ("loopback without the dev setting", _url("http://127.0.0.1:10000/devstoreaccount1"), "url_not_allowed"),
    ("localhost", _url("https://localhost/x"), "url_not_allowed"),
    ("userinfo", _url("https://user:secret@us-storage.asm.skype.com/x"), "url_not_allowed"),
    ("userinfo hiding the host", _url("https://us-storage.asm.skype.com@evil.example/x"), "url_not_allowed"),
    ("unusual port", _url("https://us-storage.asm.skype.com:8443/x"), "url_not_allowed"),
    ("suffix as a prefix", _url("https://us-storage.asm.skype.com.evil.example/x"), "url_not_allowed"),
    ("suffix inside a label", _url("https://evilasm.skype.com/x"), "url_not_allowed"),
    ("bare allowed domain", _url("https://asm.skype.com/x"), "url_not_allowed"),
    ("punycode host", _url("https://xn--us-storage-asm-skype-com.evil.example/x"), "url_not_allowed"),
    ("unicode host", _url("https://us-storage.asm.skype.cοm/x"), "url_not_allowed"),
    ("trailing dot host", _url("https://us-storage.asm.skype.com./x"), "url_not_allowed"),
    ("file scheme", _url("file:///etc/passwd"), "url_not_allowed"),
    ("data scheme", _url("data:text/plain,hello"), "url_not_allowed"),
    ("CRLF in URL", _url("https://us-storage.asm.skype.com/x\r\nHost: evil.example"), "url_not_allowed"),
    ("backslash authority", _url("https://evil.example\\@us-storage.asm.skype.com/x"), "url_not_allowed"),
    ("scheme-relative URL", _url("//us-storage.asm.skype.com/x"), "url_not_allowed"),
    ("bad metadataLocation", _chunk("metadataLocation", "https://evil.example/meta"), "url_not_allowed"),
    ("bad deleteLocation", _chunk("deleteLocation", "https://evil.example/delete"), "url_not_allowed"),
    ("only contentLocation", _chunk("metadataLocation", _DELETE), "missing_location"),
    ("URL too long", _url("https://us-storage.asm.skype.com/" + "a" * 5000), "missing_chunks"),
    ("negative duration", _set(("data", "recordingDurationMs"), -5), "invalid_data"),
    ("start time not a time", _set(("data", "recordingStartTime"), "yesterday"), "invalid_data"),
    ("event time not a time", _set(("eventTime",), "soon"), "invalid_envelope"),
]  # fmt: skip

# Identifiers that only name things never cost a recording (issue 10, point 5): the event is
# accepted, and an unsafe call id becomes a stable encoded folder name. (case id, mutation,
# the call id the job must carry)
NAMING_CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("callId with %2e%2e", _subject_call("%2e%2e"), "%2e%2e"),
    ("callId with dot segment", _subject_call(".."), ".."),
    ("callId with newline", _subject_call("abc\ndef"), "abc\ndef"),
    ("callId with NUL", _subject_call("abc\x00def"), "abc\x00def"),
    ("callId with fullwidth letters", _subject_call("ａｂｃ"), "ａｂｃ"),
    ("callId with RTL override", _subject_call("abc\u202edef"), "abc\u202edef"),
    ("callId too long", _subject_call("a" * 300), "a" * 300),
    ("callId with backslash", _subject_call("a\\b"), "a\\b"),
    ("serverCallId with dots", _set(("subject",), f"/recording/call/{GOOD_CALL}/serverCallId/a..b"), GOOD_CALL),
    ("recordingId in data with slash", lambda e: (_subject_call(GOOD_CALL)(e), _set(("data", "recordingId"), "../x")(e)),
     GOOD_CALL),
]  # fmt: skip

RAW_CASES: list[tuple[str, bytes, str]] = [
    ("not JSON", b'{"id": "x", "eventType": ', "malformed_json"),
    ("empty body", b"", "malformed_json"),
    ("empty array", b"[]", "no_events"),
    ("JSON scalar", b"42", "invalid_envelope"),
    ("array of strings", b'["event"]', "invalid_envelope"),
    ("invalid UTF-8", b'{"id": "\xff\xfe"}', "malformed_json"),
]


@pytest.fixture
def strict_runtime(archiver_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """Only the sample's ACS resource is accepted."""
    monkeypatch.setenv("ALLOWED_ACS_RESOURCE_IDS", BASE["topic"])
    reset_runtime()
    return get_runtime()


@pytest.fixture
def small_metadata_runtime(archiver_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("MAX_METADATA_BYTES", "4096")
    reset_runtime()
    return get_runtime()


def assert_nothing_happened(runtime: Runtime, admin: EmulatorAdmin) -> None:
    assert admin.stats()["requestCount"] == 0
    assert names(runtime.store.archive) == []
    runtime.queue.ensure()
    assert runtime.queue.jobs.get_queue_properties().approximate_message_count == 0


def test_the_base_event_is_accepted(strict_runtime: Runtime) -> None:
    queued: list[Any] = []
    result = ingest(json.dumps([BASE]).encode(), strict_runtime.settings, strict_runtime.store, queued.append)
    assert len(result.accepted) == 1 and not result.rejected


@pytest.mark.parametrize(
    ("mutate", "reason"), [(m, r) for _, m, r in EVENT_CASES], ids=[c for c, _, _ in EVENT_CASES]
)
def test_bad_event_is_kept_with_its_reason_and_nothing_is_fetched(
    strict_runtime: Runtime, admin: EmulatorAdmin, mutate: Callable[[dict[str, Any]], None], reason: str
) -> None:
    event = copy.deepcopy(BASE)
    mutate(event)
    payload = json.dumps([event]).encode()
    result = ingest(payload, strict_runtime.settings, strict_runtime.store, strict_runtime.queue.put)
    assert [r["reason"] for r in result.rejected] == [reason], result.rejected
    [kept] = rejections(strict_runtime)
    assert kept["reason"] == reason and kept["message"]
    assert kept["payload"] == payload.decode()
    assert_nothing_happened(strict_runtime, admin)


@pytest.mark.parametrize(
    ("mutate", "call_id"), [(m, c) for _, m, c in NAMING_CASES], ids=[c for c, _, _ in NAMING_CASES]
)
def test_identifier_unsafe_in_a_blob_name_is_encoded_not_rejected(
    strict_runtime: Runtime, admin: EmulatorAdmin, mutate: Callable[[dict[str, Any]], None], call_id: str
) -> None:
    event = copy.deepcopy(BASE)
    mutate(event)
    payload = json.dumps([event]).encode()
    queued: list[Any] = []
    result = ingest(payload, strict_runtime.settings, strict_runtime.store, queued.append)
    assert not result.rejected
    [job] = queued
    assert job.recording.call_id == call_id  # the raw id is kept for the manifests
    folder = layout.recording_folder(job.recording)
    segment = folder.split("/")[3]
    assert segment == layout.name_segment(call_id)  # stable: the same on every redelivery
    assert segment == call_id or (segment.startswith("_") and segment[1:].isalnum() and len(segment) == 53)
    assert segment.isascii() and segment not in (".", "..")
    for name in (layout.media_blob(job, "mp4"), layout.chunk_manifest_blob(job), layout.failure_blob(job)):
        assert all(part and part not in (".", "..") and part.isprintable() for part in name.split("/"))
        assert segment in name.split("/")
    assert admin.stats()["requestCount"] == 0  # ingress never fetches


@pytest.mark.parametrize(
    ("payload", "reason"), [(p, r) for _, p, r in RAW_CASES], ids=[c for c, _, _ in RAW_CASES]
)
def test_unparseable_payload_is_kept(
    strict_runtime: Runtime, admin: EmulatorAdmin, payload: bytes, reason: str
) -> None:
    result = ingest(payload, strict_runtime.settings, strict_runtime.store, strict_runtime.queue.put)
    assert [r["reason"] for r in result.rejected] == [reason]
    [kept] = rejections(strict_runtime)
    assert kept["reason"] == reason
    assert_nothing_happened(strict_runtime, admin)


def test_bad_event_through_the_function_is_acknowledged_not_raised(
    strict_runtime: Runtime, admin: EmulatorAdmin
) -> None:
    event = copy.deepcopy(BASE)
    _url("https://169.254.169.254/latest/meta-data")(event)
    deliver(json.dumps([event]).encode())  # returns normally: Event Grid must not retry it
    assert [k["reason"] for k in rejections(strict_runtime)] == ["url_not_allowed"]
    assert_nothing_happened(strict_runtime, admin)


def test_one_bad_event_in_a_batch_does_not_block_the_good_one(strict_runtime: Runtime) -> None:
    bad = copy.deepcopy(BASE)
    bad["eventType"] = "Something.Else"
    queued: list[Any] = []
    result = ingest(
        json.dumps([bad, BASE]).encode(), strict_runtime.settings, strict_runtime.store, queued.append
    )
    assert len(queued) == 1 and [r["reason"] for r in result.rejected] == ["wrong_event_type"]
    assert json.loads(rejections(strict_runtime)[0]["payload"])["eventType"] == "Something.Else"


PEOPLE_OK = [{"participantId": "4:+14255550100"}]
METADATA_CASES: list[tuple[str, str, str]] = [
    ("metadata not JSON", "<html><body>Service Unavailable</body></html>", "metadata_not_json"),
    ("metadata truncated", '{"participants": [', "metadata_not_json"),
    ("metadata is an array", json.dumps([{"participants": PEOPLE_OK}]), "metadata_not_object"),
    ("metadata is blank", "   ", "metadata_empty"),
    ("metadata too large", json.dumps({"participants": PEOPLE_OK, "padding": "x" * 5000}), "metadata_too_large"),
    ("participant id is a number", json.dumps({"participants": [{"participantId": 14255550100}]}), "metadata_invalid"),
    ("participant id is a list", json.dumps({"participants": [{"participantId": ["8:acs:x"]}]}), "metadata_invalid"),
    ("participant id is null", json.dumps({"participants": [{"participantId": None}]}), "metadata_invalid"),
    ("participant id is an object", json.dumps({"participants": [{"participantId": {"id": "x"}}]}), "metadata_invalid"),
    ("participant id has control characters", json.dumps({"participants": [{"participantId": "4:+1\n"}]}),
     "metadata_invalid"),
    ("participants is a string", json.dumps({"participants": "4:+14255550100"}), "metadata_invalid"),
    ("participant is a string", json.dumps({"participants": ["4:+14255550100"]}), "metadata_invalid"),
    ("channel is negative", json.dumps({"participants": [{"participantId": "4:+1", "channel": -1}]}),
     "metadata_invalid"),
    ("channel is text", json.dumps({"participants": [{"participantId": "4:+1", "channel": "left"}]}),
     "metadata_invalid"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "reason"), [(t, r) for _, t, r in METADATA_CASES], ids=[c for c, _, _ in METADATA_CASES]
)
def test_bad_metadata_stops_before_the_media_and_keeps_the_job(
    small_metadata_runtime: Runtime, admin: EmulatorAdmin, text: str, reason: str
) -> None:
    document, payload = seed(admin, metadata=text)
    admin.reset_stats()
    deliver(payload)
    work(small_metadata_runtime)
    [failure] = failures(small_metadata_runtime)
    assert failure["reason"] == reason
    assert failure["job"]["chunk"]["document_id"] == document["documentId"]
    paths = [r["path"] for r in admin.stats()["requests"]]
    assert paths and all(p.endswith("/content/acsmetadata") for p in paths)  # media never requested
    assert names(small_metadata_runtime.store.archive) == []
    assert small_metadata_runtime.queue.jobs.get_queue_properties().approximate_message_count == 0


def test_corpus_size() -> None:
    assert len(EVENT_CASES) + len(NAMING_CASES) + len(RAW_CASES) + len(METADATA_CASES) >= 60
