"""``redrive``: what the timer does every 5 minutes, by hand."""

from __future__ import annotations

import argparse
import json

from archiver.redrive import redrive
from archiver.runtime import get_runtime


def run(args: argparse.Namespace) -> int:
    runtime = get_runtime()
    report = redrive(runtime.settings, runtime.store, runtime.queue)
    print(json.dumps(report.__dict__))
    return 1 if report.lost else 0
