"""How a failure of our own storage is classified: the worker's retry decision rests on it."""

from __future__ import annotations

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from archiver.errors import ArchiveBusy, ConfigurationError, StorageUnavailable
from archiver.store import storage_failure


def http_error(status: int, code: str = "") -> HttpResponseError:
    error = HttpResponseError(message=f"{status} {code}")
    error.status_code = status
    error.error_code = code  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ServiceRequestError("connection refused"), StorageUnavailable),
        (ServiceResponseError("connection reset"), StorageUnavailable),
        (http_error(503, "ServerBusy"), StorageUnavailable),
        (http_error(500, "InternalError"), StorageUnavailable),
        (http_error(400, "Crc64Mismatch"), StorageUnavailable),
        (http_error(400, "Md5Mismatch"), StorageUnavailable),
        (http_error(429), StorageUnavailable),
        (http_error(412, "LeaseNotPresentWithBlobOperation"), ArchiveBusy),
        (http_error(409, "LeaseIdMismatchWithBlobOperation"), ArchiveBusy),
        (http_error(403, "AuthorizationPermissionMismatch"), ConfigurationError),
        (http_error(409, "BlobImmutableDueToPolicy"), ConfigurationError),
    ],
)
def test_outages_are_transient_and_refusals_are_configuration(error: Exception, expected: type) -> None:
    translated = storage_failure(error)  # type: ignore[arg-type]
    assert isinstance(translated, expected)


def test_anything_else_is_left_to_raise() -> None:
    """A conflict or a bug must reach the host's retries and the poison queue, not be hidden."""
    assert storage_failure(ResourceNotFoundError("gone")) is None
    assert storage_failure(http_error(409, "BlobAlreadyExists")) is None
