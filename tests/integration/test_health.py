"""The archive's health at a glance, on real Azurite and the emulator: the metrics of a known run
through the Function App's own functions, ``status`` and the HTML report on the same archive
(the same numbers the workbook would chart from those metrics), and the report drawn in
headless Chromium with every chart on the screen.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from archiver import figures, health, metrics
from archiver.cli import main as cli_main
from archiver.commands import status
from archiver.commands.report import COLORS
from archiver.dev.deadletter import write_dead_letter
from archiver.dev.emulator.client import EmulatorAdmin
from archiver.dev.host import local_host
from archiver.events import jobs_from_event, split_payload
from archiver.jobs import RecordingJob
from archiver.records import ChunkManifest
from archiver.runtime import Runtime
from archiver.store import now_utc
from tests.integration.helpers import deliver, fire_redrive, names, seed, work
from tests.unit.metric_reading import Readings, read, recording

MIB = 1024 * 1024
SCREENSHOT_SIZE = (1280, 2400)
# Set to a path to keep the rendered report's screenshot (README's docs/report.png is made so).
KEEP_SCREENSHOT = "ARCHIVER_REPORT_SCREENSHOT"


def wrong_type(payload: bytes) -> bytes:
    [event] = json.loads(payload)
    event["eventType"] = "Microsoft.Communication.SomethingElse"
    event["id"] = f"wrong-{event['id']}"
    return json.dumps([event]).encode()


def known_run(runtime: Runtime, admin: EmulatorAdmin) -> None:
    """Two chunks archived, one failing on its metadata, one retried later, one event rejected."""
    _, audio = seed(admin)
    _, video = seed(admin, size_bytes=2 * MIB, format="mp4", content_type="audioVideo", channel_type="mixed")
    _, bad_metadata = seed(admin, metadata="<html><body>Service Unavailable</body></html>")
    slow, slow_payload = seed(admin)
    admin.inject(slow["documentId"], "content", *[{"kind": "status", "status": 503}] * 5)
    for payload in (audio, video, bad_metadata, slow_payload, wrong_type(audio)):
        deliver(payload)
    work(runtime, timeout=120, wait_for_delayed=False)  # the 503s leave one job delayed in the queue


def manifests(runtime: Runtime) -> list[ChunkManifest]:
    found = [
        runtime.store.chunk_manifest(n)
        for n in names(runtime.store.archive)
        if n.endswith("manifest.json") and "/chunk-" in n
    ]
    return [m for m in found if m is not None]


def known_readings(runtime: Runtime, admin: EmulatorAdmin) -> Readings:
    with recording() as reader:
        metrics.watch_queue(lambda: health.queue_depth(runtime.queue))
        known_run(runtime, admin)
        return read(reader)


def test_metrics_of_a_known_run_status_and_report_agree(runtime: Runtime, admin: EmulatorAdmin) -> None:
    readings = known_readings(runtime, admin)
    committed = manifests(runtime)
    assert len(committed) == 2
    size = sum(m.media.size for m in committed)
    margins = [(m.source_deadline - m.archived_at).total_seconds() for m in committed]
    latencies = [(m.archived_at - m.event_time).total_seconds() for m in committed]

    # The metrics, as the Function App's functions produced them.
    assert readings.total(metrics.CHUNKS_ACCEPTED) == 4
    assert readings.by(metrics.CHUNKS_ARCHIVED, "margin_band") == {"18-24h": 2}
    assert readings.total(metrics.BYTES_ARCHIVED) == size > 2 * MIB
    margin = readings.histogram(metrics.DEADLINE_MARGIN)
    assert margin is not None and margin.count == 2 and margin.sum == pytest.approx(sum(margins))
    latency = readings.histogram(metrics.ARCHIVE_LATENCY)
    assert latency is not None and latency.sum == pytest.approx(sum(latencies))
    duration = readings.histogram(metrics.COPY_DURATION)
    assert duration is not None and duration.count == 2 and 0 < duration.sum < 120
    assert readings.by(metrics.FAILURES, "reason") == {"metadata_not_json": 1}
    assert readings.by(metrics.REJECTIONS, "reason") == {"wrong_event_type": 1}
    assert readings.value(metrics.RETRIES, reason="source_http_503", kind="transient") == 1
    assert readings.value(metrics.QUEUE_DEPTH) == 1 and readings.value(metrics.QUEUE_POISONED) == 0

    # status: the same archive, read back from storage.
    now = now_utc()
    found = status.collect(runtime, now)
    assert (found.archived.chunks, found.archived.bytes) == (2, size)
    assert found.failed == {"metadata_not_json": 1} and found.rejected == {"wrong_event_type": 1}
    assert found.queue is not None and (found.queue.depth.queued, found.queue.depth.poisoned) == (1, 0)
    assert len(found.attention) == 2  # the failed job and the rejected event

    # The report's figures: what the workbook charts from the metrics above.
    data = figures.compute(runtime.settings, runtime.store, days=1, now=now)
    assert (data.total.chunks, data.total.bytes) == (readings.total(metrics.CHUNKS_ARCHIVED), size)
    assert {band: n for band, n in data.margin_counts() if n} == readings.by(
        metrics.CHUNKS_ARCHIVED, "margin_band"
    )
    assert dict(data.failures) == readings.by(metrics.FAILURES, "reason")
    assert dict(data.rejections) == readings.by(metrics.REJECTIONS, "reason")


def test_status_exits_1_and_says_why_when_a_person_is_needed(
    runtime: Runtime, admin: EmulatorAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    known_run(runtime, admin)
    assert cli_main(["status"]) == 1
    text = capsys.readouterr().out
    assert "NEEDS ATTENTION (2)" in text
    assert "archived             2 chunks, 2.31 MiB" in text
    assert "failed jobs          1: metadata_not_json 1" in text
    assert "rejected events      1: wrong_event_type 1" in text
    assert "Integrity check        never run" in text
    assert cli_main(["status", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["healthy"] is False and len(document["needsAttention"]) == 2
    assert document["last24h"]["failed"] == {"total": 1, "byReason": {"metadata_not_json": 1}}
    assert document["queue"]["queued"] == 1 and document["queue"]["poisoned"] == 0


def test_status_of_a_healthy_archive_exits_0(
    runtime: Runtime, admin: EmulatorAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    _, payload = seed(admin)
    deliver(payload)
    work(runtime)
    assert cli_main(["status"]) == 0
    text = capsys.readouterr().out
    assert ": OK" in text.splitlines()[0] and "Needs a person" not in text
    oldest = job_for(runtime, seed(admin)[1], event_time=now_utc() - timedelta(hours=23, minutes=30))
    runtime.queue.put(oldest)  # waiting, with 30 minutes left: a person should look
    assert cli_main(["status", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    urgent = document["queue"]["mostUrgent"]
    assert urgent["documentId"] == oldest.chunk.document_id and 0 < urgent["marginSeconds"] <= 1800
    assert "left before its source is deleted" in document["needsAttention"][0]


# The report in a browser -------------------------------------------------------------------------


def job_for(runtime: Runtime, payload: bytes, *, event_time: datetime) -> RecordingJob:
    [job] = [j for raw in split_payload(payload) for j in jobs_from_event(raw, runtime.settings)]
    deadline = event_time + timedelta(hours=runtime.settings.source_retention_hours)
    recording = job.recording.model_copy(update={"event_time": event_time, "deadline": deadline})
    return job.model_copy(update={"recording": recording})


def history(runtime: Runtime, template: ChunkManifest, days: int = 13) -> None:
    """Chunks committed on earlier days (their manifests written as the pipeline writes them)."""
    today = now_utc().replace(hour=12, minute=0, second=0, microsecond=0)
    for day in range(1, days + 1):
        for n in range(1 + (day * 7) % 5):
            archived_at = today - timedelta(days=day, minutes=37 * n)
            event_time = archived_at - timedelta(minutes=2 + 90 * ((day + n) % 4) ** 2)
            manifest = template.model_copy(
                update={
                    "call_id": f"history-{day}-{n}",
                    "event_time": event_time,
                    "archived_at": archived_at,
                    "source_deadline": event_time + timedelta(hours=24),
                    "media": template.media.model_copy(update={"size": (40 + 17 * ((day * n) % 9)) * MIB}),
                }
            )
            name = f"{archived_at:%Y/%m/%d}/history-{day}-{n}/120000Z-h{day}n{n}/chunk-000.manifest.json"
            runtime.store.create_chunk_manifest(name, manifest)


def busy_archive(runtime: Runtime, admin: EmulatorAdmin) -> None:
    """Something in every chart: archived, at risk, lost, failed, rejected, dead-lettered, queued."""
    known_run(runtime, admin)
    _, close_call = seed(admin)
    runtime.queue.put(job_for(runtime, close_call, event_time=now_utc() - timedelta(hours=23, minutes=20)))
    _, lost_call = seed(admin)
    runtime.queue.poison.send_message(
        job_for(runtime, lost_call, event_time=now_utc() - timedelta(hours=30)).to_message()
    )
    fire_redrive()  # the poisoned job is past its deadline: recorded lost
    _, dead_call = seed(admin)
    write_dead_letter(runtime.store.deadletters, json.loads(dead_call), outcome="Unauthorized", attempts=12)
    invocation = local_host().fire_timer("replay_dead_letters")
    assert invocation.error is None
    work(runtime, timeout=120, wait_for_delayed=False)
    history(runtime, manifests(runtime)[0])


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    mac = Path("/Applications/Chromium.app/Contents/MacOS/Chromium")
    if mac.exists():
        return str(mac)
    if sys.platform == "darwin":
        pytest.skip(
            "Chromium is not installed (brew install --cask chromium): the report's browser test needs it"
        )
    pytest.fail(
        "chromium is missing: scripts/bootstrap.sh installs Debian's chromium (apt-get install chromium)"
    )


def screenshot(page: Path, target: Path, profile: Path) -> None:
    width, height = SCREENSHOT_SIZE
    result = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",  # root in CI; the page is our own file
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={target}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and target.exists(), result.stderr[-2000:]


def hex_rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def keep(image: Any, target: str) -> None:
    """The screenshot without the empty page below the content (for the README)."""
    background = image.getpixel((image.width - 1, image.height - 1))
    rows = [
        y
        for y in range(image.height)
        if any(image.getpixel((x, y)) != background for x in range(0, image.width, 4))
    ]
    bottom = min(image.height, (rows[-1] + 24) if rows else image.height)
    image.crop((0, 0, image.width, bottom)).save(target)


def test_the_report_is_self_contained_and_its_charts_are_drawn(
    runtime: Runtime, admin: EmulatorAdmin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    busy_archive(runtime, admin)
    page = tmp_path / "report.html"
    assert cli_main(["report", "--html", str(page), "--days", "14"]) == 0
    assert "wrote" in capsys.readouterr().out
    html = page.read_text(encoding="utf-8")
    # Nothing is fetched when it is viewed: no script, stylesheet, image or font from anywhere.
    for reference in ("http://", "https://", "<script", "<link", "<img", "@import", "url("):
        assert reference not in html, reference
    data = figures.compute(runtime.settings, runtime.store, days=14, now=now_utc())
    assert data.at_risk and data.lost and sum(data.dead_lettered.values()) == 1
    assert len([d for d in data.archived if data.archived[d].chunks]) == 14

    png = tmp_path / "report.png"
    screenshot(page, png, tmp_path / "profile")
    image = Image.open(png).convert("RGB")
    counts = {rgb: n for n, rgb in image.getcolors(maxcolors=1 << 22) or []}
    drawn = {chart: counts.get(hex_rgb(color), 0) for chart, color in COLORS.items()}
    assert all(n >= 60 for n in drawn.values()), f"pixels of each chart's colour: {drawn}"
    if os.environ.get(KEEP_SCREENSHOT):
        keep(image, os.environ[KEEP_SCREENSHOT])


def test_report_days_must_be_sensible(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        cli_main(["report", "--html", str(tmp_path / "r.html"), "--days", "0"])
