"""Fixtures of the infra tests: every template parsed once per session."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.bicep_support import parse_all


@pytest.fixture(scope="session")
def parsed() -> dict[str, Any]:
    """Every infra/**/*.bicep parsed once: relative path -> pycep JSON, or the exception."""
    return parse_all()


@pytest.fixture(scope="session")
def t(parsed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The successfully parsed templates (the parse test reports the others)."""
    return {name: doc for name, doc in parsed.items() if isinstance(doc, dict)}
