"""HMAC-SHA256 request signing for ACS, shared by the download client and the emulator.

One implementation serves both sides so that the emulator verifies exactly what the client
signs; a test proves both agree with the official SDK's ``HMACCredentialsPolicy``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import urlsplit

SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"
EMPTY_BODY_SHA256 = base64.b64encode(hashlib.sha256(b"").digest()).decode("ascii")


class InvalidAccessKey(ValueError):
    """The access key is not valid base64; raised before any request is signed."""


def decode_access_key(access_key: str) -> bytes:
    try:
        key = base64.b64decode(access_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidAccessKey("the ACS access key is not valid base64") from exc
    if not key:
        raise InvalidAccessKey("the ACS access key is empty")
    return key


def path_and_query(url: str) -> str:
    """The part of ``url`` that is signed: path plus ``?query`` when there is one (as the SDK)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def string_to_sign(method: str, url: str, date: str, acs_host: str, content_sha256: str) -> str:
    return f"{method.upper()}\n{path_and_query(url)}\n{date};{acs_host};{content_sha256}"


def compute_signature(key: bytes, value: str) -> str:
    return base64.b64encode(hmac.new(key, value.encode("utf-8"), hashlib.sha256).digest()).decode()


def http_date(now: datetime | None = None) -> str:
    """RFC 1123 date as ACS expects in ``x-ms-date``."""
    moment = now or datetime.now(UTC)
    return formatdate(moment.timestamp(), usegmt=True)


def sign_headers(
    method: str,
    url: str,
    *,
    acs_host: str,
    key: bytes,
    body: bytes = b"",
    date: str | None = None,
) -> dict[str, str]:
    """Headers that authenticate a request to ``url`` for the ACS resource ``acs_host``.

    The signature covers the ACS *resource* host, not the storage host in ``url``; the request
    therefore also names the resource in ``x-ms-host``.
    """
    stamp = date or http_date()
    body_hash = base64.b64encode(hashlib.sha256(body).digest()).decode() if body else EMPTY_BODY_SHA256
    signature = compute_signature(key, string_to_sign(method, url, stamp, acs_host, body_hash))
    return {
        "x-ms-date": stamp,
        "x-ms-content-sha256": body_hash,
        "x-ms-host": acs_host,
        "Authorization": f"HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature={signature}",
    }


def verify_request(
    method: str,
    url: str,
    headers: dict[str, str],
    *,
    acs_host: str,
    key: bytes,
    body: bytes = b"",
    max_skew_seconds: int = 900,
    now: datetime | None = None,
) -> str | None:
    """Check an incoming request's HMAC signature; return ``None`` if valid, else why not.

    ``headers`` must have lower-case names. Used by the emulator, so it is strict about the
    same things the service is: signed header list, body hash, date skew, the resource host.
    """
    auth = headers.get("authorization", "")
    prefix = f"HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature="
    if not auth.startswith(prefix):
        return "missing or malformed HMAC-SHA256 Authorization header"
    date = headers.get("x-ms-date", "")
    if not date:
        return "missing x-ms-date"
    try:
        sent = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return "unparseable x-ms-date"
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    skew = abs(((now or datetime.now(UTC)) - sent).total_seconds())
    if skew > max_skew_seconds:
        return "x-ms-date is outside the allowed clock skew"
    body_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    if headers.get("x-ms-content-sha256") != body_hash:
        return "x-ms-content-sha256 does not match the body"
    expected = compute_signature(key, string_to_sign(method, url, date, acs_host, body_hash))
    if not hmac.compare_digest(expected, auth[len(prefix) :]):
        return "signature mismatch"
    return None
