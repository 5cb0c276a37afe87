"""Developer tools: the local ACS emulator, Azurite control, the local Functions host, the demo
and the copy benchmark.

Never deployed (one ``.funcignore`` line, ``archiver/dev/``) and never imported by the product:
``archiver`` outside this folder does not know it exists. Run ``python -m archiver.dev``.
"""
