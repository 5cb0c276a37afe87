"""The documents (recording chunks) the emulator serves, kept on disk under the state dir.

Each document is a folder ``documents/{documentId}/`` holding the media, the metadata exactly
as served, and ``document.json`` describing both; the in-memory index is rebuilt from those
folders at start-up, so a restarted emulator keeps serving what it had.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import threading
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from archiver.dev.emulator.errors import bad_request
from archiver.dev.emulator.files import write_json_atomic

_DOCUMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_PIECE = 8 << 20


@dataclass(frozen=True)
class Document:
    document_id: str
    media_type: str
    media_file: str  # file name inside the document's folder
    size: int
    sha256: str
    metadata_size: int
    metadata_sha256: str


def new_document_id(index: int = 0) -> str:
    """An id shaped like the service's, e.g. ``0-eus-d6-<32 hex>`` (prefix = chunk index)."""
    return f"{index}-eus-d6-{uuid.uuid4().hex}"


def check_document_id(document_id: object) -> str:
    if not isinstance(document_id, str) or not _DOCUMENT_ID.match(document_id):
        raise bad_request("documentId must be 1-128 letters, digits, '.', '_' or '-'", "documentId")
    return document_id


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while piece := handle.read(_PIECE):
            digest.update(piece)
    return digest.hexdigest()


def write_random_file(path: Path, size: int, seed: str) -> str:
    """Write exactly ``size`` deterministic pseudo-random bytes; return their SHA-256."""
    generator = random.Random(seed)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        remaining = size
        while remaining > 0:
            piece = generator.randbytes(min(_PIECE, remaining))
            digest.update(piece)
            out.write(piece)
            remaining -= len(piece)
    return digest.hexdigest()


class DocumentStore:
    """Thread-safe index of served documents, backed by ``{state_dir}/documents``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._documents: dict[str, Document] = {}
        for info in sorted(self.root.glob("*/document.json")):
            document = Document(**json.loads(info.read_text(encoding="utf-8")))
            self._documents[document.document_id] = document

    def folder(self, document_id: str) -> Path:
        return self.root / check_document_id(document_id)

    def prepare(self, document_id: str) -> Path:
        """An empty folder for a new version of ``document_id`` (an old one is forgotten)."""
        self.remove(document_id)
        folder = self.folder(document_id)
        folder.mkdir(parents=True)
        return folder

    def add(self, document: Document) -> None:
        write_json_atomic(self.folder(document.document_id) / "document.json", asdict(document))
        with self._lock:
            self._documents[document.document_id] = document

    def get(self, document_id: str) -> Document | None:
        with self._lock:
            return self._documents.get(document_id)

    def media_path(self, document: Document) -> Path:
        return self.folder(document.document_id) / document.media_file

    def metadata_path(self, document: Document) -> Path:
        return self.folder(document.document_id) / "metadata.json"

    def remove(self, document_id: str) -> bool:
        """Forget a document and delete its files (open downloads keep their file handles)."""
        with self._lock:
            existed = self._documents.pop(document_id, None) is not None
        shutil.rmtree(self.folder(document_id), ignore_errors=True)
        return existed
