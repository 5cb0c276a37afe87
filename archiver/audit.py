"""The audit trail: one record per operator action, appended to an append-only container.

Holds, clears, exports, erasures and replays are what an auditor asks about ("who released
this recording, when, under which case?"), so each leaves a record that nobody can change:
the ``audit`` container is immutable in Azure, and records are only ever created.
"""

from __future__ import annotations

import getpass
import socket
from datetime import datetime

from archiver.records import AuditAction, AuditRecord
from archiver.store import ArchiveStore, now_utc


def operator_name(given: str | None) -> str:
    """``--operator`` when given, else the local account (the signed-in user on a workstation)."""
    if given and given.strip():
        return given.strip()[:128]
    return f"{getpass.getuser()}@{socket.gethostname()}"


def record(
    store: ArchiveStore,
    *,
    operator: str,
    action: AuditAction,
    scope: str,
    objects: int,
    outcome: str,
    case: str | None = None,
    detail: str = "",
) -> AuditRecord:
    entry = AuditRecord.model_validate(
        {
            "at": now_utc(),
            "operator": operator,
            "action": action,
            "scope": scope,
            "case": case,
            "objects": objects,
            "outcome": outcome,
            "detail": detail[:2000],
        }
    )
    store.append_audit(entry)
    return entry


def since(store: ArchiveStore, start: datetime | None) -> list[AuditRecord]:
    return store.audit_records(start)
