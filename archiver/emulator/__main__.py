"""``python -m archiver.emulator``: run the emulator in the foreground."""

from archiver.emulator.server import main

raise SystemExit(main())
