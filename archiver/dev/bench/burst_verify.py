"""After a burst: is every recording archived, and is what was archived what the source served?

Reads the archive the way an operator trusts it, through its manifests (a recording counts as
archived only once its manifest is committed), and checks each against what the emulator
said it served when the document was seeded (media SHA-256 and size, metadata SHA-256 and
size), and the archived media blob's size and Content-MD5 against the manifest. Nothing here
re-downloads media: the pipeline verified the bytes end to end before committing, and
re-hashing tens of GiB would measure this script, not the archiver.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient

from archiver.records import ChunkManifest, RecordingManifest
from archiver.settings import FAILURES_CONTAINER, JOBS_QUEUE, POISON_QUEUE, REJECTED_CONTAINER

CHECK_THREADS = 8
LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class Expected:
    """What the emulator served for one document (from its seed answer)."""

    document_id: str
    size: int
    sha256: str
    metadata_size: int
    metadata_sha256: str

    @classmethod
    def from_seed(cls, seeded: dict[str, Any]) -> Expected:
        return cls(
            document_id=seeded["documentId"],
            size=int(seeded["size"]),
            sha256=seeded["sha256"],
            metadata_size=int(seeded["metadataSize"]),
            metadata_sha256=seeded["metadataSha256"],
        )


@dataclass(frozen=True)
class Verdict:
    """One recording's state in the archive."""

    document_id: str
    archived: bool  # its manifest is committed
    verified: bool  # and everything in it matches the source
    committed_at: float | None  # the chunk manifest's archivedAt (epoch seconds): the commit point
    size: int
    problem: str | None = None


def _media_problem(archive: ContainerClient, chunk: ChunkManifest, want: Expected) -> str | None:
    media = chunk.media
    if media.size != want.size or media.sha256 != want.sha256:
        return f"media {media.size} B sha256 {media.sha256[:12]} != served {want.size} B {want.sha256[:12]}"
    if chunk.metadata.sha256 != want.metadata_sha256 or chunk.metadata.size != want.metadata_size:
        return "metadata differs from what was served"
    properties = archive.get_blob_client(media.blob).get_blob_properties()
    md5 = properties.content_settings.content_md5
    stored_md5 = base64.b64encode(bytes(md5)).decode("ascii") if md5 else None
    if properties.size != media.size or stored_md5 != media.content_md5:
        return f"media blob holds {properties.size} B, Content-MD5 {stored_md5}, not what its manifest says"
    return None


def _check(archive: ContainerClient, name: str, expected: dict[str, Expected]) -> list[Verdict]:
    recording = RecordingManifest.model_validate_json(archive.download_blob(name).readall())
    verdicts = []
    for entry in recording.chunks:
        want = expected.get(entry.document_id)
        if want is None:
            continue  # not one of this burst's recordings
        try:
            chunk = ChunkManifest.model_validate_json(archive.download_blob(entry.manifest).readall())
        except ResourceNotFoundError:
            verdicts.append(Verdict(entry.document_id, False, False, None, 0, "chunk manifest missing"))
            continue
        problem = _media_problem(archive, chunk, want)
        verdicts.append(
            Verdict(
                document_id=entry.document_id,
                archived=True,
                verified=problem is None,
                committed_at=chunk.archived_at.timestamp(),
                size=chunk.media.size,
                problem=problem,
            )
        )
    return verdicts


def verify_archive(
    connection_string: str, container: str, expected: Iterable[Expected]
) -> dict[str, Verdict]:
    """A verdict for every expected document: archived and verified, or what is wrong."""
    wanted = {item.document_id: item for item in expected}
    with BlobServiceClient.from_connection_string(connection_string) as service:
        archive = service.get_container_client(container)
        names = [blob.name for blob in archive.list_blobs() if blob.name.endswith("/manifest.json")]
        with ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
            found = [
                v for verdicts in pool.map(lambda n: _check(archive, n, wanted), names) for v in verdicts
            ]
    verdicts = {v.document_id: v for v in found}
    for document_id in wanted.keys() - verdicts.keys():
        verdicts[document_id] = Verdict(document_id, False, False, None, 0, "no committed manifest")
    return verdicts


def _names(service: BlobServiceClient, container: str) -> list[str]:
    client = service.get_container_client(container)
    try:
        return [blob.name for blob in client.list_blobs()]
    except ResourceNotFoundError:
        return []


def leftovers(connection_string: str) -> dict[str, Any]:
    """What else the burst left behind: jobs still queued or poisoned, failures, rejections."""
    from azure.storage.queue import QueueClient

    counts: dict[str, Any] = {}
    for key, queue_name in (("jobs_left", JOBS_QUEUE), ("poisoned", POISON_QUEUE)):
        with QueueClient.from_connection_string(connection_string, queue_name) as queue:
            try:
                counts[key] = queue.get_queue_properties().approximate_message_count
            except ResourceNotFoundError:
                counts[key] = 0
    with BlobServiceClient.from_connection_string(connection_string) as service:
        for key, container in (("failed_jobs", FAILURES_CONTAINER), ("rejected_events", REJECTED_CONTAINER)):
            names = _names(service, container)
            counts[key] = len(names)
            counts[f"{key}_names"] = names[:LISTED_PROBLEMS]
    return counts
