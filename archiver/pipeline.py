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
import re
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ContentSettings

from archiver import layout
from archiver.blob_copy import copy_to_blob
from archiver.errors import ConfigurationError, RecordingLost
from archiver.jobs import RecordingJob
from archiver.metadata import RecordingMetadata, parse_metadata
from archiver.settings import Settings
from archiver.source import MediaDownload, SourceClient, SourceMissing, redact
from archiver.store import ArchiveStore, now_utc, to_json

log = logging.getLogger("archiver.pipeline")
MANIFEST_SCHEMA = 1
_CHUNK_MANIFEST = re.compile(r"chunk-(\d{3})\.manifest\.json")


@dataclass(frozen=True)
class BlobRecord:
    container: str
    name: str
    size: int
    sha256: str


@dataclass
class ChunkResult:
    outcome: str  # "archived" | "already_archived"
    job: RecordingJob
    manifest: dict[str, Any]
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
        self.store.ensure_containers()
        manifest_name = layout.chunk_manifest_blob(job)
        manifest = self.store.read_json(self.store.archive, manifest_name)
        if manifest is not None:
            result = ChunkResult("already_archived", job, manifest)
        else:
            result = self._copy(job, manifest_name)
        self._finish(result)
        return result

    def _source_call(self, job: RecordingJob, what: str) -> None:
        """Turn a 404 into a loss once the retention window has closed."""
        if job.margin_seconds() <= 0:
            closed = job.recording.deadline.isoformat()
            raise RecordingLost(f"{what} answered 404 after the retention window closed at {closed}")

    def _copy(self, job: RecordingJob, manifest_name: str) -> ChunkResult:
        try:
            raw_metadata = self.source.fetch_small(
                job.chunk.metadata_url, max_bytes=self.settings.max_metadata_bytes
            )
        except SourceMissing:
            self._source_call(job, "metadata")
            raise
        metadata = parse_metadata(raw_metadata, max_bytes=self.settings.max_metadata_bytes)
        extension = layout.media_extension(
            job.recording.format_type, _text(metadata.recording_info.get("format"))
        )
        media_name = layout.media_blob(job, extension)
        content_type = layout.content_type_for(extension)

        def open_source(offset: int) -> MediaDownload:
            return self.source.open_media(job.chunk.content_url, offset=offset)

        try:
            copied = copy_to_blob(
                self.store.archive.get_blob_client(media_name),
                open_source,
                content_type=content_type,
                block_size=self.settings.copy_block_mib * 1024 * 1024,
                concurrency=self.settings.copy_concurrency,
                lease_seconds=self.settings.lease_seconds,
            )
        except SourceMissing:
            self._source_call(job, "media")
            raise
        except HttpResponseError as exc:
            if getattr(exc, "error_code", None) == "BlobImmutableDueToPolicy":
                raise ConfigurationError(
                    f"container {self.store.archive.container_name!r} has a time-based retention (WORM) "
                    "policy, which blocks the resumable copy's checkpoints: remove the policy "
                    "(immutabilityPeriodDays=0) or archive to a container without one",
                    reason="container_immutable",
                ) from None
            raise

        metadata_name = layout.metadata_blob(job)
        self.store.archive.upload_blob(
            metadata_name,
            raw_metadata,
            overwrite=True,
            content_settings=ContentSettings(
                content_type="application/json",
                content_md5=bytearray(hashlib.md5(raw_metadata, usedforsecurity=False).digest()),
            ),
        )
        metadata_sha = hashlib.sha256(raw_metadata).hexdigest()
        manifest = _chunk_manifest(
            job,
            metadata=metadata,
            media=media_name,
            size=copied.size,
            sha256=copied.sha256,
            md5=copied.md5,
            content_type=content_type,
        )
        manifest["metadata"] = {"blob": metadata_name, "size": len(raw_metadata), "sha256": metadata_sha}
        manifest["transfer"] = {
            "resumedFromByte": copied.resumed_from,
            "sourceRequests": copied.source_requests,
        }
        created = self.store.create_once(self.store.archive, manifest_name, to_json(manifest))
        if not created:  # a concurrent delivery committed first: report what is stored
            manifest = self.store.read_json(self.store.archive, manifest_name) or manifest
        result = ChunkResult(
            "archived", job, manifest, source_bytes=copied.size - copied.resumed_from, metadata=metadata
        )
        if self.settings.delete_source_after_archive and job.chunk.delete_url:
            self.source.delete(job.chunk.delete_url)
        return result

    def _finish(self, result: ChunkResult) -> None:
        """Index entries and the recording manifest; both write-once, so safe to repeat."""
        job, manifest = result.job, result.manifest
        metadata = result.metadata
        if metadata is None:  # archived by an earlier delivery: read what it stored
            raw = self.store.archive.download_blob(manifest["metadata"]["blob"]).readall()
            metadata = parse_metadata(raw, max_bytes=max(len(raw), 1))
        for participant in metadata.participants:
            entry = _index_entry(job, manifest, metadata, participant.participant_id, participant.channel)
            self.store.create_once(
                self.store.index, layout.index_blob(participant.participant_id, job), to_json(entry)
            )
        result.index_entries = len(metadata.participants)
        result.recording_manifest = self._recording_manifest(job)

    def _recording_manifest(self, job: RecordingJob) -> str | None:
        folder = layout.recording_folder(job.recording)
        names = [
            n
            for n in self.store.names(self.store.archive, f"{folder}/chunk-")
            if n.endswith(".manifest.json")
        ]
        if len(names) < job.recording.chunk_count:
            return None
        chunks = [self.store.read_json(self.store.archive, name) or {} for name in sorted(names)]
        info = job.recording
        document = {
            "schema": MANIFEST_SCHEMA,
            "kind": "recording",
            "callId": info.call_id,
            "serverCallId": info.server_call_id,
            "recordingId": info.recording_id,
            "recordingKey": info.recording_key,
            "eventId": info.event_id,
            "recordingStartTime": info.start_time.isoformat(),
            "recordingDurationMs": info.duration_ms,
            "format": {
                "content": info.content_type,
                "channel": info.channel_type,
                "format": info.format_type,
            },
            "chunkCount": info.chunk_count,
            "totalBytes": sum(c.get("media", {}).get("size", 0) for c in chunks),
            "completedAt": max(str(c.get("archivedAt", "")) for c in chunks),
            "chunks": [
                {
                    "index": c.get("chunkIndex"),
                    "documentId": c.get("documentId"),
                    "manifest": name,
                    "media": c.get("media"),
                }
                for name, c in zip(sorted(names), chunks, strict=True)
            ],
        }
        name = layout.recording_manifest_blob(info)
        self.store.create_once(self.store.archive, name, to_json(document))
        return name


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _chunk_manifest(
    job: RecordingJob,
    *,
    metadata: RecordingMetadata,
    media: str,
    size: int,
    sha256: str,
    md5: str,
    content_type: str,
) -> dict[str, Any]:
    info, chunk = job.recording, job.chunk
    return {
        "schema": MANIFEST_SCHEMA,
        "kind": "chunk",
        "eventId": info.event_id,
        "eventTime": info.event_time.isoformat(),
        "callId": info.call_id,
        "serverCallId": info.server_call_id,
        "recordingId": info.recording_id,
        "recordingKey": info.recording_key,
        "documentId": chunk.document_id,
        "chunkIndex": chunk.index,
        "chunkCount": info.chunk_count,
        "endReason": chunk.end_reason,
        "chunkStartTime": (metadata.chunk_start_time or info.start_time).isoformat(),
        "chunkDurationMs": metadata.chunk_duration,
        "pauseResumeIntervals": [
            {"startTime": p.start_time.isoformat() if p.start_time else None, "durationMs": p.duration}
            for p in metadata.pause_resume_intervals
        ],
        "participantCount": len(metadata.participants),
        "media": {
            "blob": media,
            "size": size,
            "sha256": sha256,
            "contentMd5": md5,
            "contentType": content_type,
        },
        "source": {"content": redact(chunk.content_url), "metadata": redact(chunk.metadata_url)},
        "sourceDeadline": info.deadline.isoformat(),
        "archivedAt": now_utc().isoformat(),
    }


def _index_entry(
    job: RecordingJob,
    manifest: dict[str, Any],
    metadata: RecordingMetadata,
    participant_id: str,
    channel: int | None,
) -> dict[str, Any]:
    return {
        "participantId": participant_id,
        "participantDigest": layout.participant_digest(participant_id),
        "callId": job.recording.call_id,
        "recordingKey": job.recording.recording_key,
        "recordingManifest": layout.recording_manifest_blob(job.recording),
        "chunkManifest": layout.chunk_manifest_blob(job),
        "chunkIndex": job.chunk.index,
        "documentId": job.chunk.document_id,
        "startTime": manifest.get("chunkStartTime"),
        "durationMs": manifest.get("chunkDurationMs"),
        "channel": channel,
        "channelType": job.recording.channel_type or _text(metadata.recording_info.get("channelType")),
        "media": manifest["media"],
        "metadataBlob": manifest["metadata"]["blob"],
        "eventId": job.recording.event_id,
    }


def blob_records(manifest: dict[str, Any], container: str) -> list[BlobRecord]:
    """The blobs a chunk manifest vouches for."""
    media, metadata = manifest["media"], manifest["metadata"]
    return [
        BlobRecord(container, media["blob"], media["size"], media["sha256"]),
        BlobRecord(container, metadata["blob"], metadata["size"], metadata["sha256"]),
    ]


def summary_line(result: ChunkResult, container: str) -> dict[str, Any]:
    """The JSON an operator sees for one chunk (CLI output)."""
    return {
        "outcome": result.outcome,
        "callId": result.job.recording.call_id,
        "documentId": result.job.chunk.document_id,
        "chunkIndex": result.job.chunk.index,
        "manifest": layout.chunk_manifest_blob(result.job),
        "recordingManifest": result.recording_manifest,
        "indexEntries": result.index_entries,
        "blobs": [
            {"container": b.container, "name": b.name, "size": b.size, "sha256": b.sha256}
            for b in blob_records(result.manifest, container)
        ],
    }
