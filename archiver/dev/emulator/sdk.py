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

``LocalTokenCredential`` is a ``TokenCredential`` for the Entra ID paths (the SDK with a token
credential, the archiver's identity mode): it mints a well-formed but unsigned JWT for the
requested scope, which the emulator accepts (``auth``) and Azure never would.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpRequest as LegacyHttpRequest
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest

from archiver.settings import is_loopback_host

TOKEN_LIFETIME_SECONDS = 3600


# azure-core exports RequestsTransport lazily, so type checkers see ``Any``.
class LoopbackTransport(RequestsTransport):  # type: ignore[misc]
    """Sends every request to the loopback ``emulator_url``, keeping its ``Host`` and signature."""

    def __init__(self, emulator_url: str, **kwargs: Any) -> None:
        parts = urlsplit(emulator_url)
        if parts.scheme != "http" or not parts.hostname or not is_loopback_host(parts.hostname):
            raise ValueError(f"the emulator URL must be http:// on a loopback host, not {emulator_url!r}")
        super().__init__(**kwargs)
        self._netloc = parts.netloc

    def _to_loopback(self, request: LegacyHttpRequest | HttpRequest) -> None:
        parts = urlsplit(request.url)
        request.headers["Host"] = parts.netloc
        request.url = urlunsplit(("http", self._netloc, parts.path, parts.query, ""))

    def send(self, request: LegacyHttpRequest | HttpRequest, **kwargs: Any) -> Any:
        """Rewrite the request's URL to the emulator (after the client signed it), then send it."""
        self._to_loopback(request)
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
