"""``python -m archiver.dev.bench``: the copy benchmark (see ``archiver.dev.bench.cli``)."""

import sys

from archiver.dev.bench import main

sys.exit(main())
