"""``python -m archiver.dev.bench`` (or ``python -m archiver.dev bench``): the benchmark, printed.

Everything runs on this machine against real local servers: the ACS emulator as the source
(over TLS, at a production-shaped host) and Azurite as the archive account, both on 127.0.0.1.
Each copy measurement is one cold process, measured whole (wall, CPU user+sys, peak RSS),
against a fresh Azurite; ``--runs`` repeats the lot and prints every run, each with the copy
targets checked, because the targets must hold in every run, not on a median.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archiver.dev.bench import report as reporting
from archiver.dev.bench.sample import realistic_event
from archiver.dev.bench.stack import (
    STORAGE_URL,
    BenchStack,
    ChildFailed,
    import_seconds,
    measure_process,
    run_child,
)
from archiver.dev.stack import Azurite

MIB = 1024 * 1024
SIZE_MODES = ("raw_download", "raw_upload", "pipeline", "function", "naive")
SECTIONS = ("sizes", "throughput", "ingress", "import")
WARMUP_BYTES = 16 * MIB  # throughput only: the workers first archive this much, unmeasured


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("expected positive integers")
    return values


def _sections(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    return chosen


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m archiver.dev bench", description=__doc__)
    parser.add_argument("--sizes", type=_int_list, default=[512], help="file sizes in MiB (default 512)")
    parser.add_argument(
        "--huge",
        action="store_true",
        help="also run 2048 MiB (manual runs: the naive mode holds ~4 GiB in memory)",
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="copy runs; each is printed and checked on its own (default 3)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="repeats of the throughput, ingress and import measures (median)",
    )
    parser.add_argument("--recordings", type=int, default=200, help="recordings for the archives/s measure")
    parser.add_argument("--recording-mib", type=int, default=8, help="size of each of those recordings")
    parser.add_argument("--workers", type=_int_list, default=[1, 4, 16], help="worker concurrency levels")
    parser.add_argument("--ingress-events", type=int, default=20000, help="events through validate_payload")
    parser.add_argument("--block-mib", type=int, help="COPY_BLOCK_MIB for the archiver (default: its own)")
    parser.add_argument(
        "--concurrency", type=int, help="COPY_CONCURRENCY for the archiver (default: its own)"
    )
    parser.add_argument("--upload-concurrency", type=int, default=4, help="max_concurrency of upload_blob")
    parser.add_argument(
        "--upload-source",
        choices=("file", "memory"),
        default="file",
        help="raw upload from the open file (default) or from bytes read into memory first",
    )
    parser.add_argument("--only", type=_sections, default=list(SECTIONS), help=f"sections to run {SECTIONS}")
    parser.add_argument("--modes", default=",".join(SIZE_MODES), help=f"copy modes to run {SIZE_MODES}")
    parser.add_argument("--json", type=Path, help="also write every raw result to this file")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed in any run")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    return parser


class Runner:
    def __init__(self, args: argparse.Namespace, progress: Callable[[str], None]) -> None:
        self.args = args
        self.progress = progress
        copy_settings: dict[str, str] = {}
        if args.block_mib:
            copy_settings["COPY_BLOCK_MIB"] = str(args.block_mib)
        if args.concurrency:
            copy_settings["COPY_CONCURRENCY"] = str(args.concurrency)
        self.copy_settings = copy_settings
        self.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        unknown = sorted(set(self.modes) - set(SIZE_MODES))
        if unknown:
            raise SystemExit(f"unknown mode(s) {unknown}; choose from {list(SIZE_MODES)}")

    def run(self) -> dict[str, Any]:
        args = self.args
        result: dict[str, Any] = {
            "machine": reporting.machine(),
            "command": "python -m archiver.dev bench " + " ".join(getattr(args, "argv", [])),
            "settings": self._settings(),
        }
        started = time.monotonic()
        with BenchStack(self.copy_settings) as stack:
            if "sizes" in args.only:
                result["runs"] = self._sizes(stack)
            if "throughput" in args.only:
                result["throughput"] = self._throughput(stack)
                result["throughput_recordings"] = args.recordings
                result["throughput_recording_mib"] = args.recording_mib
            if "ingress" in args.only:
                result["ingress"] = self._ingress(stack)
        if "import" in args.only:
            import_seconds()  # warm-up: compiles .pyc files and fills the page cache
            result["import"] = [import_seconds() for _ in range(max(3, args.repeats))]
        result["elapsed_seconds"] = round(time.monotonic() - started, 1)
        return result

    def _settings(self) -> dict[str, Any]:
        from archiver.settings import Settings

        fields = Settings.model_fields
        block = self.copy_settings.get("COPY_BLOCK_MIB", fields["copy_block_mib"].default)
        concurrency = self.copy_settings.get("COPY_CONCURRENCY", fields["copy_concurrency"].default)
        return {
            "COPY_BLOCK_MIB": int(block),
            "COPY_CONCURRENCY": int(concurrency),
            "upload_blob max_concurrency": self.args.upload_concurrency,
            "raw upload from": self.args.upload_source,
            "source": f"{STORAGE_URL} (TLS, emulator on 127.0.0.1)",
            "runs": self.args.runs,
            "repeats": self.args.repeats,
        }

    def _sizes(self, stack: BenchStack) -> list[dict[str, Any]]:
        """Every run: each size, each mode, one cold process against a fresh Azurite."""
        args = self.args
        sizes = list(args.sizes) + ([2048] if args.huge and 2048 not in args.sizes else [])
        documents: dict[int, dict[str, Any]] = {}
        runs: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory(prefix="bench-events-") as scratch:
            try:
                for size in sizes:
                    self.progress(f"seeding a {size} MiB document")
                    documents[size] = document = stack.seed(size * MIB)
                    event_file = Path(scratch) / f"event-{size}.json"
                    event_file.write_text(json.dumps(document["event"]), encoding="utf-8")
                    document["event_file"] = str(event_file)
                for number in range(1, args.runs + 1):
                    run: dict[str, Any] = {"run": number, "sizes": {}}
                    for size in sizes:
                        run["sizes"][str(size * MIB)] = {
                            mode: self._measure(stack, mode, documents[size], f"run {number}, {size} MiB")
                            for mode in self.modes
                        }
                    runs.append(run)
            finally:
                for document in documents.values():
                    stack.forget(document)
        return runs

    def _measure(self, stack: BenchStack, mode: str, document: dict[str, Any], where: str) -> dict[str, Any]:
        """One mode once: a fresh, empty Azurite, and the mode's cold process."""
        # Fresh, so that no run pays for an earlier one's blobs (Azurite collects deleted
        # extents in the background).
        with Azurite() as azurite:
            env = stack.environment(azurite)
            servers = stack.servers(azurite)
            if mode == "pipeline":
                argv = [
                    sys.executable,
                    "-m",
                    "archiver",
                    "archive",
                    document["event_file"],
                    "--operator",
                    "bench",
                ]
                figures = measure_process(argv, env, servers=servers)
                moved, extra = _archived_bytes(figures.stdout, document), {}
            else:
                spec = {
                    **stack.common_spec(azurite),
                    "mode": mode,
                    "url": document["contentLocation"],
                    "file": document["file"],
                    "size": document["size"],
                    "sha256": document["sha256"],
                    "event": document["event"],
                    "container": "bench-raw",
                    "blob": mode,
                    "upload_concurrency": self.args.upload_concurrency,
                    "upload_source": self.args.upload_source,
                }
                argv = [sys.executable, "-m", "archiver.dev.bench.child"]
                figures = measure_process(argv, env, stdin=json.dumps(spec), servers=servers)
                printed = _last_json(figures.stdout, mode)
                moved, extra = int(printed["bytes"]), {"work_seconds": printed["seconds"]}
        result = {
            "mode": mode,
            "bytes": moved,
            "seconds": figures.seconds,
            "cpu_seconds": figures.cpu_seconds,
            "cpu_user": figures.cpu_user,
            "cpu_sys": figures.cpu_sys,
            "peak_rss": figures.peak_rss,
            **{f"{name}_cpu_seconds": cpu for name, cpu in figures.server_cpu.items()},
            **extra,
        }
        self.progress(
            f"{where} {mode}: {reporting.rate(result):.0f} MiB/s, CPU {figures.cpu_seconds:.2f} s,"
            f" peak RSS {figures.peak_rss / MIB:.0f} MiB"
        )
        return result

    def _throughput(self, stack: BenchStack) -> dict[str, list[dict[str, Any]]]:
        args = self.args
        size = args.recording_mib * MIB
        self.progress(f"seeding {args.recordings} documents of {args.recording_mib} MiB")
        documents = [stack.seed(size) for _ in range(args.recordings + 1)]
        warm, documents = documents[0], documents[1:]
        out: dict[str, list[dict[str, Any]]] = {str(workers): [] for workers in args.workers}
        try:
            for repeat in range(args.repeats):
                for workers in args.workers if repeat % 2 == 0 else args.workers[::-1]:
                    with Azurite() as azurite:  # fresh: every run archives the same events anew
                        spec = {
                            **stack.common_spec(azurite),
                            "mode": "throughput",
                            "workers": workers,
                            "size": size,
                            "events": [d["event"] for d in documents],
                            "warmup": {"events": [warm["event"]]},
                        }
                        outcome = run_child(spec, stack.environment(azurite))
                    out[str(workers)].append(outcome)
                    per_second = outcome["archives"] / outcome["seconds"]
                    peak = outcome["peak_rss"] / MIB
                    line = f"{workers} workers #{repeat + 1}: {per_second:.1f} archives/s"
                    self.progress(f"{line}, peak RSS {peak:.0f} MiB")
        finally:
            for document in [warm, *documents]:
                stack.forget(document)
        return out

    def _ingress(self, stack: BenchStack) -> list[dict[str, Any]]:
        results = []
        env = stack.environment(None)  # validation only: no storage, production-shaped URLs
        for _ in range(self.args.repeats):
            spec = {"mode": "ingress", "events": self.args.ingress_events, "event": realistic_event()}
            outcome = run_child(spec, env)
            results.append(outcome)
            self.progress(f"ingress: {outcome['events'] / outcome['seconds']:.0f} events/s")
        return results


def _last_json(stdout: str, mode: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise ChildFailed(f"{mode} printed no result:\n{stdout[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _archived_bytes(stdout: str, document: dict[str, Any]) -> int:
    """The media size ``archive`` reports, after checking it archived exactly the source's bytes."""
    try:
        summary = json.loads(stdout)
        [chunk] = summary["chunks"]
        media = chunk["blobs"][0]
    except (ValueError, KeyError, IndexError) as exc:
        raise ChildFailed(f"archive did not report one archived chunk ({exc!r}):\n{stdout[-2000:]}") from None
    if summary["failed"] or summary["rejected"]:
        raise ChildFailed(f"archive failed or rejected the event:\n{stdout[-2000:]}")
    if media["size"] != document["size"] or media["sha256"] != document["sha256"]:
        raise ChildFailed(f"the archived media does not match the source: {media}")
    return int(media["size"])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv

    def progress(line: str) -> None:
        if not args.quiet:
            print(f"bench: {line}", file=sys.stderr, flush=True)

    report = Runner(args, progress).run()
    if args.json is not None:
        args.json.write_text(reporting.dump(report) + "\n", encoding="utf-8")
    print(reporting.render(report, markdown=args.markdown), end="")
    missed = [target for target, _, met in reporting.check_targets(report) if not met]
    return 1 if args.check and missed else 0
