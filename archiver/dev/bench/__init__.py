"""The copy benchmark: raw download, raw upload, the archiver's pipeline and the naive way.

Run ``python -m archiver.dev.bench --help`` (or ``python -m archiver.dev bench``); results and how to
read them are in BENCHMARKS.md. Development only: the Function App never imports this.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m archiver.dev bench ...``; returns the exit code."""
    from archiver.dev.bench.cli import main as run

    return run(argv)
