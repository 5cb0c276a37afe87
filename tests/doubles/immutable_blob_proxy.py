"""A test double of Azure Blob Storage immutability (WORM) and legal hold, in front of Azurite.

Azurite has no immutability: its legal-hold and immutability-policy calls answer 501 and it lets
every blob be overwritten and deleted. Code that archives to an immutable container must still be
tested against the real rules, so this module runs a small HTTP reverse proxy on loopback that
forwards every request to Azurite's blob endpoint unchanged (method, path, query, headers, body,
streamed both ways) and refuses, before Azurite sees them, the writes that Azure would refuse,
with Azure's status, ``x-ms-error-code`` header and error XML. It answers Set Blob Legal Hold,
Set Blob Immutability Policy and Delete Blob Immutability Policy itself, and adds the policy
headers Azure returns to Get Blob Properties / Get Container Properties.

Clients reach it with a connection string whose BlobEndpoint is the proxy
(``ImmutableBlobProxy.connection_string``, or ``proxied_connection_string``). Shared Key still
verifies at Azurite: the signature covers the method, the standard headers, the ``x-ms-*``
headers and the canonicalized resource (``/account/container/blob`` plus the query), never the
host, and all of those are forwarded unchanged; SAS tokens travel in the query, also unchanged.

Policies are set from the test through the Python API (``protect_container``,
``set_container_legal_hold``, ``set_legal_hold``, ``set_immutability_policy``) or, per blob,
through the real REST calls (``BlobClient.set_legal_hold``, ``set_immutability_policy``,
``delete_immutability_policy``, or the ``legal_hold``/``immutability_policy`` upload options).
The proxy keeps no state about blobs other than this policy table: whether a blob exists, and
when it was created, it asks Azurite each time. Every write it forwarded or refused is logged
(``writes()``, ``refusals()``) so tests can count writes per blob.

The rules, each with its source, are in ``worm_rules``: they come from "Store business-critical
blob data with immutable storage" (immutable-storage-overview), "Time-based retention policies"
(immutable-time-based-retention-policy-overview), "Container-level WORM policies" and
"Version-level WORM policies" (their Scenarios tables), "Legal holds" (immutable-legal-hold-overview),
all under https://learn.microsoft.com/azure/storage/blobs/, and "Azure Blob Storage error codes",
https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes. The REST calls
implemented here follow:

* Set Blob Legal Hold, https://learn.microsoft.com/rest/api/storageservices/set-blob-legal-hold
  (``PUT ?comp=legalhold``, header ``x-ms-legal-hold: true|false``, 200 echoing ``x-ms-legal-hold``).
* Set Blob Immutability Policy,
  https://learn.microsoft.com/rest/api/storageservices/set-blob-immutability-policy
  (``PUT ?comp=immutabilityPolicies``, ``x-ms-immutability-policy-until-date`` in RFC 1123, "past
  times are not valid"; ``x-ms-immutability-policy-mode: Unlocked|Locked``).
* Delete Blob Immutability Policy,
  https://learn.microsoft.com/rest/api/storageservices/delete-blob-immutability-policy
  (``DELETE ?comp=immutabilityPolicies``; a locked policy answers ``ImmutabilityPolicyDeleteOnLockedPolicy``).

What it does not model, and why:

* Versions. Version-level WORM needs blob versioning, which Azurite lacks. In Azure an overwrite
  (Put Blob, Put Block List, Copy Blob) of a blob under a version-level hold or policy succeeds
  and keeps the protected bytes as a previous version; here, where nothing could keep them, it is
  refused with the hold's or policy's code, so the double never loses protected bytes. Delete
  Blob of such a blob is refused, as the version-level Scenarios table says for the version.
  As that table lists them, a blob's own hold or policy blocks Delete Blob, Set Blob Metadata
  and Put Page but not Set Blob Properties or Snapshot Blob (a container-level one blocks all).
  Once a blob's own policy has expired, an overwrite goes through and the new content carries
  no policy (in Azure the old policy stays with the previous version).
* Account and container configuration: Azure sets blob-level policies only in containers with
  version-level immutability enabled, which then cannot take container-level policies; the
  double allows both on any container and applies both. Container-level policies normally come
  from Azure Resource Manager (the control plane), so here they come from the Python API, which
  keeps ARM's rule that a locked policy may only be extended (``PolicyLockedError``).
* Authorization order: Azure authenticates before it applies immutability. A write the double
  refuses never reaches Azurite, so a request with a bad signature that would also be refused
  gets 409 rather than 403. The REST calls the double answers itself are first sent to Azurite,
  which authenticates them (then answers 501), so a bad key still gets Azurite's 403 there.
* Blob Batch sub-requests are not inspected: while any policy is set, a batch is refused (501).
* List Blobs does not report ``ImmutabilityPolicy``/``LegalHold`` per blob; the audit logs,
  the limit of five extensions of a locked container policy, ``allowProtectedAppendWritesAll``,
  and append blobs' retention counted from their last append are not modelled.
* Codes Azure does not document, and which the double had to choose: Delete Container under an
  unlocked container policy (``ContainerProtectedFromDeletion``, the control plane's code), and
  shortening or unlocking a locked blob policy (``BlobImmutableDueToPolicy``).
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from tests.doubles import worm_rules as rules
from tests.doubles.worm_rules import (
    Applicable,
    BlobFacts,
    BlobPolicy,
    BlobState,
    ContainerState,
    Refusal,
    Retention,
)

CHUNK = 64 * 1024  # bytes held per request in flight: bodies are never buffered whole
UPSTREAM_TIMEOUT = 120.0  # seconds a single socket operation towards Azurite may take
IDLE_TIMEOUT = 60.0  # seconds an idle keep-alive client connection is kept
_MAX_LINE = 65536
_LOCK_STRIPES = 64
# Per-connection headers (RFC 9110 7.6.1) are not forwarded; Host is the client's own (kept, so
# that server-side copies name their source by the host the client used). None of them is part
# of a Shared Key signature.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)
_BATCH_REFUSAL = Refusal(
    501,
    "NotImplemented",
    "The immutability double does not inspect Blob Batch sub-requests while policies are set.",
)


class PolicyRefused(Exception):
    """A Python-API policy change that Azure would refuse; carries the refusal Azure would send."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(f"{refusal.status} {refusal.code}: {refusal.message}")
        self.refusal = refusal


class PolicyLockedError(ValueError):
    """A locked time-based retention may only be extended, never shortened, unlocked or removed."""


@dataclass(frozen=True)
class WriteRecord:
    """One write the proxy forwarded (``refused`` False) or answered with a refusal (True)."""

    method: str
    container: str
    blob: str
    operation: str
    status: int
    error_code: str | None
    refused: bool


class ManualClock:
    """A clock the test moves by hand, so retention expiry is shown without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta


def _utc_now() -> datetime:
    return datetime.now(UTC)


# --- Connection strings and the upstream endpoint ---


def _settings(connection_string: str) -> list[tuple[str, str]]:
    pairs = [part.split("=", 1) for part in connection_string.split(";") if part.strip()]
    return [(key.strip(), value.strip()) for key, value in pairs]


def proxied_connection_string(connection_string: str, blob_endpoint: str) -> str:
    """The same connection string with its BlobEndpoint replaced: only blob traffic goes through."""
    settings = [
        (key, blob_endpoint if key.lower() == "blobendpoint" else value)
        for key, value in _settings(connection_string)
    ]
    return "".join(f"{key}={value};" for key, value in settings)


@dataclass(frozen=True)
class _Upstream:
    """Azurite's blob endpoint, e.g. ``http://127.0.0.1:10000/devstoreaccount1``."""

    host: str
    port: int
    account_path: str  # "/devstoreaccount1" for Azurite's path-style URLs

    @classmethod
    def from_connection_string(cls, connection_string: str) -> _Upstream:
        endpoint = dict((key.lower(), value) for key, value in _settings(connection_string)).get(
            "blobendpoint"
        )
        if not endpoint:
            raise ValueError("the connection string has no BlobEndpoint to put the proxy in front of")
        parts = urlsplit(endpoint)
        if parts.scheme != "http" or not parts.hostname or not _is_loopback(parts.hostname):
            raise ValueError("the immutability double only fronts a plain-HTTP blob endpoint on loopback")
        return cls(parts.hostname, parts.port or 80, parts.path.rstrip("/"))

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- Requests as the rules see them ---


class _Headers(Protocol):
    def items(self) -> Iterable[tuple[str, str]]: ...


@dataclass(frozen=True)
class _Request:
    method: str
    target: str  # path and query exactly as received: forwarded unchanged
    container: str
    blob: str
    query: dict[str, str]  # lower-case names
    headers: dict[str, str]  # lower-case names

    @classmethod
    def parse(cls, method: str, target: str, headers: _Headers, account_path: str) -> _Request:
        parts = urlsplit(target)
        path = parts.path
        if account_path and (path == account_path or path.startswith(account_path + "/")):
            path = path[len(account_path) :]
        container, _, blob = path.lstrip("/").partition("/")
        query = {key.lower(): value for key, value in parse_qsl(parts.query, keep_blank_values=True)}
        lowered = {key.lower(): value for key, value in headers.items()}
        return cls(method, target, unquote(container), unquote(blob), query, lowered)

    @property
    def snapshot(self) -> str | None:
        return self.query.get("snapshot")


# --- Streaming bodies with bounded memory ---


class _Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


class _LineReadable(_Readable, Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


Sink = Callable[[bytes | memoryview], object]


def _copy_exact(source: _Readable, length: int, sink: Sink | None) -> None:
    """Move exactly ``length`` bytes, ``CHUNK`` at a time through one reused buffer."""
    view = memoryview(bytearray(min(CHUNK, max(length, 1))))
    remaining = length
    while remaining:
        got = source.readinto(view[: min(len(view), remaining)]) or 0
        if not got:
            raise ConnectionError("the body ended before its announced length")
        if sink is not None:
            sink(view[:got])
        remaining -= got


def _copy_chunked(source: _LineReadable, sink: Sink | None) -> None:
    """Relay a ``Transfer-Encoding: chunked`` body chunk by chunk (sink None: read and drop it)."""
    emit: Sink = sink if sink is not None else (lambda _data: None)
    while True:
        size = int(source.readline(_MAX_LINE).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while source.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                pass  # trailers: no Azure request carries any
            emit(b"0\r\n\r\n")
            return
        emit(f"{size:x}\r\n".encode())
        _copy_exact(source, size, sink)
        source.readline(_MAX_LINE)
        emit(b"\r\n")


def _rechunk(source: _Readable, sink: Sink) -> None:
    """Send a body of unknown length to the client as chunks of at most ``CHUNK`` bytes."""
    view = memoryview(bytearray(CHUNK))
    while got := source.readinto(view) or 0:
        sink(f"{got:x}\r\n".encode())
        sink(view[:got])
        sink(b"\r\n")
    sink(b"0\r\n\r\n")


class _UpstreamSink:
    """Writes to Azurite; if Azurite stops reading (it answered early), the rest is dropped."""

    def __init__(self, connection: http.client.HTTPConnection) -> None:
        self._connection = connection
        self.broken = False

    def __call__(self, data: bytes | memoryview) -> None:
        if self.broken:
            return
        try:
            self._connection.send(data)
        except OSError:
            self.broken = True


# --- Policy table ---


class _PolicyStore:
    """The only state the proxy keeps: policies per container and per blob. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._containers: dict[str, ContainerState] = {}
        self._blobs: dict[tuple[str, str], BlobState] = {}

    def container(self, name: str) -> ContainerState:
        with self._lock:
            return replace(self._containers.get(name, ContainerState()))

    def blob(self, container: str, blob: str) -> BlobState:
        with self._lock:
            return replace(self._blobs.get((container, blob), BlobState()))

    def applicable(self, container: str, blob: str) -> Applicable:
        return Applicable(self.container(container), self.blob(container, blob))

    def blobs_in(self, container: str) -> list[BlobState]:
        with self._lock:
            return [replace(state) for (name, _), state in self._blobs.items() if name == container]

    def any(self) -> bool:
        with self._lock:
            return bool(self._containers or self._blobs)

    def update_container(self, name: str, **changes: Any) -> None:
        with self._lock:
            state = replace(self._containers.get(name, ContainerState()), **changes)
            self._put(self._containers, name, state)

    def update_blob(self, container: str, blob: str, **changes: Any) -> None:
        with self._lock:
            state = replace(self._blobs.get((container, blob), BlobState()), **changes)
            self._put(self._blobs, (container, blob), state)

    def set_blob(self, container: str, blob: str, state: BlobState) -> None:
        with self._lock:
            self._put(self._blobs, (container, blob), state)

    def drop_container(self, name: str) -> None:
        with self._lock:
            self._containers.pop(name, None)
            for key in [key for key in self._blobs if key[0] == name]:
                del self._blobs[key]

    def clear(self) -> None:
        with self._lock:
            self._containers.clear()
            self._blobs.clear()

    @staticmethod
    def _put(table: dict[Any, Any], key: object, state: ContainerState | BlobState) -> None:
        if state.empty:
            table.pop(key, None)
        else:
            table[key] = state


class _StripedLocks:
    """Serializes check-then-write per blob, so two racing creators cannot both "create" it."""

    def __init__(self) -> None:
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    def for_blob(self, container: str, blob: str) -> threading.Lock:
        return self._locks[hash((container, blob)) % _LOCK_STRIPES]


# --- Header helpers ---


def _http_date(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


def _parse_http_date(value: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_MODES = {"unlocked": "Unlocked", "locked": "Locked"}


def _bad_header(name: str) -> Refusal:
    return Refusal(
        400,
        "InvalidHeaderValue",
        f"The value for one of the HTTP headers is not in the correct format: {name}.",
    )


def _missing_header(name: str) -> Refusal:
    return Refusal(
        400,
        "MissingRequiredHeader",
        f"An HTTP header that's mandatory for this request is not specified: {name}.",
    )


def _policy_headers(state: BlobState) -> dict[str, str]:
    """What Get Blob Properties reports for a blob's own hold and policy."""
    headers: dict[str, str] = {}
    if state.legal_hold:
        headers["x-ms-legal-hold"] = "true"
    if state.policy is not None:
        headers["x-ms-immutability-policy-until-date"] = _http_date(state.policy.until)
        headers["x-ms-immutability-policy-mode"] = state.policy.mode
    return headers


def _state_from_upload(headers: Mapping[str, str]) -> BlobState:
    """The hold and policy a creating write asked for (Put Blob / Put Block List accept them)."""
    until = _parse_http_date(headers.get("x-ms-immutability-policy-until-date", ""))
    mode = _MODES.get(headers.get("x-ms-immutability-policy-mode", "unlocked").lower(), "Unlocked")
    policy = BlobPolicy(until, mode) if until is not None else None
    return BlobState(legal_hold=headers.get("x-ms-legal-hold", "").lower() == "true", policy=policy)


def _require_aware(moment: datetime | None) -> None:
    if moment is not None and moment.tzinfo is None:
        raise ValueError("give policy times with a time zone (UTC): Azure compares them to UTC")


# --- The proxy ---


class ImmutableBlobProxy:
    """Azurite's blob endpoint, with Azure's immutability and legal-hold rules enforced in front.

    Start it (or use it as a context manager) with Azurite's connection string; point clients at
    ``connection_string``. It binds 127.0.0.1 on a port the OS picks and connects only to the
    loopback endpoint it fronts.
    """

    def __init__(
        self, upstream_connection_string: str, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._upstream_connection_string = upstream_connection_string
        self.upstream = _Upstream.from_connection_string(upstream_connection_string)
        self.clock: Callable[[], datetime] = clock or _utc_now
        self._store = _PolicyStore()
        self._locks = _StripedLocks()
        self._log: list[WriteRecord] = []
        self._log_lock = threading.Lock()
        self._azurite: BlobServiceClient | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --

    def start(self) -> ImmutableBlobProxy:
        self._azurite = BlobServiceClient.from_connection_string(
            self._upstream_connection_string, connection_timeout=10, read_timeout=60
        )
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut the open client connections, and release the Azurite client."""
        if self._server is not None:
            self._server.shutdown()
            self._server.close_open_connections()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._azurite is not None:
            self._azurite.close()
            self._azurite = None

    def __enter__(self) -> ImmutableBlobProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: where the proxy listens."""
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def blob_endpoint(self) -> str:
        """The BlobEndpoint clients use: the proxy, with Azurite's account path."""
        return self.url + self.upstream.account_path

    @property
    def connection_string(self) -> str:
        """Azurite's connection string with the blob endpoint moved to the proxy."""
        return proxied_connection_string(self._upstream_connection_string, self.blob_endpoint)

    # -- container-level policies (Azure sets these through Resource Manager) --

    def protect_container(
        self,
        name: str,
        until: datetime | None = None,
        locked: bool = False,
        *,
        period: timedelta | None = None,
        allow_protected_append_writes: bool = False,
    ) -> None:
        """Set or change the container's time-based retention (container-level WORM).

        ``until`` ends it for every blob at once; ``period`` ends it that long after each blob's
        creation, as Azure counts it; with neither it lasts for the whole test. A time already
        past gives an expired retention. A locked retention may only be extended.
        """
        if until is not None and period is not None:
            raise ValueError("give either until or period, not both")
        _require_aware(until)
        new = Retention(until, period, locked, allow_protected_append_writes)
        current = self._store.container(name).retention
        if current is not None and current.locked:
            same_appends = new.allow_protected_append_writes == current.allow_protected_append_writes
            if not (locked and same_appends and new.outlasts(current)):
                raise PolicyLockedError(f"container {name!r} has a locked retention: it may only be extended")
        self._store.update_container(name, retention=new)

    def unprotect_container(self, name: str) -> None:
        """Delete the container's retention; Azure allows it only while the policy is unlocked."""
        current = self._store.container(name).retention
        if current is not None and current.locked:
            raise PolicyLockedError(f"container {name!r} has a locked retention, which cannot be deleted")
        self._store.update_container(name, retention=None)

    def set_container_legal_hold(self, name: str, hold: bool = True) -> None:
        """Set or clear a container-level legal hold (in Azure: legal hold tags on the container)."""
        self._store.update_container(name, legal_hold=hold)

    def container_policy(self, name: str) -> ContainerState:
        return self._store.container(name)

    # -- blob-level (version-level) policies: the same paths the REST calls take --

    def set_legal_hold(self, container: str, blob: str, hold: bool = True) -> None:
        """Set or clear the blob's legal hold; the blob must exist, as for Set Blob Legal Hold."""
        with self._locks.for_blob(container, blob):
            self._raise(self._apply_legal_hold(container, blob, hold))

    def set_immutability_policy(
        self, container: str, blob: str, until: datetime, locked: bool = False
    ) -> None:
        """Set the blob's own time-based retention, as Set Blob Immutability Policy does."""
        _require_aware(until)
        with self._locks.for_blob(container, blob):
            self._raise(
                self._apply_policy(container, blob, BlobPolicy(until, "Locked" if locked else "Unlocked"))
            )

    def delete_immutability_policy(self, container: str, blob: str) -> None:
        with self._locks.for_blob(container, blob):
            self._raise(self._remove_policy(container, blob))

    def legal_hold(self, container: str, blob: str) -> bool:
        return self._store.blob(container, blob).legal_hold

    def immutability_policy(self, container: str, blob: str) -> BlobPolicy | None:
        return self._store.blob(container, blob).policy

    # -- the write log --

    def writes(
        self, container: str | None = None, blob: str | None = None, operation: str | None = None
    ) -> list[WriteRecord]:
        """Every write forwarded or refused, oldest first, optionally for one container/blob/operation.

        Reads and lease calls are not writes and are not logged.
        """
        with self._log_lock:
            records = list(self._log)
        return [
            record
            for record in records
            if (container is None or record.container == container)
            and (blob is None or record.blob == blob)
            and (operation is None or record.operation == operation)
        ]

    def refusals(self, container: str | None = None) -> list[WriteRecord]:
        """The writes the double refused (they never reached Azurite)."""
        return [record for record in self.writes(container) if record.refused]

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def reset(self) -> None:
        """Forget every policy and the log: the escape hatch Azure only offers by deleting the account."""
        self._store.clear()
        self.clear_log()

    # -- used by the request handler --

    def lock_for(self, operation: str, container: str, blob: str) -> threading.Lock | nullcontext[None]:
        if blob and (operation in rules.GUARDED or operation in rules.LOCAL):
            return self._locks.for_blob(container, blob)
        return nullcontext()

    def record(self, request: _Request, operation: str, status: int, code: str | None, refused: bool) -> None:
        if operation in rules.NOT_LOGGED:
            return
        entry = WriteRecord(request.method, request.container, request.blob, operation, status, code, refused)
        with self._log_lock:
            self._log.append(entry)

    def check_write(self, request: _Request, operation: str) -> Refusal | None:
        """The refusal Azure would give this write, or None to forward it to Azurite."""
        if operation == rules.DELETE_CONTAINER:
            container = self._store.container(request.container)
            return rules.decide_container_delete(container, self._store.blobs_in(request.container))
        if operation == rules.BLOB_BATCH:
            return _BATCH_REFUSAL if self._store.any() else None
        if operation not in rules.GUARDED:
            return None
        policies = self._store.applicable(request.container, request.blob)
        if policies.container.empty and policies.blob.empty:
            return None
        if operation in rules.CREATE_OR_OVERWRITE and request.headers.get("if-none-match") == "*":
            return None  # Azurite itself refuses an existing blob with 409 BlobAlreadyExists, as Azure does
        facts, _ = self._lookup(request.container, request.blob, request.snapshot)
        return rules.decide_blob_write(operation, policies, facts, self.clock())

    def after_write(self, request: _Request, operation: str, status: int) -> None:
        """Keep the policy table in step with what Azurite just did."""
        if not 200 <= status < 300:
            return
        only_snapshots = request.headers.get("x-ms-delete-snapshots", "").lower() == "only"
        if operation == rules.DELETE_BLOB and request.snapshot is None and not only_snapshots:
            self._store.set_blob(request.container, request.blob, BlobState())
        elif operation == rules.DELETE_CONTAINER:
            self._store.drop_container(request.container)
        elif operation in rules.CREATE_OR_OVERWRITE:
            # New content: whatever hold/policy the upload asked for, and nothing an earlier,
            # expired one carried (in Azure that stays with the previous version).
            self._store.set_blob(request.container, request.blob, _state_from_upload(request.headers))

    def read_headers(self, request: _Request) -> dict[str, str]:
        """Policy headers Azure adds to Get Blob Properties / Get Blob / Get Container Properties."""
        if request.method not in ("GET", "HEAD") or request.query.get("comp"):
            return {}
        if request.blob:
            return _policy_headers(self._store.blob(request.container, request.blob))
        if request.container and request.query.get("restype") == "container":
            state = self._store.container(request.container)
            return {
                "x-ms-has-immutability-policy": str(state.retention is not None).lower(),
                "x-ms-has-legal-hold": str(state.legal_hold).lower(),
            }
        return {}

    def answer_locally(self, request: _Request, operation: str) -> Refusal | dict[str, str]:
        """Set Blob Legal Hold / Set or Delete Blob Immutability Policy: a refusal, or the reply headers."""
        if operation == rules.SET_LEGAL_HOLD:
            return self._rest_legal_hold(request)
        if operation == rules.SET_IMMUTABILITY_POLICY:
            return self._rest_set_policy(request)
        return self._rest_delete_policy(request)

    # -- internals --

    def _rest_legal_hold(self, request: _Request) -> Refusal | dict[str, str]:
        value = request.headers.get("x-ms-legal-hold")
        if value is None:
            return _missing_header("x-ms-legal-hold")
        if value.lower() not in ("true", "false"):
            return _bad_header("x-ms-legal-hold")
        hold = value.lower() == "true"
        return self._apply_legal_hold(request.container, request.blob, hold) or {
            "x-ms-legal-hold": str(hold).lower()
        }

    def _rest_set_policy(self, request: _Request) -> Refusal | dict[str, str]:
        raw_until = request.headers.get("x-ms-immutability-policy-until-date")
        if raw_until is None:
            return _missing_header("x-ms-immutability-policy-until-date")
        until = _parse_http_date(raw_until)
        if until is None:
            return _bad_header("x-ms-immutability-policy-until-date")
        mode = _MODES.get(request.headers.get("x-ms-immutability-policy-mode", "unlocked").lower())
        if mode is None:
            return _bad_header("x-ms-immutability-policy-mode")
        policy = BlobPolicy(until, mode)
        return self._apply_policy(request.container, request.blob, policy) or _policy_headers(
            BlobState(policy=policy)
        )

    def _rest_delete_policy(self, request: _Request) -> Refusal | dict[str, str]:
        return self._remove_policy(request.container, request.blob) or {}

    def _apply_legal_hold(self, container: str, blob: str, hold: bool) -> Refusal | None:
        missing = self._lookup(container, blob, None)[1]
        if missing is not None:
            return missing
        self._store.update_blob(container, blob, legal_hold=hold)
        return None

    def _apply_policy(self, container: str, blob: str, policy: BlobPolicy) -> Refusal | None:
        missing = self._lookup(container, blob, None)[1]
        if missing is not None:
            return missing
        if policy.until <= self.clock():
            return Refusal(
                400, "InvalidHeaderValue", "The immutability policy until-date must be in the future."
            )
        current = self._store.blob(container, blob).policy
        if current is not None and current.locked and (not policy.locked or policy.until < current.until):
            return Refusal.conflict(rules.POLICY)  # a locked policy may only be extended
        self._store.update_blob(container, blob, policy=policy)
        return None

    def _remove_policy(self, container: str, blob: str) -> Refusal | None:
        missing = self._lookup(container, blob, None)[1]
        if missing is not None:
            return missing
        current = self._store.blob(container, blob).policy
        if current is not None and current.locked:
            return Refusal.conflict(rules.POLICY_LOCKED_DELETE)
        self._store.update_blob(container, blob, policy=None)
        return None

    def _lookup(self, container: str, blob: str, snapshot: str | None) -> tuple[BlobFacts, Refusal | None]:
        """Ask Azurite whether the blob exists (Get Blob Properties); a 404 refusal when it does not."""
        if self._azurite is None:
            raise RuntimeError("the proxy is not running")
        client = self._azurite.get_blob_client(container, blob, snapshot=snapshot)
        try:
            properties = client.get_blob_properties()
        except ResourceNotFoundError as error:
            reported = getattr(error, "error_code", None)
            code = str(getattr(reported, "value", reported) or "BlobNotFound")
            return BlobFacts(exists=False), Refusal(
                404, code, _NOT_FOUND.get(code, "The specified blob does not exist.")
            )
        return BlobFacts(exists=True, created=properties.creation_time), None

    @staticmethod
    def _raise(refusal: Refusal | None) -> None:
        if refusal is not None:
            raise PolicyRefused(refusal)


_NOT_FOUND = {
    "BlobNotFound": "The specified blob does not exist.",
    "ContainerNotFound": "The specified container does not exist.",
}


# --- HTTP plumbing ---


class _Server(ThreadingHTTPServer):
    """A thread per client connection; remembers open connections so ``stop`` can cut them."""

    daemon_threads = True

    def __init__(self, proxy: ImmutableBlobProxy) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy = proxy
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """One client connection: classify each request, then refuse, answer or forward it."""

    protocol_version = "HTTP/1.1"  # keep-alive, chunked bodies
    timeout = IDLE_TIMEOUT
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry SAS signatures in their query, which must not reach any log."""

    def _handle(self) -> None:
        proxy = self.server.proxy
        request = _Request.parse(self.command, self.path, self.headers, proxy.upstream.account_path)
        operation = rules.operation(
            request.method, request.container, request.blob, request.query, request.headers
        )
        if operation is None:
            self._forward(request, proxy.read_headers(request))
            return
        with proxy.lock_for(operation, request.container, request.blob):
            if operation in rules.LOCAL:
                self._local(request, operation)
            else:
                self._write(request, operation)

    def _write(self, request: _Request, operation: str) -> None:
        """Refuse the write, or forward it; either way the log and policy table are updated
        before the client gets the last byte, so a test that has its answer can read both."""
        proxy = self.server.proxy
        refusal = proxy.check_write(request, operation)
        if refusal is not None:
            self._pump_body(None)
            proxy.record(request, operation, refusal.status, refusal.code, refused=True)
            self._reply(refusal.status, request, _error_headers(refusal), _error_body(refusal))
            return

        def settle(status: int, code: str | None) -> None:
            proxy.after_write(request, operation, status)
            proxy.record(request, operation, status, code, refused=False)

        self._forward(request, {}, settle)

    def _local(self, request: _Request, operation: str) -> None:
        """Let Azurite authenticate the call (it answers 501 when the key is right), then answer it here."""
        proxy = self.server.proxy
        outcome = self._exchange(request)
        if outcome is None:
            self._bad_gateway(request)
            return
        connection, response = outcome
        try:
            if response.status != 501:
                code = response.getheader("x-ms-error-code")
                proxy.record(request, operation, response.status, code, refused=False)
                self._relay(response, {})
                return
            response.read()
        finally:
            connection.close()
        answer = proxy.answer_locally(request, operation)
        if isinstance(answer, Refusal):
            proxy.record(request, operation, answer.status, answer.code, refused=True)
            self._reply(answer.status, request, _error_headers(answer), _error_body(answer))
            return
        proxy.record(request, operation, 200, None, refused=False)
        self._reply(200, request, answer, b"")

    def _forward(
        self,
        request: _Request,
        extra_headers: Mapping[str, str],
        settle: Callable[[int, str | None], None] | None = None,
    ) -> None:
        """Send the request to Azurite and stream its answer back; ``settle`` hears the status first."""
        outcome = self._exchange(request)
        if outcome is None:
            if settle is not None:
                settle(502, "BadGateway")
            self._bad_gateway(request)
            return
        connection, response = outcome
        try:
            if settle is not None:
                settle(response.status, response.getheader("x-ms-error-code"))
            self._relay(response, extra_headers)
        finally:
            connection.close()

    def _exchange(
        self, request: _Request
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse] | None:
        """Stream the request to Azurite and read its response head; None if Azurite did not answer."""
        upstream = self.server.proxy.upstream
        connection = http.client.HTTPConnection(upstream.host, upstream.port, timeout=UPSTREAM_TIMEOUT)
        try:
            connection.putrequest(request.method, request.target, skip_host=True, skip_accept_encoding=True)
            # The client's Host is kept, as a reverse proxy in front of a storage account would:
            # Azurite accepts Put Block From URL only from a source on the Host it was asked on.
            connection.putheader("Host", self.headers.get("Host") or upstream.netloc)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "host":
                    connection.putheader(name, value)
            if self._chunked():
                connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders()
            self._pump_body(_UpstreamSink(connection))
            return connection, connection.getresponse()
        except (OSError, http.client.HTTPException):
            connection.close()
            return None

    def _bad_gateway(self, request: _Request) -> None:
        self.close_connection = True
        with suppress(OSError):  # the client may be the one that went away
            self._reply(502, request, {"x-ms-error-code": "BadGateway"}, b"Azurite did not answer")

    def _chunked(self) -> bool:
        return "chunked" in self.headers.get("Transfer-Encoding", "").lower()

    def _pump_body(self, sink: Sink | None) -> None:
        """Move the request body to ``sink`` (None: read and drop it), never holding it whole."""
        if self._chunked():
            _copy_chunked(self.rfile, sink)
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            _copy_exact(self.rfile, length, sink)

    def _relay(self, response: http.client.HTTPResponse, extra_headers: Mapping[str, str]) -> None:
        """Stream Azurite's response to the client, with ``extra_headers`` set over its own."""
        no_body = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
        length = response.getheader("Content-Length")
        chunked = not no_body and length is None
        self.send_response_only(response.status, response.reason)
        overridden = {name.lower() for name in extra_headers}
        for name, value in response.getheaders():
            lowered = name.lower()
            if lowered in _HOP_BY_HOP or lowered in overridden or (chunked and lowered == "content-length"):
                continue
            self.send_header(name, value)
        for name, value in extra_headers.items():
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if chunked:
            _rechunk(response, self.wfile.write)
        elif not no_body and length:
            _copy_exact(response, int(length), self.wfile.write)

    def _reply(self, status: int, request: _Request, headers: Mapping[str, str], body: bytes) -> None:
        """An answer of the double's own, with the headers every Azure response carries."""
        self.send_response_only(status)
        self.send_header("Server", "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0")
        self.send_header("Date", _http_date(datetime.now(UTC)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        self.send_header("x-ms-version", request.headers.get("x-ms-version", "2021-08-06"))
        if "x-ms-client-request-id" in request.headers:
            self.send_header("x-ms-client-request-id", request.headers["x-ms-client-request-id"])
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(0 if request.method == "HEAD" else len(body)))
        self.end_headers()
        if request.method != "HEAD" and body:
            self.wfile.write(body)


def _error_headers(refusal: Refusal) -> dict[str, str]:
    return {"x-ms-error-code": refusal.code, "Content-Type": "application/xml"}


def _error_body(refusal: Refusal) -> bytes:
    """Azure's error document: ``<Error><Code/><Message/></Error>``, the message with request id and time."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    message = f"{refusal.message}\nRequestId:{uuid.uuid4()}\nTime:{stamp}"
    document = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{escape(refusal.code)}</Code><Message>{escape(message)}</Message></Error>"
    )
    return document.encode("utf-8")
