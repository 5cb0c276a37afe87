"""Operator commands: archive an event by hand, data-subject requests, legal holds, the audit
trail, redrive, dead-letter replay, the fixity check, reconciliation with ACS's own logs, and
the archive's health (status, report).

Only what a deployment needs; the developer commands (demo, emulator, bench) are
``python -m archiver.dev``, which is not deployed.

Exit codes: 0 done; 1 something was rejected, failed permanently or was left (held, retained),
each kept or reported with its reason; 2 something failed transiently (run again); 3 bad
settings or a storage account that cannot do what was asked.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from archiver.errors import ConfigurationError, UsageError
from archiver.settings import SettingsError

DEV_COMMANDS = ("demo", "emulator", "bench")


def _command(target: str) -> dict[str, str]:
    """Commands are imported when run, so ``--help`` stays instant."""
    return {"run": target}


def _operator(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--operator", help="who is acting, for the audit trail (default: the local account)")


def _scope(parser: argparse.ArgumentParser, *, required: bool) -> None:
    which = parser.add_mutually_exclusive_group(required=required)
    which.add_argument("--call", metavar="CALL_ID", help="every recording of this call")
    which.add_argument("--participant", metavar="ID", help="every recording this person is in")


def _participants(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    people = commands.add_parser("participants", help="find, export or erase a person's recordings")
    actions = people.add_subparsers(dest="action", required=True)
    find = actions.add_parser("find", help="list every recording a participant is in")
    find.add_argument("participant_id", help="e.g. 8:acs:... or 4:+14255550123")
    find.add_argument("--json", action="store_true", help="print the index entries as JSON")
    find.set_defaults(**_command("participants:find"))
    export = actions.add_parser("export", help="download every recording a participant is in")
    export.add_argument("participant_id")
    export.add_argument("--to", required=True, help="destination directory")
    _operator(export)
    export.set_defaults(**_command("participants:export"))
    erase = actions.add_parser(
        "erase",
        help="delete every recording a participant is in, whole, with its index entries; recordings "
        "held or retained are left whole and reported (dry run by default)",
    )
    erase.add_argument("participant_id")
    erase.add_argument("--yes", action="store_true", help="really delete")
    _operator(erase)
    erase.set_defaults(**_command("participants:erase"))


def _holds(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hold = commands.add_parser("hold", help="legal holds on whole recordings, per case")
    actions = hold.add_subparsers(dest="action", required=True)
    place = actions.add_parser("set", help="hold every archived object of a call's or a person's recordings")
    place.add_argument("--case", required=True, help="the case (matter) the hold is for")
    _scope(place, required=True)
    _operator(place)
    place.set_defaults(**_command("holds:set_hold"))
    clear = actions.add_parser(
        "clear", help="release a case's holds (all, or a call's / person's); other cases' holds stay"
    )
    clear.add_argument("--case", required=True)
    _scope(clear, required=False)
    _operator(clear)
    clear.set_defaults(**_command("holds:clear_hold"))
    actions.add_parser("list", help="every case and what it holds").set_defaults(
        **_command("holds:list_holds")
    )


def _nothing_missed(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Dead-letter replay, the fixity check, reconciliation: what each timer does, by hand."""
    deadletter = commands.add_parser("deadletter", help="events Event Grid could not deliver")
    actions = deadletter.add_subparsers(dest="action", required=True)
    replay = actions.add_parser(
        "replay", help="feed every dead-lettered event through ingress again, then move it under replayed/"
    )
    replay.add_argument("--dry-run", action="store_true", help="say what would happen; change nothing")
    replay.add_argument("--json", action="store_true", help="print the per-event outcomes as JSON")
    _operator(replay)
    replay.set_defaults(**_command("deadletter:replay_command"))
    verify = commands.add_parser(
        "verify", help="check that every archived chunk is present and unchanged (exit 1 names each problem)"
    )
    verify.add_argument("--since", help="only recordings filed on or after this date (ISO 8601)")
    verify.add_argument("--deep", action="store_true", help="re-read and re-hash every blob (SHA-256)")
    verify.add_argument("--json", action="store_true", help="print the counts and problems as JSON")
    _operator(verify)
    verify.set_defaults(**_command("verify:run"))
    reconcile = commands.add_parser(
        "reconcile", help="compare ACS's call recording summary logs with the archive"
    )
    reconcile.add_argument("--hours", type=float, default=24.0, help="how far back to look (default 24)")
    reconcile.add_argument("--json", action="store_true", help="print every recording's status as JSON")
    reconcile.set_defaults(**_command("reconcile:run"))


def _positive_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 1 <= days <= 366:
        raise argparse.ArgumentTypeError("--days must be between 1 and 366")
    return days


def _health(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The archive's health at a glance: one screen for a terminal, a page of charts to share."""
    status = commands.add_parser(
        "status", help="queues, last 24 h and what needs a person on one screen (exit 1 if anything does)"
    )
    status.add_argument("--json", action="store_true", help="print the same figures as JSON")
    status.set_defaults(**_command("status:run"))
    report = commands.add_parser(
        "report", help="write a self-contained HTML page of charts computed from the archive's records"
    )
    report.add_argument("--html", required=True, metavar="FILE", help="the HTML file to write")
    report.add_argument(
        "--days", type=_positive_days, default=14, help="how many UTC days, today included (default 14)"
    )
    report.set_defaults(**_command("report:run"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m archiver", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    archive = commands.add_parser(
        "archive", help="archive (or replay) one event file now (Event Grid or CloudEvents JSON)"
    )
    archive.add_argument("event_file")
    _operator(archive)
    archive.set_defaults(**_command("archive:run"))
    _participants(commands)
    _holds(commands)
    audit = commands.add_parser("audit", help="the audit trail of holds, exports, erasures and replays")
    audit_actions = audit.add_subparsers(dest="action", required=True)
    listing = audit_actions.add_parser("list", help="audit records as a table")
    listing.add_argument("--since", help="from this date or time (ISO 8601, UTC unless it says otherwise)")
    listing.add_argument("--json", action="store_true", help="print the records as JSON")
    listing.set_defaults(**_command("audit_log:list_records"))
    redrive = commands.add_parser("redrive", help="re-queue poisoned jobs whose source still exists")
    redrive.set_defaults(**_command("redrive:run"))
    _nothing_missed(commands)
    _health(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in DEV_COMMANDS:
        print(
            f"error: {argv[0]!r} is a developer command, not part of a deployment: "
            f"run `python -m archiver.dev {' '.join(argv)}` from a checkout of the repository",
            file=sys.stderr,
        )
        return 2
    args = build_parser().parse_args(argv)
    module, function = args.run.split(":")
    command = getattr(importlib.import_module(f"archiver.commands.{module}"), function)
    try:
        return int(command(args))
    except (SettingsError, ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
