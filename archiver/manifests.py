"""How the archive's records are built from a job, its metadata and the verified copy.

Pure functions: no I/O (``archiver.store`` writes and reads the records), so every field's
origin is visible in one place and testable without storage.
"""

from __future__ import annotations

from archiver import layout
from archiver.blob_copy import CopyResult
from archiver.jobs import RecordingJob
from archiver.metadata import RecordingMetadata
from archiver.records import (
    ChunkManifest,
    IndexEntry,
    MediaBlob,
    MetadataBlob,
    PauseResume,
    RecordingChunk,
    RecordingFormat,
    RecordingManifest,
    SourceUrls,
    Transfer,
)
from archiver.source import redact
from archiver.store import now_utc


def chunk_manifest(
    job: RecordingJob,
    metadata: RecordingMetadata,
    media: MediaBlob,
    metadata_blob: MetadataBlob,
    copied: CopyResult,
) -> ChunkManifest:
    info, chunk = job.recording, job.chunk
    return ChunkManifest(
        event_id=info.event_id,
        event_time=info.event_time,
        call_id=info.call_id,
        server_call_id=info.server_call_id,
        recording_id=info.recording_id,
        recording_key=info.recording_key,
        document_id=chunk.document_id,
        chunk_index=chunk.index,
        chunk_count=info.chunk_count,
        end_reason=chunk.end_reason,
        chunk_start_time=metadata.chunk_start_time or info.start_time,
        chunk_duration_ms=metadata.chunk_duration,
        pause_resume_intervals=[
            PauseResume(start_time=p.start_time, duration_ms=p.duration)
            for p in metadata.pause_resume_intervals
        ],
        participant_count=len(metadata.participants),
        media=media,
        metadata=metadata_blob,
        source=SourceUrls(content=redact(chunk.content_url), metadata=redact(chunk.metadata_url)),
        source_deadline=info.deadline,
        archived_at=now_utc(),
        transfer=Transfer(resumed_from_byte=copied.resumed_from, source_requests=copied.source_requests),
    )


def recording_manifest(job: RecordingJob, chunks: list[tuple[str, ChunkManifest]]) -> RecordingManifest:
    """The recording's table of contents, from its committed chunk manifests."""
    info = job.recording
    return RecordingManifest(
        call_id=info.call_id,
        server_call_id=info.server_call_id,
        recording_id=info.recording_id,
        recording_key=info.recording_key,
        event_id=info.event_id,
        recording_start_time=info.start_time,
        recording_duration_ms=info.duration_ms,
        format=RecordingFormat(content=info.content_type, channel=info.channel_type, format=info.format_type),
        chunk_count=info.chunk_count,
        total_bytes=sum(c.media.size for _, c in chunks),
        completed_at=max(c.archived_at for _, c in chunks),
        chunks=[
            RecordingChunk(index=c.chunk_index, document_id=c.document_id, manifest=name, media=c.media)
            for name, c in chunks
        ],
    )


def index_entry(
    job: RecordingJob,
    manifest: ChunkManifest,
    metadata: RecordingMetadata,
    participant_id: str,
    channel: int | None,
) -> IndexEntry:
    channel_type = metadata.recording_info.get("channelType")
    return IndexEntry(
        participant_id=participant_id,
        participant_digest=layout.participant_digest(participant_id),
        call_id=job.recording.call_id,
        recording_key=job.recording.recording_key,
        recording_manifest=layout.recording_manifest_blob(job.recording),
        chunk_manifest=layout.chunk_manifest_blob(job),
        chunk_index=job.chunk.index,
        document_id=job.chunk.document_id,
        start_time=manifest.chunk_start_time,
        duration_ms=manifest.chunk_duration_ms,
        channel=channel,
        channel_type=job.recording.channel_type or (channel_type if isinstance(channel_type, str) else None),
        media=manifest.media,
        metadata_blob=manifest.metadata.blob,
        event_id=job.recording.event_id,
    )
