#!/usr/bin/env bash
# The test command: set-up, lint, types, infra checks, then every test (unit and integration
# on real Azurite and the local ACS emulator, both started and stopped by the tests).
# Extra arguments go to pytest, e.g. scripts/test.sh -k participants
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/checkov.sh --setup
.venv/bin/ruff format --check .
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
