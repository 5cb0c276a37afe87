"""Local stand-in for the ACS Call Recording service (dev and test only).

It speaks the seed's Call Recording API (POSTing recording state callbacks to loopback URIs),
produces real, audible media and metadata when a recording stops, serves them at today's and
the seed's download URLs with HMAC authentication, and publishes the RecordingFileStatusUpdated
event, so that the archiver can be exercised end to end without a cloud account. An
unauthenticated admin API under ``/_emulator/`` lets tests seed documents and inject the
service's known faults. The function app never imports this package.
"""
