"""A server-side copy still pending is waited for, and its end is what gets checked.

Azurite finishes every same-account copy at once, so the pending states Azure can report are
played by a stand-in for the one call ``publish`` polls (``get_blob_properties``).
"""

from __future__ import annotations

import pytest
from azure.storage.blob import BlobProperties

from archiver.errors import TransientError
from archiver.write_once import _wait_for_copy


class _Polled:
    """Answers each poll with the next copy status."""

    blob_name = "2026/11/26/call/chunk.mp4"

    def __init__(self, *statuses: str | None) -> None:
        self._statuses = list(statuses)
        self.polls = 0

    def get_blob_properties(self) -> BlobProperties:
        props = BlobProperties()
        props.copy.status = self._statuses[min(self.polls, len(self._statuses) - 1)]
        props.size = 42
        self.polls += 1
        return props


def test_a_pending_copy_is_polled_until_it_succeeds_and_its_last_answer_is_returned() -> None:
    blob = _Polled("pending", "pending", "success")
    props = _wait_for_copy(blob, timeout=5.0)  # type: ignore[arg-type]
    assert blob.polls == 3
    assert props.copy.status == "success" and props.size == 42


@pytest.mark.parametrize("status", ["failed", "aborted"])
def test_a_copy_that_ends_badly_is_a_transient_failure(status: str) -> None:
    with pytest.raises(TransientError) as failed:
        _wait_for_copy(_Polled("pending", status), timeout=5.0)  # type: ignore[arg-type]
    assert failed.value.reason == "copy_failed"


def test_a_copy_pending_past_the_timeout_is_a_transient_failure() -> None:
    with pytest.raises(TransientError) as pending:
        _wait_for_copy(_Polled("pending"), timeout=0.0)  # type: ignore[arg-type]
    assert pending.value.reason == "copy_pending"
