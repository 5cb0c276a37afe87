"""Command line entry point: ``python -m archiver.dev.emulator`` (or ``python -m archiver.dev emulator``).

Binds to loopback only, announces its URL (ready file and an ``EMULATOR_READY`` line) once
it is listening (with ``--tls``, an ``https://`` URL and, in the ready file, the throwaway CA
to trust), and stops cleanly on SIGTERM or SIGINT (removing the ready file, so a stale one
never points at a dead port).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from archiver.acs_auth import InvalidAccessKey, decode_access_key
from archiver.dev.emulator.app import Emulator
from archiver.dev.emulator.config import EmulatorConfig, check_loopback_url, is_ipv4_loopback_host
from archiver.dev.emulator.events import EVENT_GRID_SCHEMA, SCHEMAS
from archiver.dev.emulator.files import write_json_atomic
from archiver.dev.emulator.handler import EmulatorServer
from archiver.dev.emulator.tls import TlsFiles, make_certificates, server_context, server_names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m archiver.dev.emulator",
        description="Local ACS call recording emulator (dev and test only; loopback only).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--state-dir", type=Path, required=True, help="where all state is kept")
    parser.add_argument("--access-key", required=True, help="the ACS resource access key (base64)")
    parser.add_argument(
        "--resource-host",
        default="contoso.communication.azure.com",
        help="the ACS resource host requests must sign for and name in x-ms-host",
    )
    parser.add_argument("--public-url", help="base URL of published locations (default: own URL)")
    parser.add_argument("--webhook-url", help="loopback URL to POST each event to (Event Grid schema)")
    parser.add_argument("--resource-id", help="ARM id of the ACS resource, used as the events' topic")
    parser.add_argument("--ready-file", type=Path, help="write {url, pid} here once listening")
    parser.add_argument(
        "--max-media-seconds", type=int, default=30, help="cap on generated media length (default 30)"
    )
    parser.add_argument(
        "--chunk-seconds",
        type=int,
        help="split each recording's media into chunks of at most this many seconds, all but the last"
        " ending with ChunkMaximumSizeExceeded (default: one chunk)",
    )
    parser.add_argument(
        "--event-schema",
        choices=SCHEMAS,
        default=EVENT_GRID_SCHEMA,
        help="schema of the webhook's deliveries (default eventgrid); both are written to the state dir",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a certificate from a throwaway CA made at start-up (ca.pem in the state"
        " dir, named in the ready file); it covers *.asm.skype.com, *.asyncgw.teams.microsoft.com,"
        " the resource host, the public URL's host, localhost and 127.0.0.1",
    )
    parser.add_argument(
        "--tls-name",
        action="append",
        default=[],
        help="another DNS name for the certificate (repeatable)",
    )
    return parser


def parse_config(argv: list[str] | None) -> EmulatorConfig:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not is_ipv4_loopback_host(args.host):
        parser.error(f"--host must be a loopback address (127.x.x.x or localhost), not {args.host!r}")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be from 0 to 65535")
    if args.max_media_seconds < 1:
        parser.error("--max-media-seconds must be at least 1")
    if args.chunk_seconds is not None and args.chunk_seconds < 1:
        parser.error("--chunk-seconds must be at least 1")
    if args.tls_name and not args.tls:
        parser.error("--tls-name needs --tls")
    try:
        decode_access_key(args.access_key)
        if args.webhook_url:
            check_loopback_url(args.webhook_url, "--webhook-url")
    except (InvalidAccessKey, ValueError) as exc:
        parser.error(str(exc))
    return EmulatorConfig(
        host="127.0.0.1" if args.host.lower() == "localhost" else args.host,
        port=args.port,
        state_dir=args.state_dir,
        access_key=args.access_key,
        resource_host=args.resource_host,
        public_url=args.public_url.rstrip("/") if args.public_url else None,
        webhook_url=args.webhook_url,
        resource_id=args.resource_id,
        ready_file=args.ready_file,
        max_media_seconds=args.max_media_seconds,
        chunk_seconds=args.chunk_seconds,
        event_schema=args.event_schema,
        tls=args.tls,
        tls_names=tuple(args.tls_name),
    )


def _certificates(config: EmulatorConfig) -> TlsFiles | None:
    """With ``--tls``: a fresh CA and server certificate in the state dir (``tls/``)."""
    if not config.tls:
        return None
    extra = list(config.tls_names)
    if config.public_url:
        extra.append(urlsplit(config.public_url).hostname or "")
    return make_certificates(config.state_dir / "tls", server_names(config.resource_host, tuple(extra)))


def main(argv: list[str] | None = None) -> int:
    config = parse_config(argv)
    emulator = Emulator(config)
    tls = _certificates(config)
    server = EmulatorServer((config.host, config.port), emulator, server_context(tls) if tls else None)
    port = server.server_address[1]
    url = f"{'https' if tls else 'http'}://{config.host}:{port}"
    emulator.public_url = config.public_url or url
    emulator.url = url

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    serving = threading.Thread(target=server.serve_forever, name="emulator-http", daemon=True)
    serving.start()
    if config.ready_file is not None:
        ready = {"url": url, "pid": os.getpid()} | ({"caFile": str(tls.ca_file)} if tls else {})
        write_json_atomic(config.ready_file, ready)
    print(f"EMULATOR_READY {url}" + (f" ca={tls.ca_file}" if tls else ""), flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        emulator.callbacks.close()  # queued state callbacks get their chance to go out
        if config.ready_file is not None:
            config.ready_file.unlink(missing_ok=True)
    print("emulator: stopped", file=sys.stderr, flush=True)
    return 0
