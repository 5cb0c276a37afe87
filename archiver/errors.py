"""The archiver's small exception tree.

Errors from httpx and azure-core are translated once, at the boundary where they occur
(``source`` and ``store``), into these classes; the pipeline and the triggers decide what to
do from the class alone: a permanent error is recorded and acknowledged, a transient one is
retried while the source still exists, a configuration error is kept and reported loudly.
"""

from __future__ import annotations


class ArchiverError(Exception):
    """Base class. ``reason`` is a stable machine-readable code; the message is for people."""

    reason: str = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class UsageError(ValueError):
    """An operator's argument is malformed (a case name, a date): say which, change nothing."""


class PermanentError(ArchiverError):
    """Retrying cannot help: record the job or event with its reason, then acknowledge it."""

    reason = "permanent"


class RejectedEvent(PermanentError):
    """The event itself is invalid or hostile; nothing was fetched."""

    reason = "invalid_event"


class InvalidMetadata(PermanentError):
    """The chunk's metadata file cannot be used (not JSON, too large, wrong types)."""

    reason = "invalid_metadata"


class SourceNotAllowed(PermanentError):
    """A URL (from an event or a redirect) is off the allowlist: credentials never go there."""

    reason = "url_not_allowed"


class RecordingLost(PermanentError):
    """The source is gone after its retention window closed: the recording is lost."""

    reason = "recording_lost"


class TransientError(ArchiverError):
    """Try again later. ``retry_after``: the earliest useful retry in seconds, when known.

    Known means the server said so (``Retry-After``) or the failure has a known recovery time
    (ACS's empty first download "works a minute later", a lease expires). The worker never
    retries sooner than its own backoff, whatever this says.
    """

    reason = "transient"

    def __init__(self, message: str, *, reason: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after


class SourceUnavailable(TransientError):
    """The source failed in a way the service is known to recover from (5xx, 429, resets...)."""

    reason = "source_unavailable"


class SourceMissing(TransientError):
    """404 from the source. Before the deadline ACS may just be slow; after it, the file is gone."""

    reason = "source_not_found"


class StorageUnavailable(TransientError):
    """Our own storage failed (connection refused or reset, 5xx, throttling): try again later."""

    reason = "storage_unavailable"


class ArchiveBusy(TransientError):
    """Another worker holds the lease on this chunk's archive blob right now."""

    reason = "busy"


class ConfigurationError(TransientError):
    """Our credentials or settings are wrong (401/403): keep the job, tell the operator what to fix.

    Transient from the job's point of view: once the operator fixes the setting, the kept
    job succeeds. Retried slowly, never in a tight loop.
    """

    reason = "configuration"

    def __init__(self, message: str, *, reason: str | None = None, retry_after: float = 300.0) -> None:
        super().__init__(message, reason=reason, retry_after=retry_after)
