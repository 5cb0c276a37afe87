"""Produce one served document (media + metadata) for a recording chunk or a seed request."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from archiver.dev.emulator.documents import (
    Document,
    DocumentStore,
    file_sha256,
    write_random_file,
)
from archiver.dev.emulator.files import write_bytes_atomic
from archiver.dev.emulator.formats import EXTENSIONS, RecordingKind
from archiver.dev.emulator.media import describe_media, write_media
from archiver.dev.emulator.metadata import chunk_metadata
from archiver.dev.emulator.timeline import Pause


@dataclass(frozen=True)
class ChunkSpec:
    """Everything that decides a chunk's files."""

    document_id: str
    index: int
    kind: RecordingKind
    resource_id: str
    call_id: str
    participants: tuple[str, ...]
    start_time: datetime
    duration_ms: int
    pauses: tuple[Pause, ...] = ()
    pause_marks_ms: tuple[int, ...] = ()
    raw_metadata: bytes | None = None  # served byte for byte instead of generated metadata
    size_bytes: int | None = None  # media of exactly this many pseudo-random bytes instead
    channels: tuple[int, ...] = ()  # each participant's channel (unmixed); () for the seed's layout


def produce(store: DocumentStore, spec: ChunkSpec) -> Document:
    folder = store.prepare(spec.document_id)
    media_file = "content" + EXTENSIONS[spec.kind.format]
    media_path = folder / media_file
    if spec.size_bytes is not None:
        sha256 = write_random_file(media_path, spec.size_bytes, seed=spec.document_id)
    else:
        write_media(
            media_path,
            spec.kind,
            participants=len(spec.participants),
            duration_ms=spec.duration_ms,
            pause_marks_ms=spec.pause_marks_ms,
            channel_of=spec.channels,
        )
        sha256 = file_sha256(media_path)
    metadata = spec.raw_metadata
    if metadata is None:
        value = chunk_metadata(
            resource_id=spec.resource_id,
            call_id=spec.call_id,
            document_id=spec.document_id,
            index=spec.index,
            start_time=spec.start_time,
            duration_ms=spec.duration_ms,
            pauses=spec.pauses,
            kind=spec.kind,
            media=describe_media(spec.kind, len(spec.participants), spec.channels),
            participants=list(spec.participants),
            channel_of=spec.channels,
        )
        metadata = (json.dumps(value, indent=2) + "\n").encode("utf-8")
    write_bytes_atomic(folder / "metadata.json", metadata)
    document = Document(
        document_id=spec.document_id,
        media_type=spec.kind.media_type,
        media_file=media_file,
        size=media_path.stat().st_size,
        sha256=sha256,
        metadata_size=len(metadata),
        metadata_sha256=hashlib.sha256(metadata).hexdigest(),
    )
    store.add(document)
    return document
