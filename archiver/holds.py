"""Legal holds: keep every archived object of some recordings until a case releases them.

Storage offers one legal-hold flag per blob, but several cases may need the same recording. So
each case's hold on each object is also recorded (``legal-holds`` container), and clearing a
case removes its records and lifts the storage flag only from objects no other case holds.
Native legal holds need version-level immutability on the archive container; where the
account cannot hold, the command stops with an error naming the setting.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from azure.core.exceptions import HttpResponseError

from archiver.errors import ConfigurationError, UsageError
from archiver.records import HoldRecord
from archiver.scopes import Scope
from archiver.store import ArchiveStore, now_utc

_CASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass
class HoldReport:
    case: str
    held: list[str] = field(default_factory=list)  # objects whose storage flag is (still) set
    released: list[str] = field(default_factory=list)  # objects whose storage flag was lifted
    kept_for: dict[str, list[str]] = field(default_factory=dict)  # object -> other cases holding it


def check_case(case: str) -> str:
    if not _CASE.fullmatch(case):
        raise UsageError(
            "a case name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return case


def _cannot_hold(exc: HttpResponseError) -> ConfigurationError:
    return ConfigurationError(
        f"the archive account refused a legal hold ({exc.status_code} {getattr(exc, 'error_code', '')}): "
        "native legal holds need version-level immutability on the archive container; deploy with "
        "immutability=version (README, Deploy)",
        reason="legal_hold_unsupported",
    )


def place(store: ArchiveStore, case: str, scope: Scope, operator: str) -> HoldReport:
    """Hold every archived object of the scope's recordings for ``case``."""
    report = HoldReport(check_case(case))
    store.ensure_containers()
    for folder in scope.folders:
        for blob in store.archived_names(folder + "/"):
            try:
                store.set_legal_hold(blob, True)
            except HttpResponseError as exc:
                raise _cannot_hold(exc) from None
            record = HoldRecord(
                case=case,
                container=store.archive_container,
                blob=blob,
                placed_at=now_utc(),
                operator=operator,
                scope=scope.label,
            )
            store.put_hold(record)
            report.held.append(blob)
    return report


def release(store: ArchiveStore, case: str, scope: Scope | None) -> HoldReport:
    """Remove ``case``'s holds (all of them, or those in ``scope``); lift flags nobody else needs."""
    report = HoldReport(check_case(case))
    folders = None if scope is None else {f + "/" for f in scope.folders}
    mine = [r for r in store.all_holds() if r.case == case]
    for record in mine:
        if folders is not None and not any(record.blob.startswith(f) for f in folders):
            continue
        store.delete_hold(record)
        others = sorted({r.case for r in store.holds_on(record.blob) if r.case != case})
        if others:
            report.kept_for[record.blob] = others
            report.held.append(record.blob)
            continue
        try:
            store.set_legal_hold(record.blob, False)
        except HttpResponseError as exc:
            raise _cannot_hold(exc) from None
        report.released.append(record.blob)
    return report


def by_case(store: ArchiveStore) -> dict[str, list[HoldRecord]]:
    cases: dict[str, list[HoldRecord]] = defaultdict(list)
    for record in store.all_holds():
        cases[record.case].append(record)
    return dict(sorted(cases.items()))
