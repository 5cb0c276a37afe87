"""The emulator's settings, validated once from the command line."""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from archiver.dev.emulator.events import topic_for
from archiver.settings import is_loopback_host


def is_ipv4_loopback_host(host: str) -> bool:
    """True for ``localhost`` and 127.0.0.0/8: the addresses the (IPv4) server may bind."""
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.version == 4 and address.is_loopback


def check_loopback_url(url: str, option: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not is_loopback_host(parts.hostname):
        raise ValueError(f"{option} must be an http(s) URL on a loopback host, not {url!r}")
    return url


@dataclass(frozen=True)
class EmulatorConfig:
    host: str
    port: int
    state_dir: Path
    access_key: str
    resource_host: str
    public_url: str | None = None
    webhook_url: str | None = None
    resource_id: str | None = None  # ARM id of the ACS resource: the events' topic
    ready_file: Path | None = None
    max_media_seconds: int = 30
    chunk_seconds: int | None = None  # split media into chunks of at most this long (None: one)
    event_schema: str = "eventgrid"  # the webhook's delivery schema: eventgrid | cloudevents
    tls: bool = False  # serve HTTPS with a throwaway CA's certificate (archiver.dev.emulator.tls)
    tls_names: tuple[str, ...] = ()  # more DNS names for that certificate

    @property
    def resource_name(self) -> str:
        return self.resource_host.split(".", 1)[0]

    @property
    def topic(self) -> str:
        return self.resource_id or topic_for(self.resource_name)

    @property
    def immutable_resource_id(self) -> str:
        """The GUID the metadata calls ``resourceId``; stable for a given resource host."""
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, self.resource_host.lower()))
