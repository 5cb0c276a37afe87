"""The emulator README's official-SDK example runs as written and does what the README says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from archiver.dev.emulator.client import PROJECT_ROOT

README = PROJECT_ROOT / "archiver" / "dev" / "emulator" / "README.md"
SECTION = "## A complete recording with the official SDK"


def sdk_example() -> str:
    """The first Python block of the README's SDK section, exactly as printed there."""
    section = README.read_text(encoding="utf-8").split(SECTION, 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the SDK section has no python block"
    return found.group(1)


def test_the_readme_sdk_example_runs_as_written(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(sdk_example(), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # anywhere: only PYTHONPATH points at the checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["started active", "paused inactive"]
    chunks = [line.split(" ", 3) for line in lines[2:]]
    assert [(c[0], c[1], c[2]) for c in chunks] == [
        ("chunk", "0", "ChunkMaximumSizeExceeded"),
        ("chunk", "1", "SessionEnded"),
    ]
    # The phone number was ordered first: channel 0; the ACS user next: channel 1.
    assert all(c[3].endswith("[('4:+142', 0), ('8:acs:', 1)]") for c in chunks)


def test_the_readme_names_the_command_that_starts_the_emulator() -> None:
    text = README.read_text(encoding="utf-8")
    assert "python -m archiver.dev emulator" in text
    assert "`python -m archiver emulator` only prints" in text
