"""The one validated settings model, read from environment variables at first use.

Importing ``function_app`` must work with no settings at all (the Functions host indexes the
app before any setting may exist), so nothing here runs at import time: ``load_settings`` is
called by the code that needs a setting, and its error names the setting to fix.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from archiver.acs_auth import InvalidAccessKey, decode_access_key

DEFAULT_ALLOWED_HOST_SUFFIXES: tuple[str, ...] = (
    ".asm.skype.com",
    ".asyncgw.teams.microsoft.com",
    ".gov.teams.microsoft.us",
)

# Storage names the app owns. Fixed, so that infra, the code and an operator agree on them.
JOBS_QUEUE = "recording-jobs"
POISON_QUEUE = f"{JOBS_QUEUE}-poison"
INDEX_CONTAINER = "participant-index"
REJECTED_CONTAINER = "rejected-events"
FAILURES_CONTAINER = "failed-jobs"
STAGING_CONTAINER = "archive-staging"  # in-progress copies: never the archive container
AUDIT_CONTAINER = "audit"  # append-only: every hold, clear, export, erase and replay
HOLDS_CONTAINER = "legal-holds"  # which case holds which archived object
DEADLETTER_CONTAINER = "eventgrid-deadletter"  # Event Grid writes undeliverable events here
DEFAULT_LOG_ANALYTICS_ENDPOINT = "https://api.loganalytics.io"
HOST_STORAGE = "AzureWebJobsStorage"

CommaList = Annotated[tuple[str, ...], Field(default=())]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _parse_connection_string(value: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in value.split(";"):
        if not item.strip():
            continue
        name, sep, val = item.partition("=")
        if not sep:
            raise ValueError("expected key=value pairs separated by ';'")
        parts[name.strip().lower()] = val.strip()
    return parts


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseModel):
    """Every setting the archiver reads. Field aliases are the environment variable names."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    acs_connection_string: str | None = Field(default=None, alias="ACS_CONNECTION_STRING", repr=False)
    acs_endpoint_setting: str | None = Field(default=None, alias="ACS_ENDPOINT")
    archive_storage_connection_string: str | None = Field(
        default=None, alias="ARCHIVE_STORAGE_CONNECTION_STRING", repr=False
    )
    archive_storage_account_url: str | None = Field(default=None, alias="ARCHIVE_STORAGE_ACCOUNT_URL")
    archive_container: str = Field(
        default="recordings", alias="ARCHIVE_CONTAINER", pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
    )
    allowed_source_hosts: CommaList = Field(default=(), alias="ALLOWED_SOURCE_HOSTS")
    allowed_acs_resource_ids: CommaList = Field(default=(), alias="ALLOWED_ACS_RESOURCE_IDS")
    source_retention_hours: float = Field(default=24.0, alias="SOURCE_RETENTION_HOURS", gt=0, le=24 * 30)
    at_risk_margin_minutes: float = Field(default=120.0, alias="AT_RISK_MARGIN_MINUTES", ge=0)
    delete_source_after_archive: bool = Field(default=False, alias="DELETE_SOURCE_AFTER_ARCHIVE")
    # The archive container's time-based retention, when it has one: the data plane does not
    # say how long, and an erasure must tell until when a recording is retained.
    archive_retention_days: int | None = Field(default=None, alias="ARCHIVE_RETENTION_DAYS", ge=1, le=146000)
    max_metadata_bytes: int = Field(default=1024 * 1024, alias="MAX_METADATA_BYTES", gt=0)
    copy_block_mib: int = Field(default=8, alias="COPY_BLOCK_MIB", ge=1, le=100)
    copy_concurrency: int = Field(default=4, alias="COPY_CONCURRENCY", ge=1, le=32)
    source_timeout_seconds: float = Field(default=60.0, alias="SOURCE_TIMEOUT_SECONDS", gt=0)
    lease_seconds: int = Field(default=60, alias="ARCHIVE_LEASE_SECONDS", ge=15, le=60)
    local_source_url: str | None = Field(default=None, alias="LOCAL_SOURCE_URL")
    # Reconciliation with ACS's own record of its recordings (ACSCallRecordingSummary).
    log_analytics_workspace_id: str | None = Field(
        default=None, alias="LOG_ANALYTICS_WORKSPACE_ID", pattern=r"^[0-9A-Fa-f-]{36}$"
    )
    log_analytics_endpoint: str = Field(
        default=DEFAULT_LOG_ANALYTICS_ENDPOINT, alias="LOG_ANALYTICS_ENDPOINT"
    )
    reconcile_grace_minutes: float = Field(default=60.0, alias="RECONCILE_GRACE_MINUTES", ge=0, le=24 * 60)
    host_storage_connection_string: str | None = Field(default=None, alias=HOST_STORAGE, repr=False)
    host_storage_queue_service_uri: str | None = Field(default=None, alias=f"{HOST_STORAGE}__queueServiceUri")
    host_storage_account_name: str | None = Field(default=None, alias=f"{HOST_STORAGE}__accountName")

    _split = field_validator("allowed_source_hosts", "allowed_acs_resource_ids", mode="before")(_split_list)

    @field_validator("allowed_source_hosts")
    @classmethod
    def _hosts_are_names(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        for host in hosts:
            bare = host.lstrip("*")
            if "/" in bare or ":" in bare or "@" in bare or not bare.strip("."):
                raise ValueError(f"{host!r} is not a host name or '*.suffix'")
        return tuple(h.lower() for h in hosts)

    @field_validator("archive_container")
    @classmethod
    def _container_name(cls, name: str) -> str:
        if "--" in name:
            raise ValueError("a container name cannot contain '--'")
        return name

    @field_validator("local_source_url")
    @classmethod
    def _local_source_is_loopback(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or not is_loopback_host(parts.hostname)
        ):
            raise ValueError("must be an http:// or https:// URL on a loopback address (development only)")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("log_analytics_endpoint")
    @classmethod
    def _logs_endpoint(cls, url: str) -> str:
        """https anywhere (sovereign clouds), or http on loopback only (the local query double)."""
        parts = urlsplit(url)
        local = parts.scheme == "http" and bool(parts.hostname) and is_loopback_host(parts.hostname or "")
        if not (parts.scheme == "https" and parts.hostname) and not local:
            raise ValueError("must be an https:// URL (or http:// on a loopback address, development only)")
        return f"{parts.scheme}://{parts.netloc}"

    @model_validator(mode="after")
    def _check_acs(self) -> Settings:
        if self.acs_connection_string is not None:
            parts = _parse_connection_string(self.acs_connection_string)
            if "endpoint" not in parts or "accesskey" not in parts:
                raise ValueError("ACS_CONNECTION_STRING must contain endpoint=...;accesskey=...")
            try:
                decode_access_key(parts["accesskey"])
            except InvalidAccessKey as exc:
                raise ValueError(f"ACS_CONNECTION_STRING: {exc}") from None
        return self

    # Derived values -------------------------------------------------------------------

    @property
    def acs_endpoint(self) -> str:
        """The ACS resource endpoint, from the connection string or ``ACS_ENDPOINT``."""
        raw = self.acs_endpoint_setting
        if self.acs_connection_string is not None:
            raw = _parse_connection_string(self.acs_connection_string)["endpoint"]
        if not raw:
            raise SettingsError("set ACS_CONNECTION_STRING (key auth) or ACS_ENDPOINT (identity)")
        parts = urlsplit(raw)
        secure = parts.scheme == "https" and bool(parts.hostname)
        if not secure and not (parts.scheme == "http" and self._is_local(raw)):
            raise SettingsError(f"ACS endpoint {raw!r} must be an https:// URL")
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def acs_host(self) -> str:
        """The ACS resource host that HMAC signatures and ``x-ms-host`` name."""
        return urlsplit(self.acs_endpoint).netloc

    @property
    def acs_access_key(self) -> bytes | None:
        if self.acs_connection_string is None:
            return None
        return decode_access_key(_parse_connection_string(self.acs_connection_string)["accesskey"])

    def _is_local(self, url: str) -> bool:
        return bool(self.local_source_url) and f"http://{urlsplit(url).netloc}" == self.local_source_url

    def require_archive_storage(self) -> None:
        if not (self.archive_storage_connection_string or self.archive_storage_account_url):
            raise SettingsError(
                "set ARCHIVE_STORAGE_CONNECTION_STRING or ARCHIVE_STORAGE_ACCOUNT_URL (identity)"
            )

    @property
    def log_analytics_is_local(self) -> bool:
        """The Logs query endpoint is the loopback double: no Azure credential is ever sent."""
        return self.log_analytics_endpoint.startswith("http://")

    def require_log_analytics(self) -> str:
        if not self.log_analytics_workspace_id:
            raise SettingsError(
                "set LOG_ANALYTICS_WORKSPACE_ID (the workspace's id, a GUID) to reconcile with ACS's "
                "call recording summary logs"
            )
        return self.log_analytics_workspace_id

    def require_host_storage(self) -> None:
        if not (
            self.host_storage_connection_string
            or self.host_storage_queue_service_uri
            or self.host_storage_account_name
        ):
            raise SettingsError(
                f"set {HOST_STORAGE} (connection string) or {HOST_STORAGE}__queueServiceUri / "
                f"{HOST_STORAGE}__accountName (identity) for the job queue"
            )


def setting_names() -> list[str]:
    """Every environment variable the model reads (infra tests compare this with app settings)."""
    return [field.alias for field in Settings.model_fields.values() if field.alias]


def settings_from(environ: Mapping[str, str]) -> Settings:
    """Build settings from a mapping; errors name the environment variables at fault."""
    names = set(setting_names())
    values = {name: value for name, value in environ.items() if name in names and value != ""}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            problems.append(f"{where}: {error['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """Settings from ``os.environ``, read once per process (cleared by tests with cache_clear)."""
    return settings_from(os.environ)
