"""Point an official Azure SDK client at the loopback emulator: nothing leaves the machine.

``LoopbackTransport`` is an azure-core transport that delivers every request to the emulator's
``http://127.0.0.1:PORT`` and changes nothing else: the client signs, and sends, exactly what it
would send to Azure, with the ``Host`` header of the URL it meant (the resource's endpoint for
the recording API, a ``*.asm.skype.com`` storage host for downloads). So the connection string
keeps the resource's real-looking ``https://`` endpoint, and the SDK's own checks (HTTPS only
for tokens, storage hosts only for downloads) run as they do in production::

    client = CallAutomationClient.from_connection_string(
        emulator.connection_string, transport=LoopbackTransport(emulator.url)
    )

Against an emulator started with ``--tls`` (``https://127.0.0.1:PORT``), pass its CA:
``LoopbackTransport(emulator.url, ca_file=emulator.ca_file)``. Then nothing in the request is
rewritten at all: the URL stays ``https://us-storage.asm.skype.com/...``, only the TCP
connection goes to the emulator, and TLS runs as in production - SNI names the URL's host and
the certificate is verified against it, with the CA as the only trust anchor.

``LocalTokenCredential`` is a ``TokenCredential`` for the Entra ID paths (the SDK with a token
credential, the archiver's identity mode): it mints a well-formed but unsigned JWT for the
requested scope, which the emulator accepts (``auth``) and Azure never would.
"""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpRequest as LegacyHttpRequest
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.util import connection as urllib3_connection
from urllib3.util.retry import Retry

from archiver.settings import is_loopback_host

TOKEN_LIFETIME_SECONDS = 3600


class _LoopbackHTTPSConnection(HTTPSConnection):
    """An HTTPS connection whose TCP socket goes to ``address``; TLS still names ``host``."""

    address: tuple[str, int] = ("127.0.0.1", 0)

    def _new_conn(self) -> socket.socket:
        return urllib3_connection.create_connection(
            self.address, self.timeout, source_address=self.source_address, socket_options=self.socket_options
        )


class _LoopbackAdapter(HTTPAdapter):
    """requests' adapter with every https pool connecting to the loopback ``address``.

    Only the socket's destination changes: urllib3 still sends SNI for the URL's host and
    checks the certificate against it, so the hostname check is the production one.
    """

    def __init__(self, address: tuple[str, int], max_retries: Retry) -> None:
        connection = type("LoopbackHTTPSConnection", (_LoopbackHTTPSConnection,), {"address": address})
        self._pool = type(
            "LoopbackHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": connection}
        )
        super().__init__(max_retries=max_retries)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"https": self._pool}  # no plain http at all


# azure-core exports RequestsTransport lazily, so type checkers see ``Any``.
class LoopbackTransport(RequestsTransport):  # type: ignore[misc]
    """Sends every request to the loopback ``emulator_url``, keeping its ``Host`` and signature.

    With an ``https://`` emulator (``--tls``), ``ca_file`` is required and is the only CA
    trusted; the URL is left as it is and only the connection is routed (see the module doc).
    """

    def __init__(self, emulator_url: str, *, ca_file: Path | str | None = None, **kwargs: Any) -> None:
        parts = urlsplit(emulator_url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or not is_loopback_host(parts.hostname)
        ):
            raise ValueError(f"the emulator URL must be http(s):// on a loopback host, not {emulator_url!r}")
        self._tls = parts.scheme == "https"
        if self._tls:
            if ca_file is None:
                raise ValueError("an https:// emulator needs ca_file: the CA its certificate comes from")
            kwargs["connection_verify"] = str(ca_file)
            self._address = (parts.hostname, parts.port or 443)
        super().__init__(**kwargs)
        self._netloc = parts.netloc

    def _init_session(self, session: requests.Session) -> None:
        super()._init_session(session)
        if self._tls:
            session.trust_env = False  # no proxy, no REQUESTS_CA_BUNDLE: the emulator's CA only
            adapter = _LoopbackAdapter(
                self._address, Retry(total=False, redirect=False, raise_on_status=False)
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)

    def _to_loopback(self, request: LegacyHttpRequest | HttpRequest) -> None:
        parts = urlsplit(request.url)
        request.headers["Host"] = parts.netloc
        request.url = urlunsplit(("http", self._netloc, parts.path, parts.query, ""))

    def send(self, request: LegacyHttpRequest | HttpRequest, **kwargs: Any) -> Any:
        """Rewrite the request's URL to the emulator (after the client signed it), then send it.

        Over TLS nothing is rewritten: the adapter routes the connection instead.
        """
        if not self._tls:
            self._to_loopback(request)
        elif urlsplit(request.url).scheme != "https":
            raise ValueError("only https:// requests go to an https:// emulator")
        return super().send(request, **kwargs)


def _b64url(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode("ascii").rstrip("=")


def unsigned_token(scope: str, lifetime: int = TOKEN_LIFETIME_SECONDS) -> AccessToken:
    """A JWT shaped like an Entra ID access token for ``scope``; its signature is a placeholder."""
    now = int(time.time())
    audience = scope.removesuffix(".default").rstrip("/")
    header = {"typ": "JWT", "alg": "RS256", "kid": "acs-emulator"}
    claims = {
        "aud": audience,
        "iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "oid": str(uuid.uuid4()),
        "tid": "00000000-0000-0000-0000-000000000000",
    }
    parts = [_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)]
    token = ".".join([*parts, _b64url(b"not signed: for the ACS emulator only")])
    return AccessToken(token, now + lifetime)


class LocalTokenCredential:
    """A ``TokenCredential`` that hands out ``unsigned_token``s: identity mode, against the emulator."""

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        if len(scopes) != 1:
            raise ValueError("ask for exactly one scope")
        return unsigned_token(scopes[0])
