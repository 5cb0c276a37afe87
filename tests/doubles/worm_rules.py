"""Azure Blob Storage immutability (WORM) and legal-hold rules, as pure decisions.

No I/O here: the proxy (``immutable_blob_proxy``) tells these functions which REST operation a
request is, what policies apply and whether the blob exists, and they answer "allowed" (None) or
the refusal Azure documents. Keeping the rules apart from the HTTP plumbing lets each rule be read
next to the documentation it comes from.

Sources (Microsoft Learn; the same text is in the MicrosoftDocs/azure-docs repository):

* [OVERVIEW] "Store business-critical blob data with immutable storage in a WORM state",
  https://learn.microsoft.com/azure/storage/blobs/immutable-storage-overview
* [TIME] "Time-based retention policies for immutable blob data",
  https://learn.microsoft.com/azure/storage/blobs/immutable-time-based-retention-policy-overview
* [CLW] "Container-level WORM policies for immutable blob data" (its "Scenarios" table),
  https://learn.microsoft.com/azure/storage/blobs/immutable-container-level-worm-policies
* [VLW] "Version-level WORM policies for immutable blob data" (its "Scenarios" table),
  https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies
* [HOLD] "Legal holds for immutable blob data",
  https://learn.microsoft.com/azure/storage/blobs/immutable-legal-hold-overview
* [CODES] "Azure Blob Storage error codes",
  https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes
* [CONTAINER-CODES] container-deletion codes, which [CODES] does not list: ``ContainerHasLegalHold``
  and ``ContainerImmutabilityPolicyLocked`` (MicrosoftDocs/feedback#1844, Azure/azure-powershell#22564),
  ``ContainerImmutableStorageWithVersioningEnabled`` (Azure/azure-sdk-for-python#22255);
  ``ImmutabilityPolicyDeleteOnLockedPolicy`` is in the service's StorageErrorCode enum (Azure SDK for Go,
  ``bloberror``) and is what Delete Blob Immutability Policy answers on a locked policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# --- REST operation names (the names the REST reference uses, without spaces) ---

PUT_BLOB = "PutBlob"
PUT_BLOB_FROM_URL = "PutBlobFromURL"
COPY_BLOB = "CopyBlob"
INCREMENTAL_COPY_BLOB = "IncrementalCopyBlob"
PUT_BLOCK = "PutBlock"
PUT_BLOCK_FROM_URL = "PutBlockFromURL"
PUT_BLOCK_LIST = "PutBlockList"
APPEND_BLOCK = "AppendBlock"
APPEND_BLOCK_FROM_URL = "AppendBlockFromURL"
PUT_PAGE = "PutPage"
PUT_PAGE_FROM_URL = "PutPageFromURL"
SET_BLOB_METADATA = "SetBlobMetadata"
SET_BLOB_PROPERTIES = "SetBlobProperties"
SET_BLOB_TAGS = "SetBlobTags"
SET_BLOB_TIER = "SetBlobTier"
SNAPSHOT_BLOB = "SnapshotBlob"
DELETE_BLOB = "DeleteBlob"
LEASE_BLOB = "LeaseBlob"
SET_LEGAL_HOLD = "SetBlobLegalHold"
SET_IMMUTABILITY_POLICY = "SetBlobImmutabilityPolicy"
DELETE_IMMUTABILITY_POLICY = "DeleteBlobImmutabilityPolicy"
CREATE_CONTAINER = "CreateContainer"
DELETE_CONTAINER = "DeleteContainer"
LEASE_CONTAINER = "LeaseContainer"
BLOB_BATCH = "BlobBatch"

# Writes that create the blob when it is absent and replace it when it exists: allowed once.
CREATE_OR_OVERWRITE = frozenset(
    {PUT_BLOB, PUT_BLOB_FROM_URL, COPY_BLOB, INCREMENTAL_COPY_BLOB, PUT_BLOCK_LIST}
)
APPENDS = frozenset({APPEND_BLOCK, APPEND_BLOCK_FROM_URL})
PAGE_WRITES = frozenset({PUT_PAGE, PUT_PAGE_FROM_URL})
# [CLW] Scenarios: prohibited on an existing blob, whether the retention is active or expired.
CLW_ALWAYS_PROHIBITED = (
    CREATE_OR_OVERWRITE | PAGE_WRITES | {SET_BLOB_METADATA, SET_BLOB_PROPERTIES, SNAPSHOT_BLOB}
)
# Every operation whose answer can depend on a policy, so the proxy must look before it forwards.
GUARDED = CLW_ALWAYS_PROHIBITED | APPENDS | {DELETE_BLOB}
# The operations the proxy answers itself: Azurite answers them 501.
LOCAL = frozenset({SET_LEGAL_HOLD, SET_IMMUTABILITY_POLICY, DELETE_IMMUTABILITY_POLICY})
# Not writes for the log: they change who may write, not what is stored.
NOT_LOGGED = frozenset({LEASE_BLOB, LEASE_CONTAINER})

_BLOB_PUT_COMP = {
    "block": PUT_BLOCK,
    "blocklist": PUT_BLOCK_LIST,
    "appendblock": APPEND_BLOCK,
    "page": PUT_PAGE,
    "metadata": SET_BLOB_METADATA,
    "properties": SET_BLOB_PROPERTIES,
    "tags": SET_BLOB_TAGS,
    "tier": SET_BLOB_TIER,
    "snapshot": SNAPSHOT_BLOB,
    "incrementalcopy": INCREMENTAL_COPY_BLOB,
    "copy": "AbortCopyBlob",
    "lease": LEASE_BLOB,
    "legalhold": SET_LEGAL_HOLD,
    "immutabilitypolicies": SET_IMMUTABILITY_POLICY,
}
_FROM_URL = {PUT_BLOCK: PUT_BLOCK_FROM_URL, APPEND_BLOCK: APPEND_BLOCK_FROM_URL, PUT_PAGE: PUT_PAGE_FROM_URL}
_CONTAINER_PUT_COMP = {
    "": CREATE_CONTAINER,
    "metadata": "SetContainerMetadata",
    "acl": "SetContainerACL",
    "lease": LEASE_CONTAINER,
}

# --- Error codes: [CODES] unless marked ---

POLICY = "BlobImmutableDueToPolicy"
LEGAL_HOLD = "BlobImmutableDueToLegalHold"
CONTAINER_HAS_LEGAL_HOLD = "ContainerHasLegalHold"  # [CONTAINER-CODES]
CONTAINER_POLICY_LOCKED = "ContainerImmutabilityPolicyLocked"  # [CONTAINER-CODES]
CONTAINER_VERSION_LEVEL_WORM = "ContainerImmutableStorageWithVersioningEnabled"  # [CONTAINER-CODES]
# Not verified for the data plane: the code Azure's control plane gives for a container that its
# time-based retention protects. Used for Delete Container under an unlocked container policy.
CONTAINER_PROTECTED = "ContainerProtectedFromDeletion"
POLICY_LOCKED_DELETE = "ImmutabilityPolicyDeleteOnLockedPolicy"  # [CONTAINER-CODES]

_NOT_ALLOWED = "The requested operation is not allowed as the container has"
MESSAGES = {
    POLICY: "This operation is not permitted as the blob is immutable due to a policy.",
    LEGAL_HOLD: "This operation is not permitted as the blob is immutable due to one or more legal holds.",
    CONTAINER_HAS_LEGAL_HOLD: f"{_NOT_ALLOWED} one or more legal holds.",
    CONTAINER_POLICY_LOCKED: f"{_NOT_ALLOWED} a locked immutability policy.",
    CONTAINER_VERSION_LEVEL_WORM: f"{_NOT_ALLOWED} a immutable storage with versioning enabled.",
    CONTAINER_PROTECTED: "The container is protected from deletion by its immutability policy.",
    POLICY_LOCKED_DELETE: "The immutability policy of the blob is locked and cannot be deleted.",
}


@dataclass(frozen=True)
class Refusal:
    """An answer Azure gives instead of doing the operation: status, ``x-ms-error-code``, message."""

    status: int
    code: str
    message: str

    @classmethod
    def conflict(cls, code: str) -> Refusal:
        return cls(409, code, MESSAGES[code])


# --- Policies ---


@dataclass(frozen=True)
class Retention:
    """A container-level time-based retention ([TIME]).

    Azure states the interval relative to each blob's creation time (``period``). Tests often want
    one fixed end for the whole container instead (``until``). With neither, the retention never
    ends while the test runs (Azure's longest is 400 years).
    """

    until: datetime | None = None
    period: timedelta | None = None
    locked: bool = False
    allow_protected_append_writes: bool = False

    def ends_at(self, created: datetime | None) -> datetime | None:
        """When this blob's effective retention ends; None: not while the test runs."""
        if self.until is not None:
            return self.until
        if self.period is not None and created is not None:
            return created + self.period
        return None

    def active(self, now: datetime, created: datetime | None) -> bool:
        end = self.ends_at(created)
        return end is None or now < end

    def outlasts(self, other: Retention) -> bool:
        """True when ``self`` protects at least as long as ``other``: all a locked policy may become."""
        if self.period is not None or other.period is not None:
            return self.until is None and other.until is None and _at_least(self.period, other.period)
        return _at_least(self.until, other.until)


def _at_least(new: datetime | timedelta | None, old: datetime | timedelta | None) -> bool:
    """None stands for "forever", so it is at least anything; nothing finite is at least forever."""
    if new is None:
        return True
    if old is None:
        return False
    return new >= old  # type: ignore[operator]  # both datetimes or both timedeltas


@dataclass
class ContainerState:
    """The container-level WORM state: a time-based retention and/or a container legal hold."""

    retention: Retention | None = None
    legal_hold: bool = False

    @property
    def empty(self) -> bool:
        return self.retention is None and not self.legal_hold


@dataclass(frozen=True)
class BlobPolicy:
    """A version-level time-based retention on one blob ([VLW]), as Set Blob Immutability Policy sets it."""

    until: datetime
    mode: str = "Unlocked"  # or "Locked"

    @property
    def locked(self) -> bool:
        return self.mode == "Locked"


@dataclass
class BlobState:
    """A blob's own (version-level) protections: a legal hold and/or a time-based policy."""

    legal_hold: bool = False
    policy: BlobPolicy | None = None

    @property
    def empty(self) -> bool:
        return not self.legal_hold and self.policy is None

    def active(self, now: datetime) -> bool:
        return self.legal_hold or (self.policy is not None and now < self.policy.until)


@dataclass(frozen=True)
class BlobFacts:
    """What Azurite says about the target blob right before the write."""

    exists: bool
    created: datetime | None = None


@dataclass
class Applicable:
    """The policies that bear on one blob: its container's and its own."""

    container: ContainerState = field(default_factory=ContainerState)
    blob: BlobState = field(default_factory=BlobState)


# --- Classifying a request ---


def operation(
    method: str, container: str, blob: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> str | None:
    """The REST operation a request is, or None for a read (nothing to enforce, nothing to log).

    ``query`` and ``headers`` have lower-case keys.
    """
    comp = query.get("comp", "").lower()
    if method in ("GET", "HEAD", "OPTIONS"):
        return None
    if method == "POST":
        return BLOB_BATCH if comp == "batch" else None  # the other POSTs (query, user delegation key) read
    if not container:
        return f"Account:{method}:{comp}"
    if not blob:
        return DELETE_CONTAINER if method == "DELETE" else _CONTAINER_PUT_COMP.get(comp, f"Container:{comp}")
    return _blob_operation(method, comp, headers)


def _blob_operation(method: str, comp: str, headers: Mapping[str, str]) -> str:
    if method == "DELETE":
        return DELETE_IMMUTABILITY_POLICY if comp == "immutabilitypolicies" else DELETE_BLOB
    if method != "PUT":
        return f"Blob:{method}:{comp}"
    from_url = "x-ms-copy-source" in headers
    if not comp:
        if not from_url:
            return PUT_BLOB
        return PUT_BLOB_FROM_URL if "x-ms-blob-type" in headers else COPY_BLOB
    name = _BLOB_PUT_COMP.get(comp, f"Blob:{comp}")
    return _FROM_URL.get(name, name) if from_url else name


# --- The rules ---


def decide_blob_write(op: str, policies: Applicable, facts: BlobFacts, now: datetime) -> Refusal | None:
    """Allowed (None) or refused, for a write to one blob.

    A blob that does not exist yet may always be created ([OVERVIEW]: "objects can be created and
    read, but not modified or deleted"; [CLW] footnote 1: Put Blob may create a new blob). Writes
    to an absent blob are forwarded, so Azurite gives its own answer (created, or 404).
    """
    if not facts.exists:
        return None
    return _container_rule(op, policies.container, facts, now) or _blob_rule(op, policies.blob, now)


def _container_rule(op: str, state: ContainerState, facts: BlobFacts, now: datetime) -> Refusal | None:
    """[CLW] Scenarios, both rows (active / expired retention), and a container legal hold ([HOLD])."""
    if state.empty:
        return None
    code = LEGAL_HOLD if state.legal_hold else POLICY
    retention = state.retention
    if op in APPENDS:
        # [CLW] footnote 2: Append Block only with allowProtectedAppendWrites; a hold allows none.
        allowed = retention is not None and retention.allow_protected_append_writes and not state.legal_hold
        return None if allowed else Refusal.conflict(code)
    if op in CLW_ALWAYS_PROHIBITED:
        return Refusal.conflict(code)
    if op == DELETE_BLOB:
        active = retention is not None and retention.active(now, facts.created)
        # [TIME]: "After the retention interval has expired, blobs can be deleted but not overwritten."
        return Refusal.conflict(code) if state.legal_hold or active else None
    return None  # Put Block, Set Blob Tier, Set Blob Tags, leases...: not in the prohibited list


def _blob_rule(op: str, state: BlobState, now: datetime) -> Refusal | None:
    """[VLW] Scenarios for the blob's own hold/policy, with overwrites refused (see the proxy's docs)."""
    if state.empty:
        return None
    code = LEGAL_HOLD if state.legal_hold else POLICY
    if op == SET_BLOB_METADATA or op in PAGE_WRITES:
        # [VLW]: prohibited under an active policy or hold, and still under an expired policy.
        return Refusal.conflict(code)
    if not state.active(now):
        return None
    # [VLW]: Delete Blob is prohibited. An overwrite would make the protected bytes a previous
    # version in Azure; Azurite keeps no versions, so the double refuses instead of losing them.
    if op == DELETE_BLOB or op in CREATE_OR_OVERWRITE or op in APPENDS:
        return Refusal.conflict(code)
    return None


def decide_container_delete(state: ContainerState, blob_states: list[BlobState]) -> Refusal | None:
    """Delete Container over the data plane ([CLW] "Deletion"/Scenarios, [VLW] "Deletion").

    [CLW]: a container with a container-level policy "must be empty before the container can be
    deleted", and then only through the control plane (Azure Resource Manager): the data-plane
    Delete Container "won't succeed". The double has no control plane, so while a container-level
    policy is set, Delete Container is refused; ``unprotect_container`` plays the control plane.
    """
    if state.legal_hold:
        return Refusal.conflict(CONTAINER_HAS_LEGAL_HOLD)
    if state.retention is not None:
        return Refusal.conflict(CONTAINER_POLICY_LOCKED if state.retention.locked else CONTAINER_PROTECTED)
    if any(not blob.empty for blob in blob_states):
        return Refusal.conflict(CONTAINER_VERSION_LEVEL_WORM)
    return None
