"""Local stand-in for the ACS Call Recording service (dev and test only).

It speaks today's Call Automation recording API (what the official SDKs'
``CallAutomationClient`` calls: start, pause, resume, get properties, stop) and, alongside it,
the seed's 2021 Call Recording API; it POSTs recording state callbacks to loopback URIs,
produces real, audible media and metadata when a recording stops (split into chunks if asked),
serves them at today's and the seed's download URLs, authenticates as the resource does (HMAC
for the endpoint's host or ``x-ms-host``, Entra ID tokens), and publishes the
RecordingFileStatusUpdated event in both Event Grid delivery schemas, so that recording code and
the archiver can be exercised end to end without a cloud account. An unauthenticated admin API
under ``/_emulator/`` lets tests register calls, seed documents, look up recordings and events
and inject the service's known faults. The function app never imports this package.
"""
