#!/usr/bin/env bash
# The demo: set-up, then record a simulated call on the local emulator and archive it into
# Azurite through the Function App's own functions. Starts and stops everything it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python -m archiver.dev demo "$@"
