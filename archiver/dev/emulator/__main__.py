"""``python -m archiver.dev.emulator``: run the emulator in the foreground."""

from archiver.dev.emulator.server import main

raise SystemExit(main())
