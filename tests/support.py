"""Constants shared by the test suites."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"  # everything the tests read lives in the repository
SAMPLES = FIXTURES / "samples"  # the project's own payloads, copied from the team's shared samples
VENDOR = FIXTURES / "vendor"  # Microsoft's published examples of the event (see fixtures/README.md)
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


SETTING_PREFIXES = (
    "ACS_",
    "ARCHIVE_",
    "ALLOWED_",
    "SOURCE_",
    "COPY_",
    "AzureWebJobs",
    "LOCAL_SOURCE",
    "MAX_",
    "AT_RISK",
)


def use_local_services(monkeypatch: Any, storage: str, source_url: str, **extra: str) -> dict[str, str]:
    """Point the archiver's settings at Azurite and the emulator, and nothing else."""
    from archiver.runtime import reset_runtime

    for name in list(os.environ):
        if name.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    env = {
        "ACS_CONNECTION_STRING": f"endpoint=https://{RESOURCE_HOST}/;accesskey={ACCESS_KEY}",
        "ARCHIVE_STORAGE_CONNECTION_STRING": storage,
        "AzureWebJobsStorage": storage,
        "LOCAL_SOURCE_URL": source_url,
        **extra,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_runtime()
    return env


def as_cloud_event(event: dict[str, Any]) -> dict[str, Any]:
    """The same event as a CloudEvents 1.0 subscription delivers it (Event Grid's mapping)."""
    return {
        "specversion": "1.0",
        "id": event["id"],
        "source": event["topic"],
        "type": event["eventType"],
        "time": event["eventTime"],
        "subject": event["subject"],
        "datacontenttype": "application/json",
        "data": event["data"],
    }
