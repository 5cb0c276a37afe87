"""The URLs the emulator publishes for a document: today's and the seed's."""

from __future__ import annotations

from archiver.dev.emulator.formats import RecordingKind


def chunk_locations(public_url: str, document_id: str, kind: RecordingKind) -> dict[str, str]:
    """``contentLocation``, ``metadataLocation`` and ``deleteLocation``, as in today's events."""
    base = f"{public_url.rstrip('/')}/v1/objects/{document_id}"
    return {
        "contentLocation": f"{base}/content/{kind.content_segment}",
        "metadataLocation": f"{base}/content/acsmetadata",
        "deleteLocation": base,
    }


def seed_locations(public_url: str, document_id: str) -> dict[str, str]:
    """The 2021 URLs, ``{ACS endpoint}/recording/download/{documentId}[/metadata]``."""
    base = f"{public_url.rstrip('/')}/recording/download/{document_id}"
    return {"downloadLocation": base, "metadataDownloadLocation": f"{base}/metadata"}
