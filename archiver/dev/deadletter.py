"""Dead-letter blobs exactly as Event Grid writes them, for the demo and the tests.

Development only (never deployed). Event Grid writes undeliverable events to the subscription's
dead-letter container as ``{SUBSCRIPTION NAME IN UPPER CASE}/{yyyy}/{m}/{d}/{h}/{guid}.json``
(UTC, date parts not zero-padded): a JSON array of the events as published, each with the
delivery fields added. Event Grid schema: ``deadLetterReason``, ``deliveryAttempts``,
``lastDeliveryOutcome``, ``publishTime``, ``lastDeliveryAttemptTime``. CloudEvents 1.0 schema:
the same fields in lower case, as extension attributes. Source: Microsoft's "Event Grid message
delivery and retry" (*Dead-letter events*, *Delivery event formats*) and "Set dead-letter
location and retry policy" (the blob name).
"""

from __future__ import annotations

import json
import uuid
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import ContainerClient, ContentSettings

SUBSCRIPTION = "archiver-recording-file-status"  # the deployment's (infra/subscription.bicep)


def _time(value: datetime) -> str:
    """Event Grid's own timestamp form: seven fractional digits and ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def dead_lettered(
    event: dict[str, Any],
    *,
    reason: str = "MaxDeliveryAttemptsExceeded",
    attempts: int = 30,
    outcome: str = "Unauthorized",
    published: datetime | None = None,
    last_attempt: datetime | None = None,
) -> dict[str, Any]:
    """``event`` (either schema) with the fields Event Grid adds when it gives up on it."""
    last = last_attempt or datetime.now(UTC)
    added = {
        "deadLetterReason": reason,
        "deliveryAttempts": attempts,
        "lastDeliveryOutcome": outcome,
        "publishTime": _time(published or last - timedelta(minutes=5)),
        "lastDeliveryAttemptTime": _time(last),
    }
    if "specversion" in event:  # CloudEvents: extension attributes are lower case
        added = {key.lower(): value for key, value in added.items()}
    return {**event, **added}


def blob_name(subscription: str = SUBSCRIPTION, at: datetime | None = None) -> str:
    """``{SUBSCRIPTION}/{yyyy}/{m}/{d}/{h}/{guid}.json``, the date parts not zero-padded."""
    when = (at or datetime.now(UTC)).astimezone(UTC)
    return f"{subscription.upper()}/{when.year}/{when.month}/{when.day}/{when.hour}/{uuid.uuid4()}.json"


def write_dead_letter(
    container: ContainerClient,
    events: list[dict[str, Any]],
    *,
    subscription: str = SUBSCRIPTION,
    **delivery: Any,
) -> str:
    """Write one dead-letter blob holding ``events``; returns its name."""
    with suppress(ResourceExistsError):  # Azurite: infra creates it in Azure
        container.create_container()
    name = blob_name(subscription)
    body = json.dumps([dead_lettered(event, **delivery) for event in events]).encode("utf-8")
    container.upload_blob(name, body, content_settings=ContentSettings(content_type="application/json"))
    return name
