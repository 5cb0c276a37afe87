"""The log scanner that guards every test must itself catch what it is meant to catch."""

from __future__ import annotations

import pytest

from tests.support import ACCESS_KEY, find_leaks


@pytest.mark.parametrize(
    "line",
    [
        f"connecting with endpoint=https://x/;accesskey={ACCESS_KEY}",
        "Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=abc123",
        "Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi",
        "GET https://acct.blob.core.windows.net/c/b?sv=2024&sig=abcdef",
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc",
        "participant 8:acs:7d0c5b1e-2f3a_00000021-aaaa joined",
        "participant 4:+14255550123 joined",
        "participant 8:orgid:2b9f6e3a-1111 joined",
    ],
)
def test_leaks_are_found(line: str) -> None:
    assert find_leaks([line]) == [line]


@pytest.mark.parametrize(
    "line",
    [
        "ARCHIVER_ARCHIVED chunk archived event_id=a3d1 call_id=5f2a document_id=0-eus-d6-3b9f chunk=0",
        "source retry url=us-storage.asm.skype.com/v1/objects/0-eus-d6-abc/content/video reason=html_body",
        "index key 4da0f5e14e4a3fa7 for 2026/11/24/call/211745Z-0ea6/chunk-000.json",
        "margin_s=86399.9 deadline=2026-11-25T21:18:51+00:00",
    ],
)
def test_ordinary_lines_pass(line: str) -> None:
    assert find_leaks([line]) == []
