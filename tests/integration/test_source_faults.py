"""Source faults injected in the emulator, per document: what users of ACS actually see."""

from __future__ import annotations

import hashlib
import http.server
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from archiver.dev.emulator.client import EmulatorAdmin
from archiver.runtime import Runtime
from tests.integration.helpers import deliver, failures, names, seed, work

MIB = 1024 * 1024


def archived_sha(runtime: Runtime) -> list[str]:
    media = [n for n in names(runtime.store.archive) if n.endswith((".wav", ".mp4", ".mp3", ".bin"))]
    return [hashlib.sha256(runtime.store.archive.download_blob(n).readall()).hexdigest() for n in media]


def content_requests(admin: EmulatorAdmin, document_id: str) -> list[dict[str, Any]]:
    return [r for r in admin.stats()["requests"] if r["path"].endswith(("/content/audio", "/content/video"))
            and document_id in r["path"]]  # fmt: skip


TRANSIENT = {
    "503 with Retry-After": [{"kind": "status", "status": 503, "retryAfter": 1}],
    "429 with Retry-After": [{"kind": "status", "status": 429, "retryAfter": 1}],
    "500, 502, 504": [{"kind": "status", "status": s} for s in (500, 502, 504)],
    "first answer has 0 bytes": [{"kind": "empty"}],
    "200 with an HTML page": [{"kind": "html", "status": 200}],
    "400 with an HTML page": [{"kind": "html", "status": 400}],
    "reset mid-body": [{"kind": "reset", "afterBytes": 3 * MIB}],
    "two resets": [{"kind": "reset", "afterBytes": MIB}, {"kind": "reset", "afterBytes": 100}],
}


@pytest.mark.parametrize("faults", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_content_faults_are_retried_to_a_verified_archive(
    runtime: Runtime, admin: EmulatorAdmin, faults: list[dict[str, Any]]
) -> None:
    document, payload = seed(
        admin, size_bytes=8 * MIB, format="mp4", content_type="audioVideo", channel_type="mixed"
    )
    admin.inject(document["documentId"], "content", *faults)
    deliver(payload)
    report = work(runtime)
    assert (report.invocations, report.raised) == (1, 0), report.errors  # recovered within one attempt
    assert archived_sha(runtime) == [document["sha256"]]
    assert not failures(runtime)
    assert admin.pending_faults() == []  # every fault was really hit


def test_reset_resumes_by_range_instead_of_starting_over(runtime: Runtime, admin: EmulatorAdmin) -> None:
    document, payload = seed(
        admin, size_bytes=8 * MIB, format="mp4", content_type="audioVideo", channel_type="mixed"
    )
    admin.inject(document["documentId"], "content", {"kind": "reset", "afterBytes": 5 * MIB})
    deliver(payload)
    work(runtime)
    first, second = content_requests(admin, document["documentId"])
    assert not first["range"]
    # The reset discards what was still in flight; the retry asks for exactly what is missing.
    resumed_at = int(second["range"].removeprefix("bytes=").split("-")[0])
    assert 0 < resumed_at <= 5 * MIB
    assert second["bytesSent"] == document["size"] - resumed_at
    assert archived_sha(runtime) == [document["sha256"]]


def test_metadata_faults_are_retried_too(runtime: Runtime, admin: EmulatorAdmin) -> None:
    document, payload = seed(admin)
    admin.inject(document["documentId"], "metadata", {"kind": "status", "status": 503}, {"kind": "empty"})
    deliver(payload)
    work(runtime)
    assert archived_sha(runtime) == [document["sha256"]]


def test_slow_response_past_the_timeout_is_retried(
    runtime: Runtime, admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archiver.runtime import get_runtime, reset_runtime

    monkeypatch.setenv("SOURCE_TIMEOUT_SECONDS", "1")
    reset_runtime()
    runtime = get_runtime()
    document, payload = seed(admin)
    admin.inject(document["documentId"], "content", {"kind": "delay", "seconds": 3})
    deliver(payload)
    work(runtime)
    assert archived_sha(runtime) == [document["sha256"]]


def test_redirect_to_an_allowed_host_is_followed(runtime: Runtime, admin: EmulatorAdmin) -> None:
    document, payload = seed(admin)
    moved = f"https://westus-storage.asm.skype.com/v1/objects/{document['documentId']}/content/audio"
    admin.inject(document["documentId"], "content", {"kind": "redirect", "status": 307, "location": moved})
    deliver(payload)
    work(runtime)
    assert archived_sha(runtime) == [document["sha256"]]
    hosts = [r.get("host") for r in content_requests(admin, document["documentId"])]
    assert len(hosts) == 2


@pytest.fixture
def trap() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A server that would love to receive our credentials; it must never be called."""
    calls: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            calls.append(dict(self.headers))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "where", ["{trap}/steal", "https://attacker.example/steal", "https://asm.skype.com.evil.example/x"]
)
def test_redirect_off_the_allowlist_is_refused_and_recorded(
    runtime: Runtime, admin: EmulatorAdmin, trap: tuple[str, list[dict[str, str]]], where: str
) -> None:
    url, calls = trap
    document, payload = seed(admin)
    admin.inject(document["documentId"], "content", {"kind": "redirect", "location": where.format(trap=url)})
    deliver(payload)
    work(runtime)
    assert calls == []
    assert not [n for n in names(runtime.store.archive) if n.endswith("manifest.json")]
    [failure] = failures(runtime)
    assert failure["reason"] == "redirect_not_allowed"
    assert failure["job"]["chunk"]["document_id"] == document["documentId"]


@pytest.mark.parametrize("status", [401, 403])
def test_credentials_refused_keeps_the_job_and_names_the_setting(
    runtime: Runtime, admin: EmulatorAdmin, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    document, payload = seed(admin)
    admin.inject(document["documentId"], "metadata", {"kind": "status", "status": status})
    deliver(payload)
    with caplog.at_level(logging.INFO, logger="archiver"):
        report = work(runtime, timeout=30, wait_for_delayed=False)
    assert report.invocations == 1  # no tight retry loop
    assert runtime.queue.jobs.get_queue_properties().approximate_message_count == 1  # kept, delayed
    lines = [r.getMessage() for r in caplog.records if "ARCHIVER_CONFIG" in r.getMessage()]
    assert lines and "ACS_CONNECTION_STRING" in lines[0] and "delay_s=300" in lines[0]
    assert "ARCHIVER_AT_RISK" not in caplog.text  # a fresh job has nearly 24 h left
    assert not failures(runtime) and not names(runtime.store.archive)


def test_404_before_the_deadline_is_retried_later(runtime: Runtime, admin: EmulatorAdmin) -> None:
    document, payload = seed(admin)
    admin.inject(document["documentId"], "content", {"kind": "status", "status": 404})
    deliver(payload)
    report = work(runtime, timeout=30, wait_for_delayed=False)
    assert report.invocations == 1
    assert runtime.queue.jobs.get_queue_properties().approximate_message_count == 1
    assert not failures(runtime)


def test_404_after_the_deadline_records_the_loss(
    runtime: Runtime, admin: EmulatorAdmin, caplog: pytest.LogCaptureFixture
) -> None:
    document, payload = seed(admin)
    old = payload.replace(b'"eventTime": "2026', b'"eventTime": "2020').replace(
        b'"eventTime": "2027', b'"eventTime": "2020'
    )
    admin.forget_document(document["documentId"])
    deliver(old)
    with caplog.at_level(logging.INFO, logger="archiver"):
        work(runtime)
    [failure] = failures(runtime)
    assert failure["reason"] == "recording_lost"
    assert failure["marginSeconds"] < 0
    assert runtime.queue.jobs.get_queue_properties().approximate_message_count == 0
    assert any(
        "ARCHIVER_FAILED" in r.getMessage() and "recording_lost" in r.getMessage() for r in caplog.records
    )
