"""Archive one chunk end to end. The only place that knows the order of the steps.

Order, and why:
1. chunk manifest exists?  -> done before; only re-assert the index and recording manifest.
2. fetch + validate metadata (small, and tells the format; bad metadata stops before media).
3. stream media into its blob, verify size, Content-MD5, SHA-256.
4. store the metadata bytes exactly as received.
5. write the chunk manifest: THE commit point. Before it exists nothing is archived.
6. participant index entries, then the recording manifest once every chunk has committed.
7. optionally delete the source.
Every step is idempotent, so a redelivery after a crash anywhere simply runs again.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from azure.core.exceptions import AzureError

from archiver import layout, manifests
from archiver.blob_copy import CopyResult, copy_to_archive
from archiver.errors import RecordingLost, SourceMissing
from archiver.jobs import RecordingJob
from archiver.metadata import RecordingMetadata, parse_metadata
from archiver.records import ChunkManifest, MediaBlob, MetadataBlob
from archiver.settings import Settings
from archiver.source import MediaDownload, SourceClient
from archiver.store import ArchiveStore, storage_failure

log = logging.getLogger("archiver.pipeline")


class ChunkOutcome(StrEnum):
    ARCHIVED = "archived"
    ALREADY_ARCHIVED = "already_archived"


@dataclass
class ChunkResult:
    outcome: ChunkOutcome
    job: RecordingJob
    manifest: ChunkManifest
    recording_manifest: str | None = None
    index_entries: int = 0
    source_bytes: int = 0
    metadata: RecordingMetadata | None = None  # known when this attempt fetched it


class Archiver:
    """Runs the steps for one job against one store and one source client."""

    def __init__(self, settings: Settings, store: ArchiveStore, source: SourceClient) -> None:
        self.settings = settings
        self.store = store
        self.source = source

    def archive(self, job: RecordingJob) -> ChunkResult:
        """Archive one chunk; a failure of our own storage comes out as an ``ArchiverError``."""
        try:
            return self._archive(job)
        except AzureError as exc:
            translated = storage_failure(exc)
            if translated is None:
                raise
            raise translated from exc

    def _archive(self, job: RecordingJob) -> ChunkResult:
        self.store.ensure_containers()
        manifest_name = layout.chunk_manifest_blob(job)
        manifest = self.store.chunk_manifest(manifest_name)
        if manifest is not None:
            result = ChunkResult(ChunkOutcome.ALREADY_ARCHIVED, job, manifest)
        else:
            result = self._copy(job, manifest_name)
        self._finish(result)
        return result

    def _lost_if_closed(self, job: RecordingJob, what: str) -> None:
        """Turn a 404 into a loss once the retention window has closed."""
        if job.margin_seconds() <= 0:
            closed = job.recording.deadline.isoformat()
            raise RecordingLost(f"{what} answered 404 after the retention window closed at {closed}")

    def _fetch_metadata(self, job: RecordingJob) -> tuple[bytes, RecordingMetadata]:
        limit = self.settings.max_metadata_bytes
        try:
            raw = self.source.fetch_small(job.chunk.metadata_url, max_bytes=limit)
        except SourceMissing:
            self._lost_if_closed(job, "metadata")
            raise
        return raw, parse_metadata(raw, max_bytes=limit)

    def _copy_media(self, job: RecordingJob, media_name: str, content_type: str) -> CopyResult:
        def open_source(offset: int) -> MediaDownload:
            return self.source.open_media(job.chunk.content_url, offset=offset)

        try:
            return copy_to_archive(
                self.store.media_blob(media_name),
                self.store.staging_blob(media_name),
                open_source,
                content_type=content_type,
                block_size=self.settings.copy_block_mib * 1024 * 1024,
                concurrency=self.settings.copy_concurrency,
                lease_seconds=self.settings.lease_seconds,
                access=self.store.copy_source,
            )
        except SourceMissing:
            self._lost_if_closed(job, "media")
            raise

    def _copy(self, job: RecordingJob, manifest_name: str) -> ChunkResult:
        raw_metadata, metadata = self._fetch_metadata(job)
        format_in_metadata = metadata.recording_info.get("format")
        extension = layout.media_extension(
            job.recording.format_type, format_in_metadata if isinstance(format_in_metadata, str) else None
        )
        media_name = layout.media_blob(job, extension)
        content_type = layout.content_type_for(extension)
        copied = self._copy_media(job, media_name, content_type)
        metadata_name = layout.metadata_blob(job)
        archived_metadata = self.store.put_metadata(metadata_name, raw_metadata)
        if archived_metadata != raw_metadata:
            raw_metadata, metadata = (
                archived_metadata,
                parse_metadata(archived_metadata, max_bytes=len(archived_metadata)),
            )
        manifest = manifests.chunk_manifest(
            job,
            metadata,
            MediaBlob(
                blob=media_name,
                size=copied.size,
                sha256=copied.sha256,
                content_md5=copied.md5,
                content_type=content_type,
            ),
            MetadataBlob(
                blob=metadata_name, size=len(raw_metadata), sha256=hashlib.sha256(raw_metadata).hexdigest()
            ),
            copied,
        )
        if not self.store.create_chunk_manifest(manifest_name, manifest):
            # A concurrent delivery committed first: report what is stored.
            manifest = self.store.chunk_manifest(manifest_name) or manifest
        result = ChunkResult(
            ChunkOutcome.ARCHIVED,
            job,
            manifest,
            source_bytes=copied.size - copied.resumed_from,
            metadata=metadata,
        )
        if self.settings.delete_source_after_archive and job.chunk.delete_url:
            self.source.delete(job.chunk.delete_url)
        return result

    def _finish(self, result: ChunkResult) -> None:
        """Index entries and the recording manifest; both write-once, so safe to repeat."""
        job, manifest = result.job, result.manifest
        metadata = result.metadata
        if metadata is None:  # archived by an earlier delivery: read what it stored
            raw = self.store.read_archived(manifest.metadata.blob)
            metadata = parse_metadata(raw, max_bytes=max(len(raw), 1))
        for participant in metadata.participants:
            entry = manifests.index_entry(
                job, manifest, metadata, participant.participant_id, participant.channel
            )
            self.store.create_index_entry(layout.index_blob(participant.participant_id, job), entry)
        result.index_entries = len(metadata.participants)
        result.recording_manifest = self._recording_manifest(job, manifest)

    def _recording_manifest(self, job: RecordingJob, stored: ChunkManifest) -> str | None:
        """Written once every chunk has committed; ``stored`` is this chunk's, as stored."""
        chunks = self.store.chunk_manifests(
            layout.recording_folder(job.recording), known={layout.chunk_manifest_blob(job): stored}
        )
        if len(chunks) < job.recording.chunk_count:
            return None
        name = layout.recording_manifest_blob(job.recording)
        self.store.create_recording_manifest(name, manifests.recording_manifest(job, chunks))
        return name


def summary_line(result: ChunkResult, container: str) -> dict[str, Any]:
    """The JSON an operator sees for one chunk (CLI output)."""
    manifest = result.manifest
    return {
        "outcome": result.outcome.value,
        "callId": result.job.recording.call_id,
        "documentId": result.job.chunk.document_id,
        "chunkIndex": result.job.chunk.index,
        "manifest": layout.chunk_manifest_blob(result.job),
        "recordingManifest": result.recording_manifest,
        "indexEntries": result.index_entries,
        "blobs": [
            {"container": container, "name": b.blob, "size": b.size, "sha256": b.sha256}
            for b in (manifest.media, manifest.metadata)
        ],
    }
