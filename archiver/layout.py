"""Where things go in storage: deterministic, person-readable, and safe by construction.

Every name is built only from values that ``events`` has already checked against a strict
character set (document ids), from identifiers passed through ``name_segment`` (call ids), or
from values we derive ourselves (dates, indexes, digests), so no event can steer a write
outside its own recording's folder.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date, timedelta

from archiver.jobs import RecordingInfo, RecordingJob

# What may stand as a blob-name segment verbatim: GUID-like ids, never ".", "..", "%", "\\".
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
ENCODED_PREFIX = "_"  # a safe segment starts with a letter or digit, so the two never collide

EXTENSIONS = {"mp4": "mp4", "mp3": "mp3", "wav": "wav"}
CONTENT_TYPES = {"mp4": "video/mp4", "mp3": "audio/mpeg", "wav": "audio/wav"}


def media_extension(*candidates: str | None) -> str:
    """The first known format among ``candidates`` (event, then metadata), else ``bin``."""
    for value in candidates:
        if value and value.strip().lower() in EXTENSIONS:
            return EXTENSIONS[value.strip().lower()]
    return "bin"


def content_type_for(extension: str) -> str:
    return CONTENT_TYPES.get(extension, "application/octet-stream")


def name_segment(identifier: str) -> str:
    """``identifier`` itself when it is safe as one blob-name segment, else a stable encoding.

    Call ids only name folders, so an odd one (dots, ``%``, control or look-alike characters,
    300 characters) must not cost a recording: it is archived under ``_`` + the base32 of its
    SHA-256 (52 lowercase characters), the same on every redelivery, and the raw id is kept
    inside the manifests and index entries.
    """
    if _SAFE_SEGMENT.fullmatch(identifier):
        return identifier
    digest = hashlib.sha256(identifier.encode("utf-8", errors="surrogatepass")).digest()
    return ENCODED_PREFIX + base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def recording_folder(info: RecordingInfo) -> str:
    """``2026/11/20/{callId}/091403Z-{key}``: by day, then call, then recording start."""
    start = info.start_time
    return f"{start:%Y/%m/%d}/{name_segment(info.call_id)}/{start:%H%M%S}Z-{info.recording_key}"


def chunk_stem(job: RecordingJob) -> str:
    return f"{recording_folder(job.recording)}/chunk-{job.chunk.index:03d}"


def media_blob(job: RecordingJob, extension: str) -> str:
    return f"{chunk_stem(job)}.{extension}"


def metadata_blob(job: RecordingJob) -> str:
    return f"{chunk_stem(job)}.metadata.json"


def chunk_manifest_blob(job: RecordingJob) -> str:
    return f"{chunk_stem(job)}.manifest.json"


def recording_manifest_blob(info: RecordingInfo) -> str:
    return f"{recording_folder(info)}/manifest.json"


def participant_digest(participant_id: str) -> str:
    """Index key for a person: a digest, so that blob names never carry an identity."""
    return hashlib.sha256(participant_id.strip().encode("utf-8")).hexdigest()


def index_blob(participant_id: str, job: RecordingJob) -> str:
    return f"{participant_digest(participant_id)}/{chunk_stem(job)}.json"


def failure_blob(job: RecordingJob) -> str:
    recording = job.recording
    return f"{recording.event_time:%Y/%m/%d}/{name_segment(recording.call_id)}/{job.chunk.document_id}.json"


def day_prefixes(since: date, until: date) -> list[str]:
    """``YYYY/MM/DD/`` for each day from ``since`` to ``until`` inclusive: records are filed by day."""
    return [f"{since + timedelta(days=n):%Y/%m/%d}/" for n in range(max((until - since).days, 0) + 1)]


def recording_folder_of(name: str) -> str | None:
    """``2026/11/20/{call}/091403Z-{key}`` for a blob in a recording folder, else None."""
    parts = name.split("/")
    return "/".join(parts[:5]) if len(parts) >= 6 else None
