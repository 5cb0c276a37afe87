"""Constants shared by the test suites."""

from __future__ import annotations

import base64
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples"
RESOURCE_HOST = "acs-contoso.communication.azure.com"
ACCESS_KEY = base64.b64encode(b"integration-test-access-key-0123").decode()


SECRET_PATTERNS = [
    re.compile(r"accesskey=", re.IGNORECASE),
    re.compile(r"AccountKey=", re.IGNORECASE),
    re.compile(r"SharedAccessSignature|[?&]sig=", re.IGNORECASE),
    re.compile(r"Signature=[A-Za-z0-9+/]"),
    re.compile(r"Bearer\s+[A-Za-z0-9._-]{8,}"),
    # Participant identities: ACS/Teams users and phone numbers.
    re.compile(r"(?<![\w/])8:(?:acs|orgid|teamsvisitor|gcch|dod|spool)[:\w-]*:"),
    re.compile(r"(?<![\w/.=-])4:\+?\d{6,}"),
]


def find_leaks(lines: list[str]) -> list[str]:
    """Log lines that carry a secret (keys, signatures, tokens, SAS) or a participant identity."""
    return [line for line in lines if ACCESS_KEY in line or any(p.search(line) for p in SECRET_PATTERNS)]
