"""``python -m archiver``: the operator commands (see ``archiver.cli``)."""

import sys

from archiver.cli import main

sys.exit(main())
