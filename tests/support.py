"""Constants shared by the test suites."""

from __future__ import annotations

import base64
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples"
RESOURCE_HOST = "acs-contoso.communication.azure.com"
ACCESS_KEY = base64.b64encode(b"integration-test-access-key-0123").decode()
