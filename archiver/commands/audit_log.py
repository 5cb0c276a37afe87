"""``audit list [--since DATE]``: the chain of custody as a table (or JSON)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from archiver import audit
from archiver.commands.tables import format_table
from archiver.errors import UsageError
from archiver.runtime import get_runtime


def parse_since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since {text!r} is not an ISO 8601 date or time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def list_records(args: argparse.Namespace) -> int:
    records = audit.since(get_runtime().store, parse_since(args.since))
    if args.json:
        print(json.dumps([r.model_dump(mode="json", by_alias=True) for r in records], indent=2))
        return 0
    if not records:
        print("no audit records")
        return 0
    rows = [("time (UTC)", "operator", "action", "case", "scope", "objects", "outcome")]
    rows += [
        (r.at.isoformat()[:19], r.operator, r.action, r.case or "", r.scope[:48], str(r.objects), r.outcome)
        for r in records
    ]
    print(format_table(rows))
    return 0
