"""Fixity and completeness: does the archive still hold exactly what it was given?

Years after a copy, an auditor asks whether every recording is still there and unchanged. The
chunk manifests are the archive's own claims (written once, at the commit point), so the check
compares storage with them:

- shallow (the weekly timer): every committed chunk's media exists with the manifest's size and
  Content-MD5, its metadata with the manifest's size. The listing carries those properties, so
  this costs one request per chunk (its manifest), never a download of media;
- deep (``--deep``): media and metadata are re-read and re-hashed with SHA-256 against the
  manifest. Archive-tier blobs are offline until rehydrated: they are skipped and counted;
- completeness: a recording whose chunks are not all committed once its source deadline has
  passed will never be completed (the source is gone); a recording manifest that is missing
  then too; blobs of a chunk that never got its manifest, once older than the retention window;
- index entries that point at no committed chunk;
- and, for context, how many events were rejected and jobs failed (each was already alerted).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import groupby, islice

from pydantic import ValidationError

from archiver import audit, layout, logs
from archiver.records import ChunkManifest
from archiver.settings import INDEX_CONTAINER, Settings
from archiver.store import ArchiveStore, StoredBlob, now_utc

log = logging.getLogger("archiver.fixity")
PARALLEL_FOLDERS = 8  # manifests are small reads: a few in flight keep a large archive brisk
_CHUNK_FILE = re.compile(r"chunk-(?P<index>\d{3,})\.(?P<rest>.+)")
COUNT_LABELS = {
    "recordings": "recordings",
    "complete": "recordings complete",
    "in_progress": "recordings in progress (before their deadline)",
    "chunks": "chunks committed",
    "media_bytes": "media bytes",
    "rehashed": "blobs re-hashed (SHA-256)",
    "archive_tier": "Archive-tier blobs (offline, not re-read)",
    "index_entries": "participant index entries",
    "rejected_events": "rejected events (kept)",
    "failed_jobs": "failed jobs (kept)",
    "problems": "problems",
}


@dataclass(frozen=True)
class Problem:
    """One finding, named so that a person can go and look: what, where, expected, found."""

    kind: str
    blob: str
    expected: str
    found: str


@dataclass
class FolderCheck:
    """The findings of one recording folder (merged into the report)."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    committed: set[str] = field(default_factory=set)  # chunk manifest names


@dataclass
class FixityReport:
    deep: bool
    since: date | None
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def merge(self, check: FolderCheck) -> None:
        self.counts.update(check.counts)
        self.problems.extend(check.problems)

    def summary(self) -> dict[str, int]:
        """Every count, zeros included, in the order of the table."""
        values = {key: self.counts.get(key, 0) for key in COUNT_LABELS}
        values["problems"] = len(self.problems)
        return values


def _prefixes(since: date | None, now: datetime) -> list[str]:
    return [""] if since is None else layout.day_prefixes(since, (now + timedelta(days=1)).date())


def _folders(store: ArchiveStore, prefixes: list[str]) -> Iterator[tuple[str, list[StoredBlob]]]:
    """Recording folders one at a time (a listing is in name order, so a folder is contiguous)."""
    for prefix in prefixes:
        listing = (b for b in store.archived_blobs(prefix) if layout.recording_folder_of(b.name))
        for folder, blobs in groupby(listing, key=lambda b: layout.recording_folder_of(b.name)):
            yield str(folder), list(blobs)


def _batched(
    items: Iterator[tuple[str, list[StoredBlob]]], size: int
) -> Iterator[list[tuple[str, list[StoredBlob]]]]:
    while batch := list(islice(items, size)):
        yield batch


def _chunk_index(name: str) -> tuple[int, str] | None:
    match = _CHUNK_FILE.fullmatch(name.rsplit("/", 1)[-1])
    return (int(match["index"]), match["rest"]) if match else None


@dataclass(frozen=True)
class FolderContext:
    store: ArchiveStore
    container: str
    deep: bool
    now: datetime
    retention: timedelta


def _check_stored(
    ctx: FolderContext,
    check: FolderCheck,
    stored: StoredBlob | None,
    name: str,
    *,
    size: int,
    md5: str | None,
) -> bool:
    """Shallow: exists, size, Content-MD5 (when the manifest has one); True if it passed."""
    where = f"{ctx.container}/{name}"
    expected = f"size {size}" + (f", Content-MD5 {md5}" if md5 else "")
    if stored is None:
        check.problems.append(Problem("missing", where, expected, "absent"))
        return False
    if stored.size != size:
        check.problems.append(Problem("size_mismatch", where, expected, f"size {stored.size}"))
        return False
    if md5 and stored.content_md5 != md5:
        check.problems.append(Problem("md5_mismatch", where, expected, f"Content-MD5 {stored.content_md5}"))
        return False
    return True


def _rehash(ctx: FolderContext, check: FolderCheck, stored: StoredBlob, sha256: str) -> None:
    """Deep: re-read and hash; an Archive-tier blob cannot be read and is counted instead."""
    if stored.archived_tier:
        check.counts["archive_tier"] += 1
        return
    found = ctx.store.archived_sha256(stored.name)
    check.counts["rehashed"] += 1
    if found != sha256:
        where = f"{ctx.container}/{stored.name}"
        check.problems.append(Problem("sha256_mismatch", where, f"SHA-256 {sha256}", f"SHA-256 {found}"))


def _check_chunk(
    ctx: FolderContext, check: FolderCheck, manifest: ChunkManifest, blobs: dict[str, StoredBlob]
) -> None:
    media, metadata = manifest.media, manifest.metadata
    check.counts["media_bytes"] += media.size
    media_ok = _check_stored(
        ctx, check, blobs.get(media.blob), media.blob, size=media.size, md5=media.content_md5
    )
    metadata_ok = _check_stored(
        ctx, check, blobs.get(metadata.blob), metadata.blob, size=metadata.size, md5=None
    )
    if ctx.deep and media_ok:
        _rehash(ctx, check, blobs[media.blob], media.sha256)
    if ctx.deep and metadata_ok:
        _rehash(ctx, check, blobs[metadata.blob], metadata.sha256)


def _read_manifests(
    ctx: FolderContext, check: FolderCheck, blobs: dict[str, StoredBlob]
) -> tuple[list[ChunkManifest], set[int]]:
    """The folder's readable chunk manifests, and the indexes of those offline in Archive tier."""
    manifests: list[ChunkManifest] = []
    offline: set[int] = set()
    for name, stored in sorted(blobs.items()):
        parsed = _chunk_index(name)
        if parsed is None or parsed[1] != "manifest.json":
            continue
        check.committed.add(name)
        if stored.archived_tier:
            check.counts["archive_tier"] += 1
            offline.add(parsed[0])
            continue
        try:
            manifest = ctx.store.chunk_manifest(name)
        except ValidationError as exc:
            where = f"{ctx.container}/{name}"
            check.problems.append(Problem("manifest_unreadable", where, "a chunk manifest", str(exc)[:200]))
            continue
        if manifest is not None:
            manifests.append(manifest)
    return manifests, offline


def _missing_chunk(
    ctx: FolderContext, folder: str, index: int, count: int, blobs: dict[str, StoredBlob]
) -> Problem:
    leftovers = [n for n in blobs if (_chunk_index(n) or (-1, ""))[0] == index]
    found = "media or metadata without a chunk manifest (never committed)" if leftovers else "absent"
    where = f"{ctx.container}/{folder}/chunk-{index:03d}.manifest.json"
    return Problem(
        "chunk_missing", where, f"chunk {index} of {count}, committed before the source deadline", found
    )


def _check_complete(
    ctx: FolderContext,
    check: FolderCheck,
    folder: str,
    blobs: dict[str, StoredBlob],
    *,
    manifests: list[ChunkManifest],
    offline: set[int],
) -> None:
    """Chunks missing (or the recording manifest) once the source deadline has passed."""
    if manifests:
        count = max(m.chunk_count for m in manifests)
        deadline = min(m.source_deadline for m in manifests)
    elif offline:
        return  # only offline manifests: their chunk count cannot be read
    else:  # blobs but no manifest at all: judge by the age of what was left
        indexes = [parsed[0] for parsed in map(_chunk_index, blobs) if parsed]
        count = max(indexes, default=0) + 1
        oldest = min((b.last_modified for b in blobs.values() if b.last_modified), default=ctx.now)
        deadline = oldest + ctx.retention
    present = {m.chunk_index for m in manifests} | offline
    missing = sorted(set(range(count)) - present)
    past = ctx.now > deadline
    if missing and past:
        check.problems.extend(_missing_chunk(ctx, folder, i, count, blobs) for i in missing)
    elif missing or (f"{folder}/manifest.json" not in blobs and not past):
        check.counts["in_progress"] += 1
    elif f"{folder}/manifest.json" not in blobs:
        where = f"{ctx.container}/{folder}/manifest.json"
        check.problems.append(
            Problem("recording_manifest_missing", where, f"{count} chunks listed", "absent")
        )
    else:
        check.counts["complete"] += 1


def check_folder(ctx: FolderContext, item: tuple[str, list[StoredBlob]]) -> FolderCheck:
    folder, listed = item
    blobs = {b.name: b for b in listed}
    check = FolderCheck()
    check.counts["recordings"] += 1
    manifests, offline = _read_manifests(ctx, check, blobs)
    check.counts["chunks"] += len(manifests) + len(offline)
    for manifest in manifests:
        _check_chunk(ctx, check, manifest, blobs)
    _check_complete(ctx, check, folder, blobs, manifests=manifests, offline=offline)
    return check


def _entry_day(parts: list[str]) -> date | None:
    try:
        return date(int(parts[1]), int(parts[2]), int(parts[3]))
    except (ValueError, IndexError):
        return None


def check_index(store: ArchiveStore, report: FixityReport, committed: set[str], prefixes: list[str]) -> None:
    """Every index entry must point at a committed chunk (``{digest}/{chunk stem}.json``)."""
    for name in store.all_index_entry_names():
        parts = name.split("/")
        day = _entry_day(parts)
        if day is None or len(parts) < 7 or not any(f"{day:%Y/%m/%d}/".startswith(p) for p in prefixes):
            continue
        report.counts["index_entries"] += 1
        manifest = "/".join(parts[1:]).removesuffix(".json") + ".manifest.json"
        if manifest not in committed:
            where = f"{INDEX_CONTAINER}/{name}"
            report.problems.append(Problem("index_dangling", where, f"committed chunk {manifest}", "absent"))


def _count_dated(names: Iterable[str], prefixes: list[str]) -> int:
    return sum(1 for name in names if any(name.startswith(p) for p in prefixes))


def verify(
    settings: Settings,
    store: ArchiveStore,
    *,
    since: date | None = None,
    deep: bool = False,
    now: datetime | None = None,
) -> FixityReport:
    """Check every recording filed on or after ``since`` (all of them without it)."""
    now = now or now_utc()
    report = FixityReport(deep=deep, since=since)
    prefixes = _prefixes(since, now)
    ctx = FolderContext(
        store,
        store.archive_container,
        deep,
        now.astimezone(UTC),
        timedelta(hours=settings.source_retention_hours),
    )
    committed: set[str] = set()
    with ThreadPoolExecutor(max_workers=PARALLEL_FOLDERS) as pool:
        for batch in _batched(_folders(store, prefixes), PARALLEL_FOLDERS * 4):
            for check in pool.map(partial(check_folder, ctx), batch):
                report.merge(check)
                committed |= check.committed
    check_index(store, report, committed, prefixes)
    report.counts["rejected_events"] = _count_dated(store.rejected_event_names(), prefixes)
    report.counts["failed_jobs"] = _count_dated(store.failed_job_names(), prefixes)
    return report


def log_result(report: FixityReport) -> None:
    """One ``ARCHIVER_INTEGRITY`` line with every count; error level when anything is wrong."""
    kinds = Counter(problem.kind for problem in report.problems)
    logs.emit(
        log,
        logging.INFO if report.intact else logging.ERROR,
        logs.INTEGRITY,
        "archive intact"
        if report.intact
        else "archive NOT intact: run `python -m archiver verify` for details",
        intact=str(report.intact).lower(),
        deep=str(report.deep).lower(),
        **report.summary(),
        **{f"problem_{kind}": n for kind, n in sorted(kinds.items())},
    )


def record_result(store: ArchiveStore, report: FixityReport, operator: str) -> None:
    """Keep the check's result in the audit trail: fixity checks are custody evidence, and
    ``status`` shows the last one."""
    counts = report.summary()
    audit.record(
        store,
        operator=operator,
        action="verify",
        scope=f"since:{report.since.isoformat()}" if report.since else "archive",
        objects=counts.get("chunks", 0),
        outcome="done" if report.intact else "failed",
        detail=("intact" if report.intact else f"NOT intact: {counts['problems']} problems")
        + (", deep" if report.deep else ", shallow")
        + "; "
        + ", ".join(f"{key}={value}" for key, value in counts.items()),
    )
