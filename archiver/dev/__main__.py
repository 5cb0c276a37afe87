"""``python -m archiver.dev``: the developer commands (``demo``, ``emulator``, ``bench``).

The operator commands are ``python -m archiver``; these need a checkout of the repository
(Node's Azurite from ``package-lock.json``, the emulator) and are not deployed.
"""

from __future__ import annotations

import sys

USAGE = """usage: python -m archiver.dev {demo,emulator,bench,burst} [options]

  demo      record two calls on local services (Azurite + the ACS emulator) and archive them
            through the Function App's own functions, then print what landed where
  emulator  run the local ACS recording emulator in the foreground (--help for options)
  bench     the copy benchmark on the local stack (--help for options; see BENCHMARKS.md)
  burst     a burst of recordings through both functions with N workers (--help for options)
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "demo":
        from archiver.dev.demo import run_demo

        return run_demo()
    if command == "emulator":
        from archiver.dev.emulator.server import main as emulator_main

        return emulator_main(rest)
    if command == "bench":
        from archiver.dev.bench import main as bench_main

        return bench_main(rest)
    if command == "burst":
        from archiver.dev.bench.burst import main as burst_main

        return burst_main(rest)
    print(USAGE, file=sys.stderr if command not in ("-h", "--help") else sys.stdout, end="")
    return 0 if command in ("-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main())
