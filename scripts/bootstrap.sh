#!/usr/bin/env bash
# Set up everything the demo and the tests need, idempotently: a virtual environment with
# the Python dependencies, Azurite from package-lock.json and, on Linux, Debian's chromium (the
# HTML report's test draws the report in headless Chromium). Safe to run again; fast when
# nothing changed (stamps record what was installed).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "Python 3.11+ is required (found: $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "Node.js 20+ with npm is required (for Azurite)" >&2
  exit 1
fi

# sha256 of files, without relying on sha256sum (not on every macOS).
digest() { "$PYTHON" -c 'import hashlib, sys
h = hashlib.sha256()
for name in sys.argv[1:]:
    h.update(open(name, "rb").read())
print(h.hexdigest())' "$@"; }

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(digest requirements.txt requirements-dev.txt)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt
  echo "$want" > "$stamp"
fi

npm_stamp=node_modules/.package-lock.sha256
npm_want=$(digest package-lock.json)
if [ ! -x node_modules/.bin/azurite ] || [ ! -f "$npm_stamp" ] || [ "$(cat "$npm_stamp")" != "$npm_want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_want" > "$npm_stamp"
fi

# Headless Chromium for the HTML report's browser test (tests/integration/test_health.py).
# Linux as root (CI, a dev container): Debian's package, installed once. Elsewhere: say so; on
# macOS the test skips without it, on Linux it fails and names this script.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  case "$(uname -s)" in
    Linux)
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap: installing chromium (Debian package) for the HTML report's test" >&2
        apt_log=$(mktemp)
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
               DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
             >"$apt_log" 2>&1; then
          cat "$apt_log" >&2
          rm -f "$apt_log"
          echo "bootstrap: could not install chromium" >&2
          exit 1
        fi
        rm -f "$apt_log"
      else
        echo "bootstrap: chromium is missing; install it (sudo apt-get install chromium) for the report's test" >&2
      fi
      ;;
    Darwin)
      if [ ! -x /Applications/Chromium.app/Contents/MacOS/Chromium ]; then
        echo "bootstrap: Chromium is not installed; the HTML report's browser test will be skipped" \
          "(brew install --cask chromium to run it)" >&2
      fi
      ;;
  esac
fi
