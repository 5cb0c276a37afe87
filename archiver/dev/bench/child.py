"""One measurement in a fresh interpreter: ``python -m archiver.dev.bench.child`` (spec on stdin).

Each measurement is its own cold process (``stack.measure_process`` times it, and takes its
CPU and peak RSS from the kernel when it exits), then prints one JSON object on stdout: the
bytes moved and, for information, the seconds of the work itself (``work_seconds``).

Copy modes (the baselines as a user of the official SDKs gets them, SDK defaults otherwise):
- ``raw_download``: azure-communication-callautomation's ``download_recording`` of the content
  URL over TLS, bytes discarded;
- ``raw_upload``: the same bytes (the emulator's file) through azure-storage-blob's
  ``upload_blob(stream, length=, max_concurrency=)``, no ``validate_content``;
- ``naive``: ``download_recording`` into memory, then one ``upload_blob`` of it;
- ``function``: the Function App's path: the event through ``ingest_recording_event``, its
  queue message through ``archive_recording_chunk`` (the local Functions host) to the
  committed archive.
(The pipeline itself is the operator CLI, ``python -m archiver archive``, not this module.)

Other sections, measured inside the process:
- ``throughput``: many events archived by ``workers`` threads sharing one runtime;
- ``ingress``: ``validate_payload`` on a realistic event, pinned to one core.

With ``warmup`` in the spec (those two only), the mode first runs once on a small document,
unmeasured, and the peak RSS is reset after it (Linux).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

MIB = 1024 * 1024


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_bytes() -> int:
    """High-water mark of this process's resident set (Linux ``VmHWM``; ``ru_maxrss`` elsewhere)."""
    kib = _status_kib("VmHWM")
    if kib is None:
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    return kib * 1024


def rss_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


class Measured:
    """Wall and CPU seconds of the measured part, and RSS before it.

    CPU seconds are this process's (all threads) and, for each server named in the spec's
    ``servers`` (pid by name), that server's over the same interval: together they show
    which side is the bottleneck.
    """

    def __init__(self, servers: dict[str, int] | None = None) -> None:
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.rss_before = 0
        self._servers = servers or {}
        self.server_cpu_seconds: dict[str, float] = {}

    def __enter__(self) -> Measured:
        self.rss_before = rss_bytes()
        self._server_cpu = {name: process_cpu_seconds(pid) for name, pid in self._servers.items()}
        self._cpu = _cpu()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.perf_counter() - self._started
        self.cpu_seconds = _cpu() - self._cpu
        self.server_cpu_seconds = {
            name: process_cpu_seconds(pid) - self._server_cpu[name] for name, pid in self._servers.items()
        }

    def result(self, **values: Any) -> dict[str, Any]:
        servers = {f"{name}_cpu_seconds": seconds for name, seconds in self.server_cpu_seconds.items()}
        return {
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "rss_before": self.rss_before,
            **servers,
            **values,
        }


def process_cpu_seconds(pid: int) -> float:
    """User+system CPU seconds so far of another process (a server); 0 once it is gone."""
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _sdk_download(spec: dict[str, Any]) -> Any:
    """The recording's streaming response, from the official SDK as production uses it (TLS)."""
    from azure.communication.callautomation import CallAutomationClient

    from archiver.dev.emulator.sdk import LoopbackTransport

    transport = LoopbackTransport(spec["emulator_url"], ca_file=spec.get("ca_file"))
    client = CallAutomationClient.from_connection_string(spec["acs_connection_string"], transport=transport)
    # The SDK returns the streaming HttpResponse despite its annotation (azure-sdk-for-python#42835).
    return client.download_recording(spec["url"])


def _plain_blob_service(spec: dict[str, Any]) -> Any:
    """azure-storage-blob as a user gets it: defaults, its own transport."""
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(spec["storage"])


def _container(service: Any, name: str) -> Any:
    from azure.core.exceptions import ResourceExistsError

    container = service.get_container_client(name)
    with contextlib.suppress(ResourceExistsError):
        container.create_container()
    return container


def raw_download(spec: dict[str, Any]) -> dict[str, Any]:
    with Measured() as measured:
        response = _sdk_download(spec)
        received = 0
        try:
            for piece in response.iter_bytes():
                received += len(piece)
        finally:
            response.close()
    _expect(received, spec["size"])
    return measured.result(bytes=received)


def raw_upload(spec: dict[str, Any]) -> dict[str, Any]:
    service = _plain_blob_service(spec)
    container = _container(service, spec["container"])
    blob = container.get_blob_client(spec["blob"])
    with open(spec["file"], "rb") as source, Measured() as measured:
        # "memory": the bytes read first, as a caller holding them would pass them; the SDK then
        # takes another upload path (and holds the whole file).
        data = source.read() if spec.get("upload_source") == "memory" else source
        blob.upload_blob(
            data, length=spec["size"], overwrite=True, max_concurrency=spec["upload_concurrency"]
        )
    _expect(blob.get_blob_properties().size, spec["size"])
    return measured.result(bytes=spec["size"])


def naive(spec: dict[str, Any]) -> dict[str, Any]:
    service = _plain_blob_service(spec)
    container = _container(service, spec["container"])
    blob = container.get_blob_client(spec["blob"])
    with Measured() as measured:
        response = _sdk_download(spec)
        try:
            data = response.read()
        finally:
            response.close()
        blob.upload_blob(data, overwrite=True, max_concurrency=spec["upload_concurrency"])
    _expect(len(data), spec["size"])
    _expect(blob.get_blob_properties().size, spec["size"])
    return measured.result(bytes=spec["size"])


def function(spec: dict[str, Any]) -> dict[str, Any]:
    """Event Grid delivery -> queue message -> ``archive_recording_chunk`` -> committed archive."""
    from archiver.dev.host import drain_queue, local_host
    from archiver.runtime import get_runtime

    with Measured() as measured:
        host = local_host()
        [ingested] = host.deliver_event_grid(json.dumps(spec["event"]).encode("utf-8"))
        if not ingested.ok:
            raise RuntimeError(f"ingest_recording_event raised {ingested.error!r}")
        runtime = get_runtime()
        drained = drain_queue(
            runtime.queue, host.queue_message_invoker("archive_recording_chunk"), timeout=1800, idle_polls=0
        )
    if drained.succeeded != 1 or drained.raised:
        raise RuntimeError(f"the queue message was not archived: {drained}")
    manifests = [
        b.name for b in runtime.store.archive.list_blobs() if b.name.endswith("chunk-000.manifest.json")
    ]
    if len(manifests) != 1:
        raise RuntimeError(f"expected one committed chunk manifest, found {manifests}")
    manifest = runtime.store.archive.download_blob(manifests[0]).readall().decode("utf-8")
    if spec["sha256"] not in manifest:
        raise RuntimeError("the committed manifest does not name the source's SHA-256")
    return measured.result(bytes=spec["size"])


def _archive_one(runtime: Any, payload: bytes) -> list[Any]:
    """What the two functions do for one event, minus the queue between them."""
    from archiver.ingress import ingest
    from archiver.worker import process_message

    jobs: list[Any] = []
    result = ingest(payload, runtime.settings, runtime.store, jobs.append)
    if result.rejected or not jobs:
        raise RuntimeError(f"the event was rejected: {result.rejected}")
    outcomes = []
    for job in jobs:
        outcome = process_message(
            job.to_message(), runtime.settings, runtime.store, runtime.queue, runtime.archiver
        )
        if outcome.status != "archived":
            raise RuntimeError(f"job ended {outcome.status}: {outcome.reason}")
        outcomes.append(outcome)
    return outcomes


def throughput(spec: dict[str, Any]) -> dict[str, Any]:
    from archiver.runtime import get_runtime

    runtime = get_runtime()
    runtime.store.ensure_containers()
    payloads = [json.dumps(event).encode("utf-8") for event in spec["events"]]
    with (
        Measured(spec.get("servers")) as measured,
        ThreadPoolExecutor(max_workers=spec["workers"], thread_name_prefix="worker") as pool,
    ):
        done = sum(len(outcomes) for outcomes in pool.map(lambda p: _archive_one(runtime, p), payloads))
    return measured.result(archives=done, bytes=done * spec["size"])


def ingress(spec: dict[str, Any]) -> dict[str, Any]:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # "on one core"
    from archiver.ingress import IngestResult, validate_payload
    from archiver.settings import load_settings

    settings = load_settings()
    payload = json.dumps(spec["event"]).encode("utf-8")
    check = IngestResult()
    if validate_payload(payload, settings, check) or len(check.accepted) != 1:
        raise RuntimeError("the benchmark event does not validate")
    for _ in range(200):  # warm up
        validate_payload(payload, settings, IngestResult())
    count = spec["events"]
    with Measured(spec.get("servers")) as measured:
        for _ in range(count):
            validate_payload(payload, settings, IngestResult())
    return measured.result(events=count, bytes=len(payload) * count)


def _expect(got: int, want: int) -> None:
    if got != want:
        raise RuntimeError(f"moved {got} bytes, expected {want}")


MODES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "raw_download": raw_download,
    "raw_upload": raw_upload,
    "naive": naive,
    "function": function,
    "throughput": throughput,
    "ingress": ingress,
}


def reset_peak_rss() -> None:
    """Start the high-water mark again from the current RSS (Linux; elsewhere it keeps going)."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")


def main() -> int:
    spec = json.loads(sys.stdin.read())
    run = MODES[spec["mode"]]
    warmup = spec.pop("warmup", None)
    if warmup:
        # The same work on a small document first, unmeasured: imports, connection pools and
        # containers exist, and Azurite's JavaScript is compiled, as on a warm worker.
        run({**spec, **warmup, "blob": f"{spec.get('blob', 'bench')}-warmup"})
        reset_peak_rss()
    result = run(spec)
    result["peak_rss"] = peak_rss_bytes()
    result["mode"] = spec["mode"]
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
