"""``python -m archiver.dev.bench.burst``: a burst of recordings through both functions, host-style.

Issue 11, section 3: many recordings (sizes log-normal around a median, a few large ones;
mixed, unmixed and audio formats) whose events arrive within a window, delivered to
``ingest_recording_event`` and archived by ``archive_recording_chunk`` in ``--workers``
separate processes, each pulling the real Azurite queue the way one Functions host instance
does (``host.json``'s batchSize and newBatchThreshold; see ``burst_child``). It reports the
time to drain, event-to-archived latency percentiles, peak RSS per worker, aggregate MiB/s
against the raw limit measured in the same run, and that every recording is archived and
verified against what the source served.

Full scale (about 24 GiB through the pipeline; the source's copy and Azurite's each need that
much temporary disk, checked before anything is seeded)::

    .venv/bin/python -m archiver.dev.bench.burst --recordings 1000 --workers 2 --markdown --json burst.json

Development only, never deployed. Every process it starts (Azurite, the emulator, the workers,
the ingress) is stopped at the end, also on an error, a timeout or Ctrl-C, and their
temporary directories are removed.
"""

from __future__ import annotations

import argparse
import json
import queue
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.dev.bench import burst_report
from archiver.dev.bench.burst_plan import (
    MIB,
    HostQueueSettings,
    PlannedRecording,
    PlanOptions,
    host_settings,
    make_plan,
)
from archiver.dev.bench.burst_verify import Expected, Verdict, leftovers, verify_archive
from archiver.dev.bench.child import process_cpu_seconds
from archiver.dev.bench.stack import BenchStack, run_child
from archiver.dev.emulator.client import EmulatorAdmin
from archiver.dev.stack import PROJECT_ROOT, Azurite, stop_process

GIB = 1024 * MIB
SEED_THREADS = 2
LIMIT_WARMUP_BYTES = 16 * MIB
READY_TIMEOUT_SECONDS = 120.0
STOP_GRACE_SECONDS = 30.0
PROGRESS_EVERY_SECONDS = 10.0
DISK_MARGIN_BYTES = 2 * GIB
LimitResult = dict[str, float]
Progress = Callable[[str], None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m archiver.dev.bench.burst",
        description="A burst of recordings through ingest_recording_event and archive_recording_chunk.",
    )
    add = parser.add_argument
    add("--recordings", type=int, default=1000, help="recordings in the burst (default 1000)")
    add("--workers", type=int, default=2, help="worker processes, one per host instance (default 2)")
    add("--window-seconds", type=float, default=60.0, help="the events arrive within this (default 60)")
    add("--seed", type=int, default=1, help="seed of sizes, formats and arrival times (default 1)")
    add("--median-mib", type=float, default=20.0, help="median recording size, MiB (default 20)")
    add("--sigma", type=float, default=0.5, help="log-normal sigma of the sizes (default 0.5)")
    add("--big", type=int, default=3, help="recordings of --big-mib instead (default 3)")
    add("--big-mib", type=float, default=500.0, help="size of the big recordings, MiB (default 500)")
    add("--timeout", type=float, default=1800.0, help="stop and report after this many seconds of burst")
    add("--limit-mib", type=int, default=256, help="size for the raw download/upload limit; 0 skips it")
    add("--block-mib", type=int, help="COPY_BLOCK_MIB for the workers (default: the app's)")
    add("--concurrency", type=int, help="COPY_CONCURRENCY for the workers (default: the app's)")
    add("--json", type=Path, help="also write the raw result and the figures to this file")
    add("--markdown", action="store_true", help="print Markdown tables")
    add("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def plan_options(args: argparse.Namespace) -> PlanOptions:
    if args.recordings < 1 or args.workers < 1 or args.window_seconds < 0:
        raise SystemExit("--recordings and --workers must be positive, --window-seconds not negative")
    return PlanOptions(
        recordings=args.recordings,
        median_bytes=max(1, round(args.median_mib * MIB)),
        sigma=args.sigma,
        big=args.big,
        big_bytes=round(args.big_mib * MIB),
        window_seconds=args.window_seconds,
        seed=args.seed,
    )


def check_disk(plan: list[PlannedRecording], limit_bytes: int) -> None:
    """The source's files and Azurite's copy both land in the temp dir: refuse before seeding."""
    needed = 2 * (sum(r.size for r in plan) + limit_bytes) + DISK_MARGIN_BYTES
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if needed > free:
        raise SystemExit(
            f"the burst needs about {needed / GIB:.1f} GiB in {tempfile.gettempdir()}, {free / GIB:.1f} free"
        )


# Seeding the source ---------------------------------------------------------------------------


def _seed_one(admin: EmulatorAdmin, planned: PlannedRecording) -> dict[str, Any]:
    people = [f"8:acs:burst-{planned.index:05d}-{n}" for n in range(planned.participants)]
    seeded: dict[str, Any] = admin.seed_document(
        format=planned.format,
        content_type=planned.content_type,
        channel_type=planned.channel_type,
        size_bytes=planned.size,
        participants=people,
    )
    return seeded


def seed_all(admin: EmulatorAdmin, plan: list[PlannedRecording], progress: Progress) -> list[dict[str, Any]]:
    """Every recording exists at the source before its event is sent, as with ACS."""
    seeded: list[dict[str, Any]] = []
    step = max(1, len(plan) // 10)
    with ThreadPoolExecutor(max_workers=SEED_THREADS, thread_name_prefix="seed") as pool:
        for document in pool.map(lambda p: _seed_one(admin, p), plan):
            seeded.append(document)
            if len(seeded) % step == 0 or len(seeded) == len(plan):
                done = sum(int(d["size"]) for d in seeded)
                progress(f"seeded {len(seeded)}/{len(plan)} recordings ({done / GIB:.2f} GiB)")
    return seeded


# The limit: raw download and raw upload on the same stack ---------------------------------------


def measure_limit(stack: BenchStack, azurite: Azurite, size: int, progress: Progress) -> LimitResult:
    """The copy benchmark's raw baselines (fresh, warmed-up processes): no pipeline can beat them."""
    document, warm = stack.seed(size), stack.seed(min(size, LIMIT_WARMUP_BYTES))
    base = {
        **stack.common_spec(azurite),
        "url": document["contentLocation"],
        "file": document["file"],
        "size": document["size"],
        "sha256": document["sha256"],
        "container": "burst-limit",
        "upload_concurrency": 4,
        "warmup": {"url": warm["contentLocation"], "file": warm["file"], "size": warm["size"]},
    }
    rates: LimitResult = {}
    try:
        for mode in ("raw_download", "raw_upload"):
            outcome = run_child({**base, "mode": mode, "blob": f"limit-{mode}"}, stack.environment(azurite))
            rates[mode] = outcome["bytes"] / outcome["seconds"] / MIB
            progress(f"limit: {mode} {rates[mode]:.0f} MiB/s ({size // MIB} MiB, one process)")
    finally:
        stack.forget(document)
        stack.forget(warm)
    return rates


# Child processes ----------------------------------------------------------------------------------


class Child:
    """One ``burst_child`` process: spec on stdin, JSON lines from stdout into a shared queue."""

    def __init__(
        self, name: str, role: str, env: dict[str, str], log_dir: Path, lines: queue.Queue[Any]
    ) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        with self.log.open("wb") as errors:
            self.process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                [sys.executable, "-m", "archiver.dev.bench.burst_child", role],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                env=env,
                cwd=PROJECT_ROOT,
                start_new_session=True,  # Ctrl-C reaches the parent, which stops it in order
            )
        self._lines = lines
        threading.Thread(target=self._read, name=f"read-{name}", daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                self._lines.put((self.name, json.loads(line)))
        self._lines.put((self.name, {"type": "exit"}))

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it has exited; its log says why

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        stop_process(self.process, grace=5.0)


@contextmanager
def children(
    env: dict[str, str],
) -> Iterator[tuple[list[Child], queue.Queue[Any], Callable[[str, str], Child]]]:
    """Start children on demand; every one is stopped, and their logs removed, on the way out."""
    started: list[Child] = []
    lines: queue.Queue[Any] = queue.Queue()
    log_dir = Path(tempfile.mkdtemp(prefix="burst-logs-"))

    def start(name: str, role: str) -> Child:
        child = Child(name, role, env, log_dir, lines)
        started.append(child)
        return child

    try:
        yield started, lines, start
    finally:
        for child in started:
            child.stop()
        shutil.rmtree(log_dir, ignore_errors=True)


# What the children report -------------------------------------------------------------------------


@dataclass
class Tally:
    """Everything the children said, by document: delivered, invoked, archived, failed."""

    expected: set[str]
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    first_started: dict[str, float] = field(default_factory=dict)
    invocations: dict[str, int] = field(default_factory=dict)
    archived: dict[str, float] = field(default_factory=dict)
    archived_bytes: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    ready: dict[str, dict[str, Any]] = field(default_factory=dict)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    exited: set[str] = field(default_factory=set)

    def add(self, name: str, message: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{message['type']}", None)
        if handler is not None:
            handler(name, message)

    def _on_ready(self, name: str, message: dict[str, Any]) -> None:
        self.ready[name] = message

    def _on_summary(self, name: str, message: dict[str, Any]) -> None:
        self.summaries[name] = message

    def _on_exit(self, name: str, message: dict[str, Any]) -> None:
        self.exited.add(name)

    def _on_delivered(self, name: str, message: dict[str, Any]) -> None:
        document_id = message["document_id"]
        self.delivered[document_id] = message
        if message.get("error"):
            self.failed[document_id] = f"delivery failed: {message['error']}"

    def _on_invocation(self, name: str, message: dict[str, Any]) -> None:
        document_id = message.get("document_id")
        if document_id is None:
            return
        self.first_started.setdefault(document_id, message["started"])
        self.invocations[document_id] = self.invocations.get(document_id, 0) + 1
        if message.get("settled") == "poisoned":
            self.failed[document_id] = f"poisoned: {message.get('error')}"

    def _on_marker(self, name: str, message: dict[str, Any]) -> None:
        document_id = message.get("document_id")
        if not isinstance(document_id, str):
            return
        if message["marker"] == "ARCHIVER_ARCHIVED" and document_id not in self.archived:
            self.archived[document_id] = message["t"]
            self.archived_bytes += int(message.get("bytes") or 0)
        elif message["marker"] == "ARCHIVER_FAILED":
            self.failed[document_id] = f"failed: {message.get('reason')}"

    def done(self) -> bool:
        return self.expected <= (self.archived.keys() | self.failed.keys())


def wait_until_ready(pool: list[Child], lines: queue.Queue[Any], tally: Tally) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while len(tally.ready) < len(pool):
        _take(pool, lines, tally, deadline, "start")


def _take(pool: list[Child], lines: queue.Queue[Any], tally: Tally, deadline: float, phase: str) -> bool:
    """One line into the tally; False when none came. Raises if a child died or time ran out."""
    if time.monotonic() > deadline:
        raise TimeoutError(f"the burst's processes did not {phase} in time")
    try:
        name, message = lines.get(timeout=0.5)
    except queue.Empty:
        return False
    tally.add(name, message)
    if message["type"] == "exit" and name not in tally.summaries:
        [child] = [c for c in pool if c.name == name]
        raise RuntimeError(f"{name} exited with {child.process.wait()}:\n{child.log_tail()}")
    return True


class Monitor:
    """Follows the burst until every recording is archived or failed, or the timeout."""

    def __init__(self, pool: list[Child], lines: queue.Queue[Any], tally: Tally, progress: Progress) -> None:
        self.pool, self.lines, self.tally, self.progress = pool, lines, tally, progress
        self.go = 0.0

    def run(self, timeout: float) -> bool:
        """True when it timed out."""
        self.go = time.time()
        for child in self.pool:  # workers first: they are polling before the first event
            child.send("go")
        deadline = time.monotonic() + timeout
        next_progress = time.monotonic() + PROGRESS_EVERY_SECONDS
        while not self.tally.done():
            if time.monotonic() > deadline:
                return True
            _take(self.pool, self.lines, self.tally, float("inf"), "run")
            if time.monotonic() >= next_progress:
                next_progress += PROGRESS_EVERY_SECONDS
                self._report()
        return False

    def _report(self) -> None:
        tally, elapsed = self.tally, time.time() - self.go
        self.progress(
            f"{elapsed:.0f} s: delivered {len(tally.delivered)}/{len(tally.expected)}, "
            f"archived {len(tally.archived)} ({tally.archived_bytes / GIB:.2f} GiB, "
            f"{tally.archived_bytes / MIB / max(elapsed, 1e-9):.0f} MiB/s), failed {len(tally.failed)}"
        )

    def stop(self) -> None:
        """Ask every child to finish what it is doing, and collect its summary."""
        for child in self.pool:
            child.send("stop")
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while len(self.tally.summaries) < len(self.pool) and time.monotonic() < deadline:
            try:
                name, message = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            self.tally.add(name, message)


def server_cpu(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each server and, as ``machine``, of the whole machine (all cores).

    The machine's figure shows whether other work shared the cores during the burst.
    """
    import psutil

    machine = psutil.cpu_times()
    seconds = {"machine": float(machine.user + machine.system + getattr(machine, "nice", 0.0))}
    for name, pid in pids.items():
        seconds[name] = process_cpu_seconds(pid)
    return seconds


# The run -----------------------------------------------------------------------------------------


@dataclass
class BurstRun:
    """The state of one run, so that the phases stay small functions."""

    args: argparse.Namespace
    plan: list[PlannedRecording]
    host: HostQueueSettings
    progress: Progress
    result: dict[str, Any] = field(default_factory=dict)
    tally: Tally = field(init=False)

    def execute(self) -> dict[str, Any]:
        copy_settings = {
            name: str(value)
            for name, value in (
                ("COPY_BLOCK_MIB", self.args.block_mib),
                ("COPY_CONCURRENCY", self.args.concurrency),
            )
            if value
        }
        self.result.update(copy_settings=copy_settings, copy=copy_figures(copy_settings))
        with ExitStack() as resources:
            stack = resources.enter_context(BenchStack(copy_settings))
            azurite = resources.enter_context(Azurite())
            assert stack.admin is not None
            seeded = seed_all(stack.admin, self.plan, self.progress)
            limit_bytes = self.args.limit_mib * MIB
            self.result["limit"] = (
                measure_limit(stack, azurite, limit_bytes, self.progress) if limit_bytes else {}
            )
            self._burst(stack, azurite, seeded)
            self.progress("verifying the archive against the source")
            verdicts = verify_archive(
                azurite.connection_string, archive_container(), (Expected.from_seed(s) for s in seeded)
            )
            self.result["leftovers"] = leftovers(azurite.connection_string)
            self.result["recordings"] = recording_rows(self.plan, seeded, self.tally, verdicts)
            self.progress("stopping the stack and removing its files")
        return self.result

    def _burst(self, stack: BenchStack, azurite: Azurite, seeded: list[dict[str, Any]]) -> None:
        assert stack.emulator is not None and azurite.process is not None
        self.tally = Tally(expected={s["documentId"] for s in seeded})
        servers = {"azurite": azurite.process.pid, "emulator": stack.emulator.pid}
        with children(stack.environment(azurite)) as (pool, lines, start):
            for number in range(self.args.workers):
                start(f"worker-{number + 1}", "worker").send(json.dumps({"host": self.host_fields()}))
            events = [
                {"document_id": s["documentId"], "at": p.at, "payload": s["event"]}
                for p, s in zip(self.plan, seeded, strict=True)
            ]
            start("ingress", "ingress").send(json.dumps({"events": events}))
            wait_until_ready(pool, lines, self.tally)
            self.progress(f"{len(pool) - 1} workers and the ingress are ready: the burst starts")
            monitor = Monitor(pool, lines, self.tally, self.progress)
            cpu_before = server_cpu(servers)
            timed_out = monitor.run(self.args.timeout)
            ended = time.time()
            cpu_after = server_cpu(servers)
            monitor.stop()
        self.result["timing"] = {"go": monitor.go, "ended": ended, "timed_out": timed_out}
        self.result["servers_cpu"] = {name: cpu_after[name] - cpu_before[name] for name in cpu_after}
        self.result["workers"] = [self.child_row(child.name) for child in pool if child.name != "ingress"]
        self.result["ingress"] = self.ingress_row()

    def host_fields(self) -> dict[str, Any]:
        return {
            "batch_size": self.host.batch_size,
            "new_batch_threshold": self.host.new_batch_threshold,
            "max_dequeue_count": self.host.max_dequeue_count,
            "visibility_timeout_seconds": self.host.visibility_timeout_seconds,
            "max_polling_seconds": self.host.max_polling_seconds,
        }

    def child_row(self, name: str) -> dict[str, Any]:
        summary = self.tally.summaries.get(name, {})
        return {
            "name": name,
            "rss_ready": self.tally.ready.get(name, {}).get("rss", 0),
            "peak_rss": summary.get("peak_rss", 0),
            "stopped_cleanly": bool(summary),
            # A worker that got no message (a small burst taken whole by the other) counted
            # nothing: its counters are zeros, not missing.
            **{
                key: summary.get(key, 0) if summary else 0
                for key in ("cpu_seconds", "invocations", "succeeded", "raised", "poisoned")
            },
        }

    def ingress_row(self) -> dict[str, Any]:
        deliveries = list(self.tally.delivered.values())
        lags = [d["t"] - d["scheduled"] for d in deliveries]
        answers = [d["answered"] - d["t"] for d in deliveries]
        return {
            **self.child_row("ingress"),
            "deliveries": len(deliveries),
            "errors": sum(1 for d in deliveries if d.get("error")),
            "max_lag_s": max(lags, default=0.0),
            "answer_s": burst_report.spread(answers),
        }


def archive_container() -> str:
    """The workers' archive container: the app's default (the bench environment sets none)."""
    from archiver.settings import Settings

    return str(Settings.model_fields["archive_container"].default)


def copy_figures(overrides: dict[str, str]) -> dict[str, int]:
    """The block size and concurrency the workers copy with: their memory bound per chunk."""
    from archiver.blob_copy import chunk_memory_bound
    from archiver.settings import Settings

    fields = Settings.model_fields
    block = int(overrides.get("COPY_BLOCK_MIB", fields["copy_block_mib"].default))
    concurrency = int(overrides.get("COPY_CONCURRENCY", fields["copy_concurrency"].default))
    return {
        "block_mib": block,
        "concurrency": concurrency,
        "chunk_bound_mib": chunk_memory_bound(block, concurrency),
    }


def recording_rows(
    plan: list[PlannedRecording], seeded: list[dict[str, Any]], tally: Tally, verdicts: dict[str, Verdict]
) -> list[dict[str, Any]]:
    rows = []
    for planned, document in zip(plan, seeded, strict=True):
        document_id = document["documentId"]
        verdict = verdicts[document_id]
        delivery = tally.delivered.get(document_id, {})
        rows.append(
            {
                "document_id": document_id,
                "index": planned.index,
                "kind": planned.kind,
                "size": int(document["size"]),
                "big": planned.big,
                "at": planned.at,
                "delivered_at": delivery.get("t"),
                "first_started": tally.first_started.get(document_id),
                "invocations": tally.invocations.get(document_id, 0),
                "archived": verdict.archived,
                "verified": verdict.verified,
                "committed_at": verdict.committed_at,
                "problem": verdict.problem
                if verdict.archived
                else tally.failed.get(document_id, verdict.problem),
            }
        )
    return rows


def run(args: argparse.Namespace, argv: list[str], progress: Progress) -> dict[str, Any]:
    plan = make_plan(plan_options(args))
    check_disk(plan, args.limit_mib * MIB)
    host = host_settings()
    burst = BurstRun(args, plan, host, progress)
    burst.result.update(
        command=shlex.join([".venv/bin/python", "-m", "archiver.dev.bench.burst", *argv]),
        machine=burst_report.machine(),
        options={**{k: v for k, v in vars(args).items() if k not in ("json",)}, "json": str(args.json or "")},
        host=host.to_json(),
    )
    progress(
        f"{len(plan)} recordings, {sum(p.size for p in plan) / GIB:.2f} GiB, events over "
        f"{args.window_seconds:g} s, {args.workers} workers x {host.max_in_flight} in flight"
    )
    result = burst.execute()
    result["summary"] = burst_report.summarise(result)
    return result


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when every recording was archived and verified, 1 otherwise (and on a timeout)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)

    def progress(line: str) -> None:
        if not args.quiet:
            print(f"burst: {line}", file=sys.stderr, flush=True)

    result = run(args, argv, progress)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(burst_report.render(result, markdown=args.markdown), end="")
    return 0 if result["summary"]["all_archived_and_verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
