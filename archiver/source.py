"""The ACS download client: authentication, allowlist, ranges, retries, on httpx.

Every request goes through ``_send``, which checks the URL against the allowlist before any
credential is attached and again on every redirect hop. httpx and HTTP-status errors are
translated here, once, into ``archiver.errors``; nothing above this module sees httpx.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from archiver.acs_auth import sign_headers
from archiver.errors import (
    ConfigurationError,
    InvalidMetadata,
    PermanentError,
    SourceMissing,
    SourceNotAllowed,
    SourceUnavailable,
)
from archiver.settings import Settings
from archiver.transport import SourceTransport
from archiver.urls import check_source_url

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

log = logging.getLogger("archiver.source")

ACS_SCOPE = "https://communication.azure.com/.default"
MAX_REDIRECTS = 5
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter, for failures inside one job attempt."""

    attempts: int = 5
    base_seconds: float = 0.5
    cap_seconds: float = 8.0
    max_retry_after_seconds: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        backoff: float = min(self.cap_seconds, self.base_seconds * 2**attempt) * random.uniform(0.5, 1.0)
        return max(backoff, min(retry_after or 0.0, self.max_retry_after_seconds))


def redact(url: str) -> str:
    """Host and path only: queries can hold SAS tokens, which must never reach a log."""
    parts = urlsplit(url)
    return f"{parts.hostname}{parts.path}"


class _LocalRoutingTransport(httpx.BaseTransport):
    """Development only: send requests for allowed hosts to the local emulator instead.

    The request keeps its original URL for signing and its original ``Host`` header; only the
    connection goes to the loopback address named by ``LOCAL_SOURCE_URL``.

    With an ``https://`` ``LOCAL_SOURCE_URL`` (the emulator's ``--tls``) the request stays
    https and TLS names the original host (SNI), so the certificate is verified against the
    production name, as in Azure: what is measured or tested is the production TLS path, not
    a shortcut. Trust comes from the environment (``SSL_CERT_FILE`` naming the emulator's
    CA); verification is never turned off. Connections are pooled by the loopback address, so
    one verified for one allowed host may carry a request for another: all of them are the
    one local emulator.
    """

    def __init__(self, inner: httpx.BaseTransport, local_url: str) -> None:
        self._inner = inner
        self._local = httpx.URL(local_url)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._local.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": request.url.host}
        request.url = request.url.copy_with(
            scheme=self._local.scheme, host=self._local.host, port=self._local.port
        )
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def transport_failure(exc: httpx.TransportError, url: str, *, where: str = "") -> SourceUnavailable:
    """The one translation of an httpx transport error (never its text: it may carry a URL)."""
    if isinstance(exc, httpx.TimeoutException):
        return SourceUnavailable(f"{redact(url)} timed out ({type(exc).__name__})", reason="timeout")
    return SourceUnavailable(f"{redact(url)}: {type(exc).__name__}{where}", reason="connection_error")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _is_html(response: httpx.Response) -> bool:
    return "html" in response.headers.get("content-type", "").lower()


def _raise_for_status(response: httpx.Response, url: str) -> None:
    """Translate a non-success answer into the error that says what to do about it."""
    status = response.status_code
    where = redact(url)
    if status in (200, 206):
        if _is_html(response):
            raise SourceUnavailable(f"{where} answered {status} with an HTML page", reason="html_body")
        return
    if status in (401, 403):
        raise ConfigurationError(
            f"{where} refused our credentials ({status}): check ACS_CONNECTION_STRING (access key "
            "of the ACS resource that recorded the call) or, with ACS_ENDPOINT, that the app's "
            "managed identity has a role on that ACS resource",
            reason=f"source_http_{status}",
        )
    if status == 404:
        raise SourceMissing(f"{where} answered 404", retry_after=60.0)
    if status in (408, 429) or status >= 500:
        raise SourceUnavailable(
            f"{where} answered {status}",
            reason=f"source_http_{status}",
            retry_after=_retry_after(response),
        )
    if status == 400 and _is_html(response):
        # A known service quirk: an HTML 400 that succeeds on a later attempt.
        raise SourceUnavailable(f"{where} answered 400 with an HTML page", reason="source_http_400_html")
    raise PermanentError(f"{where} answered {status}", reason=f"source_http_{status}")


class SourceClient:
    """Reads recording media and metadata from ACS with credentials that never leave the allowlist."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        credential: TokenCredential | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._key = settings.acs_access_key
        self._acs_host = settings.acs_host
        self._credential = credential
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        inner: httpx.BaseTransport = transport or SourceTransport(
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8)
        )
        if settings.local_source_url:
            inner = _LocalRoutingTransport(inner, settings.local_source_url)
        timeout = httpx.Timeout(settings.source_timeout_seconds, connect=10.0)
        self._http = httpx.Client(transport=inner, timeout=timeout, follow_redirects=False)
        # Told (position, total) as media bytes arrive, so that a command can show progress.
        self.on_media: Callable[[int, int | None], None] | None = None

    def __enter__(self) -> SourceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # Authentication -----------------------------------------------------------------------

    def _auth_headers(self, method: str, url: str) -> dict[str, str]:
        if self._key is not None:
            return sign_headers(method, url, acs_host=self._acs_host, key=self._key)
        if self._credential is None:
            from azure.identity import DefaultAzureCredential  # slow import: only when needed

            self._credential = DefaultAzureCredential()
        token = self._credential.get_token(ACS_SCOPE).token
        return {"Authorization": f"Bearer {token}", "x-ms-host": self._acs_host}

    # One request, redirects followed by hand so that each hop is checked -------------------

    def _send(self, method: str, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        for _ in range(MAX_REDIRECTS + 1):
            check_source_url(url, self._settings)
            request_headers = {
                "Accept-Encoding": "identity",
                **(headers or {}),
                **self._auth_headers(method, url),
            }
            try:
                request = self._http.build_request(method, url, headers=request_headers)
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                raise transport_failure(exc, url) from None
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = response.headers.get("location", "")
            response.close()
            target = urljoin(url, location)
            try:
                check_source_url(target, self._settings)
            except SourceNotAllowed as exc:
                raise SourceNotAllowed(
                    f"{redact(url)} redirected to a host off the allowlist; not followed: {exc}",
                    reason="redirect_not_allowed",
                ) from None
            log.info("source redirect from=%s to=%s", redact(url), redact(target))
            url = target
        raise SourceUnavailable(
            f"more than {MAX_REDIRECTS} redirects from {redact(url)}", reason="redirect_loop"
        )

    def with_retries(self, what: Callable[[], T], url: str) -> T:
        """The client's one retry loop: ``what`` again after each ``SourceUnavailable``.

        The server's Retry-After is honoured (capped) for HTTP answers only; a connection that
        failed says nothing about when to come back.
        """
        for attempt in range(self._retry.attempts):
            try:
                return what()
            except SourceUnavailable as exc:
                if attempt + 1 >= self._retry.attempts:
                    raise
                delay = self._retry.delay(
                    attempt, exc.retry_after if exc.reason.startswith("source_http") else None
                )
                log.warning(
                    "source retry url=%s reason=%s attempt=%d delay=%.1fs",
                    redact(url),
                    exc.reason,
                    attempt + 1,
                    delay,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")

    # Public operations --------------------------------------------------------------------

    def fetch_small(self, url: str, *, max_bytes: int) -> bytes:
        """A whole small document (the metadata file), refusing anything over ``max_bytes``."""

        def attempt() -> bytes:
            with closing(self._send("GET", url)) as response:
                _raise_for_status(response, url)
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                    raise InvalidMetadata(
                        f"metadata is {declared} bytes, more than MAX_METADATA_BYTES={max_bytes}",
                        reason="metadata_too_large",
                    )
                body = bytearray()
                try:
                    for piece in response.iter_bytes(64 * 1024):
                        body += piece
                        if len(body) > max_bytes:
                            raise InvalidMetadata(
                                f"metadata is more than MAX_METADATA_BYTES={max_bytes} bytes",
                                reason="metadata_too_large",
                            )
                except httpx.TransportError as exc:
                    raise transport_failure(exc, url) from None
                if declared is not None and declared.isdigit() and int(declared) != len(body):
                    raise SourceUnavailable(
                        f"{redact(url)}: body shorter than Content-Length", reason="short_body"
                    )
                if not body:
                    raise SourceUnavailable(
                        f"{redact(url)} answered with an empty body", reason="empty_body", retry_after=60.0
                    )
                return bytes(body)

        return self.with_retries(attempt, url)

    def open_media(self, url: str, *, offset: int = 0) -> MediaDownload:
        return MediaDownload(self, url, offset)

    def delete(self, url: str) -> None:
        with closing(self._send("DELETE", url)) as response:
            if response.status_code == 404:
                return
            if response.status_code not in (200, 202, 204):
                _raise_for_status(response, url)


class MediaDownload:
    """The bytes of one media file from ``offset`` to the end, resumed by Range after failures.

    ``total`` is known once the first response arrives (Content-Length or Content-Range) and
    the iterator checks that exactly ``total - offset`` bytes arrive; a short or empty body is
    an error, never a silently truncated archive.
    """

    def __init__(self, client: SourceClient, url: str, offset: int) -> None:
        self._client = client
        self._url = url
        self.offset = offset
        self.position = offset
        self.total: int | None = None
        self.requests = 0
        self._first: httpx.Response | None = None

    def _open(self) -> httpx.Response:
        headers = {"Range": f"bytes={self.position}-"} if self.position else {}
        self.requests += 1
        response = self._client._send("GET", self._url, headers)
        try:
            _raise_for_status(response, self._url)
            total = self._total_from(response)
        except BaseException:
            response.close()
            raise
        if total == 0:  # the service's "empty first download" quirk: never a real size
            response.close()
            raise SourceUnavailable(
                f"{redact(self._url)} answered with 0 bytes", reason="empty_body", retry_after=60.0
            )
        if self.total is not None and total is not None and total != self.total:
            response.close()
            raise SourceUnavailable(
                f"{redact(self._url)} changed size while downloading", reason="size_changed"
            )
        self.total = total if total is not None else self.total
        return response

    def _total_from(self, response: httpx.Response) -> int | None:
        if response.status_code == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
            if not match or int(match[1]) != self.position:
                raise SourceUnavailable(
                    f"{redact(self._url)}: Content-Range does not match the Range asked", reason="bad_range"
                )
            return int(match[3]) if match[3] != "*" else None
        length = response.headers.get("content-length")
        return int(length) if length is not None and length.isdigit() else None

    def open(self) -> None:
        """Make the first request now, so that ``total`` is known before any byte is consumed."""
        if self._first is None:
            self._first = self._open_with_retries()

    def close(self) -> None:
        if self._first is not None:
            self._first.close()
            self._first = None

    def _open_with_retries(self) -> httpx.Response:
        return self._client.with_retries(self._open, self._url)

    def __iter__(self) -> Iterator[bytes]:
        """The bytes from ``offset`` to the end; a body cut short is resumed with Range."""
        response = self._first or self._open_with_retries()
        self._first = None
        failures = 0
        policy = self._client._retry
        while True:
            try:
                yield from self._body(response)
                self._check_complete()
                return
            except (httpx.TransportError, SourceUnavailable) as exc:
                failures += 1
                if failures >= policy.attempts:
                    if isinstance(exc, SourceUnavailable):
                        raise
                    raise transport_failure(exc, self._url, where=" mid-body") from None
                delay = policy.delay(failures - 1)
                log.warning(
                    "source resume url=%s at=%d reason=%s delay=%.1fs",
                    redact(self._url),
                    self.position,
                    getattr(exc, "reason", type(exc).__name__),
                    delay,
                )
                self._client._sleep(delay)
                response = self._open_with_retries()

    def _body(self, response: httpx.Response) -> Iterator[bytes]:
        """One response's bytes past ``position`` (a server that ignored Range sends them all)."""
        skip = self.position if response.status_code == 200 else 0
        with closing(response):
            for received in response.iter_bytes():
                piece = received
                if skip:
                    cut = min(skip, len(piece))
                    piece, skip = piece[cut:], skip - cut
                    if not piece:
                        continue
                self.position += len(piece)
                if self._client.on_media is not None:
                    self._client.on_media(self.position, self.total)
                yield piece

    def _check_complete(self) -> None:
        """After a body ended: done, or an error saying why not (short bodies are resumed)."""
        if self.total is None or self.position == self.total:
            if self.position == 0:
                raise SourceUnavailable(
                    f"{redact(self._url)}: empty body", reason="empty_body", retry_after=60.0
                )
            self.total = self.position
            return
        if self.position > self.total:
            raise PermanentError(
                f"{redact(self._url)} sent more bytes than it announced", reason="overlong_body"
            )
        raise SourceUnavailable(f"{redact(self._url)}: body ended early", reason="short_body")
