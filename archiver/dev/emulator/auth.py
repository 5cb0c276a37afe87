"""Who may call the emulated service: the two ways the ACS resource accepts, for either host kind.

Which resource a request is for:

- ``x-ms-host`` when the request carries one. Requests to a *storage* host (downloads and
  deletes at ``*.asm.skype.com``) name the resource there: the SDK's ``ContentDownloader`` sets
  it to the endpoint's host, and so does the archiver's ``SourceClient``.
- Otherwise the ``Host`` header. A call to the resource's *own* endpoint (the recording API) has
  no ``x-ms-host``: the SDK's ``HMACCredentialsPolicy`` signs ``{date};{endpoint host};{hash}``
  and the request goes to that host (azure-communication-callautomation
  ``_shared/policy.py``). Besides ``--resource-host``, the emulator's own address counts as
  the resource's endpoint, so an SDK whose connection string names the emulator's
  ``http://127.0.0.1:PORT`` works as well.

Then the ``Authorization`` header:

- ``HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=...``: checked by
  ``archiver.acs_auth.verify_request`` for that host exactly as sent (the string the client
  signed), body hash and clock skew included.
- ``Bearer <token>`` (Entra ID; the SDK's ``BearerTokenCredentialPolicy``, the archiver's
  identity mode): any well-formed JWT for ``https://communication.azure.com/.default`` - three
  base64url parts, JSON header with ``alg``, JSON payload whose ``aud`` is
  ``https://communication.azure.com`` (with or without trailing slashes: the SDK asks for the
  scope ``https://communication.azure.com//.default``) and whose ``exp`` has not passed. There
  is no Entra ID here, so the signature is not verified: the point is that the client's identity
  code path runs end to end on a laptop, with any token it can get (``az login`` or a test's).

Every refusal is the documented 401 with the reason; no message ever includes a credential.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any
from urllib.parse import urlsplit

from archiver.acs_auth import verify_request
from archiver.dev.emulator.app import Emulator
from archiver.dev.emulator.errors import unauthorized
from archiver.dev.emulator.http_types import Request

AUDIENCE = "https://communication.azure.com"
SCOPE = f"{AUDIENCE}/.default"
CLOCK_SKEW_SECONDS = 300


def own_hosts(app: Emulator) -> set[str]:
    """The ``Host`` values that address this resource's own endpoint."""
    hosts = {app.config.resource_host.lower()}
    if app.url:
        port = urlsplit(app.url).port
        hosts |= {urlsplit(app.url).netloc.lower(), f"localhost:{port}"}
    return hosts


def addressed_host(app: Emulator, request: Request) -> str:
    """The resource host the request is for, as sent (what a signature covers); 401 if not ours."""
    resource = app.config.resource_host
    sent = request.headers.get("x-ms-host")
    if sent is not None:
        if sent.lower() != resource.lower():
            raise unauthorized(f"x-ms-host {sent!r} is not this ACS resource")
        return sent
    host = request.headers.get("host", "")
    if host.lower() in own_hosts(app):
        return host
    raise unauthorized(
        f"the request is for host {host!r}, not this ACS resource ({resource}); a request to a storage"
        " host must name the resource in x-ms-host"
    )


def _segment(text: str) -> Any:
    """A JWT segment's JSON value, or ``None`` if it is not base64url JSON."""
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        return None


def token_claims(token: str) -> dict[str, Any] | None:
    """The payload of a well-formed JWT (signature present but not verified), else ``None``."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    header, claims = _segment(parts[0]), _segment(parts[1])
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str) or not isinstance(claims, dict):
        return None
    return claims


def token_problem(token: str, now: float | None = None) -> str | None:
    """Why a Bearer token is not acceptable (``None`` if it is)."""
    claims = token_claims(token)
    if claims is None:
        return "the Bearer token is not a well-formed JWT (base64url JSON header, payload and a signature)"
    audience = claims.get("aud")
    if not isinstance(audience, str) or audience.rstrip("/") != AUDIENCE:
        return f"the Bearer token's audience {audience!r} is not {AUDIENCE}: request it for {SCOPE}"
    expires = claims.get("exp")
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        return "the Bearer token has no numeric exp claim"
    if expires < (time.time() if now is None else now) - CLOCK_SKEW_SECONDS:
        return "the Bearer token has expired"
    return None


HMAC = "hmac"
BEARER = "bearer"


def authenticate(app: Emulator, request: Request) -> str:
    """Raise the 401 unless the request is for this resource and carries a valid credential;
    return which kind it carried (``hmac`` or ``bearer``), for the request log."""
    host = addressed_host(app, request)
    authorization = request.headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "hmac-sha256":
        reason = verify_request(
            request.method, request.target, request.headers, acs_host=host, key=app.key, body=request.body
        )
    elif scheme.lower() == "bearer":
        reason = token_problem(credential.strip())
    else:
        reason = (
            "missing Authorization header: an HMAC-SHA256 signature (access key) or an Entra ID Bearer token"
        )
    if reason is not None:
        raise unauthorized(reason)
    return BEARER if scheme.lower() == "bearer" else HMAC
