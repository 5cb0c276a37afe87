#!/usr/bin/env bash
# Static security checks of infra/ with checkov, in its own virtual environment.
#
#   scripts/checkov.sh            build .venv-checkov if needed, then scan infra/
#   scripts/checkov.sh --setup    only build .venv-checkov (CI runs this before the tests)
#
# Fails unless checkov parsed every Bicep file (parsing_errors == 0: checkov's older parser
# skips files it cannot read and still exits 0) and no check failed. The only accepted way to
# silence a check is a `//checkov:skip=CKV_...:reason` line inside the resource body.
#
# Environment: PYTHON (interpreter for the venv, default python3), CHECKOV_VENV (venv path),
# CHECKOV_TARGET (directory to scan, default infra/), CHECKOV_REPORT (also keep the JSON
# report at this path).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CHECKOV_VENV:-$ROOT/.venv-checkov}"
REQUIREMENTS="$ROOT/scripts/requirements-checkov.txt"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.requirements.sha256"
TARGET="${CHECKOV_TARGET:-$ROOT/infra}"

if command -v sha256sum >/dev/null 2>&1; then
    want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
else
    want="$(shasum -a 256 "$REQUIREMENTS" | cut -d' ' -f1)"
fi
if [ ! -x "$VENV/bin/checkov" ] || [ "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ]; then
    echo "checkov.sh: building $VENV from $(basename "$REQUIREMENTS")" >&2
    "$PYTHON" -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    echo "$want" > "$STAMP"
fi

if [ "${1:-}" = "--setup" ]; then
    exit 0
fi

report="$(mktemp)"
trap 'rm -f "$report"' EXIT

# checkov exits 1 when a check fails; the verdict below is ours, made from the JSON report.
set +e
(cd "$TARGET" && BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true \
    "$VENV/bin/checkov" -d . --framework bicep --skip-download -o json) > "$report"
status=$?
set -e
if [ -n "${CHECKOV_REPORT:-}" ]; then
    cp "$report" "$CHECKOV_REPORT"
fi

"$VENV/bin/python" - "$report" "$status" <<'PY'
import json
import sys

path, status = sys.argv[1], int(sys.argv[2])
try:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
except (OSError, ValueError) as exc:
    sys.exit(f"checkov.sh: no JSON report from checkov (exit {status}): {exc}")

reports = data if isinstance(data, list) else [data]
reports = [r for r in reports if r.get("check_type") == "bicep"]
if not reports:
    sys.exit("checkov.sh: checkov reported no Bicep results: did it find any *.bicep file?")

problems = []
for report in reports:
    summary = report["summary"]
    results = report["results"]
    print(
        "checkov {checkov_version}: {passed} passed, {failed} failed, {skipped} skipped, "
        "{parsing_errors} parsing errors, {resource_count} resources".format(**summary)
    )
    for check in results.get("skipped_checks", []):
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        print(f"  skipped {check['check_id']} on {check['resource']} ({check['file_path']}): {reason}")
    for path_ in results.get("parsing_errors", []):
        problems.append(f"parsing error (file not checked): {path_}")
    for check in results.get("failed_checks", []):
        problems.append(
            f"FAILED {check['check_id']} {check['check_name']} on {check['resource']} "
            f"({check['file_path']}:{check['file_line_range'][0]})"
        )
    if summary.get("parsing_errors"):
        problems.append(f"{summary['parsing_errors']} Bicep file(s) could not be parsed by checkov")

for line in problems:
    print(line, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
