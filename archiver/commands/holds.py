"""``hold set|clear|list``: legal holds per case, on whole recordings of a call or a person."""

from __future__ import annotations

import argparse

from archiver import audit, holds, layout, scopes
from archiver.commands.tables import format_table
from archiver.runtime import get_runtime
from archiver.scopes import Scope
from archiver.store import ArchiveStore


def _scope(store: ArchiveStore, args: argparse.Namespace) -> Scope | None:
    if args.call:
        return scopes.for_call(store, args.call)
    if args.participant:
        return scopes.for_participant(store, args.participant)
    return None


def set_hold(args: argparse.Namespace) -> int:
    store = get_runtime().store
    scope = _scope(store, args)
    assert scope is not None  # argparse requires --call or --participant
    operator = audit.operator_name(args.operator)
    report = holds.place(store, args.case, scope, operator)
    audit.record(
        store,
        operator=operator,
        action="hold_set",
        scope=scope.label,
        case=args.case,
        objects=len(report.held),
        outcome="done",
        detail=f"{len(scope.folders)} recordings",
    )
    print(f"case {args.case}: {len(report.held)} objects in {len(scope.folders)} recordings held")
    return 0 if scope.folders else 1


def clear_hold(args: argparse.Namespace) -> int:
    store = get_runtime().store
    scope = _scope(store, args)
    report = holds.release(store, args.case, scope)
    for blob, others in sorted(report.kept_for.items()):
        print(f"still held for {', '.join(others)}: {blob}")
    released, kept = len(report.released), len(report.kept_for)
    audit.record(
        store,
        operator=audit.operator_name(args.operator),
        action="hold_clear",
        scope=scope.label if scope else f"case:{args.case}",
        case=args.case,
        objects=released,
        outcome="done",
        detail=f"{released} released, {kept} kept for other cases",
    )
    print(f"case {args.case}: {released} objects released, {kept} still held by other cases")
    return 0


def list_holds(args: argparse.Namespace) -> int:
    cases = holds.by_case(get_runtime().store)
    if not cases:
        print("no legal holds")
        return 0
    rows = [("case", "objects", "recordings", "since", "placed by")]
    for case, records in cases.items():
        recordings = {layout.recording_folder_of(r.blob) for r in records}
        since = min(r.placed_at for r in records).isoformat()[:19]
        operators = ", ".join(sorted({r.operator for r in records}))
        rows.append((case, str(len(records)), str(len(recordings)), since, operators))
    print(format_table(rows))
    return 0
