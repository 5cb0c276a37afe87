"""The README's first command: the demo runs on its own and says what it archived."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT


def test_demo_records_archives_and_cleans_up() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "archiver.dev", "demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "2 chunk job(s) archived, 0 raised" in text
    assert text.count("commit point") == 2 and text.count("recording complete") == 2
    assert " NO" not in text and text.count("byte for byte") == 2
    assert "chunk-000.wav" in text and "chunk-000.mp4" in text
    # The participant in both calls is indexed twice, once per channel layout.
    assert "8:acs:…00a1" in text and "0,mixed" in text
    # Raw identities are masked on screen (only the suggested command shows one).
    assert text.count("4:+14255550123") == 0
    assert "Stopped Azurite and the emulator" in text
