"""``python -m archiver.bench``: the copy benchmark (see ``archiver.bench.cli``)."""

import sys

from archiver.bench import main

sys.exit(main())
