"""The source allowlist: the only gate between a URL from an event and our credentials.

The same check runs at ingress (so a bad event is rejected before any request) and before
every request and redirect (so nothing that slipped past ingress, or a redirect chosen by a
server, ever receives a signature or a token).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from archiver.errors import SourceNotAllowed
from archiver.settings import DEFAULT_ALLOWED_HOST_SUFFIXES, Settings

MAX_URL_LENGTH = 2048


def _host_matches(host: str, pattern: str) -> bool:
    """``*.example.com`` or ``.example.com`` match strict subdomains; anything else is exact."""
    pattern = pattern.lower()
    if pattern.startswith("*."):
        pattern = pattern[1:]
    if pattern.startswith("."):
        return host.endswith(pattern) and len(host) > len(pattern)
    return host == pattern


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _check_shape(scheme: str, netloc: str, port: int | None, host: str, *, has_userinfo: bool) -> None:
    """The parts of the rules that need no settings: https, default port, a plain DNS name."""
    if scheme != "https":
        raise SourceNotAllowed(f"source URL must use https, not {scheme or 'nothing'!r}")
    if has_userinfo or "@" in netloc:
        raise SourceNotAllowed("source URL must not carry user information")
    if port not in (None, 443):
        raise SourceNotAllowed(f"source URL port {port} is not allowed")
    if not host or _is_ip_literal(host) or not host.isascii() or host.endswith("."):
        raise SourceNotAllowed("source URL host must be a DNS name")
    if not host.replace("-", "").replace(".", "").isalnum():
        raise SourceNotAllowed("source URL host contains characters that are not allowed")


def check_source_url(url: str, settings: Settings) -> str:
    """Return ``url`` if credentials may be sent to it, else raise ``SourceNotAllowed``.

    Rules: https only, default port, no userinfo, no IP literals, a host on the allowlist
    (ACS storage suffixes, the configured ACS endpoint's host, ``ALLOWED_SOURCE_HOSTS``).
    The one exception is ``LOCAL_SOURCE_URL`` (development): URLs at exactly that loopback
    origin are allowed over http.
    """
    if len(url) > MAX_URL_LENGTH or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise SourceNotAllowed("source URL is too long or contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise SourceNotAllowed("source URL cannot be parsed") from None
    host = (parts.hostname or "").lower()
    if settings.local_source_url and f"{parts.scheme}://{parts.netloc}" == settings.local_source_url:
        return url
    _check_shape(parts.scheme, parts.netloc, port, host, has_userinfo=parts.username is not None)
    patterns = list(DEFAULT_ALLOWED_HOST_SUFFIXES) + list(settings.allowed_source_hosts)
    endpoint = settings.acs_endpoint_setting or settings.acs_connection_string
    if endpoint:
        patterns.append(settings.acs_host.lower())
    if not any(_host_matches(host, pattern) for pattern in patterns):
        raise SourceNotAllowed(f"source host {host!r} is not on the allowlist")
    return url
