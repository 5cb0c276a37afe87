"""A realistic ``RecordingFileStatusUpdated`` delivery for the ingress benchmark.

Shaped like today's service and the shared sample: Event Grid schema, a JSON array of one,
the long subject form with serverCallId and recordingId, storage URLs on ``*.asm.skype.com``.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any


def _b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def realistic_event(*, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    call_id = str(uuid.uuid4())
    document_id = f"0-eus-d6-{uuid.uuid4().hex}"
    server_call_id = _b64url(
        f"https://api.flightproxy.skype.com/api/v2/cpc/conversations/{uuid.uuid4()}?i=10"
    )
    recording_id = _b64url(f'{{"PlatformEndpointId":"{uuid.uuid4()}","ResourceSpecificId":"{uuid.uuid4()}"}}')
    base = f"https://us-storage.asm.skype.com/v1/objects/{document_id}"
    start = now - timedelta(minutes=8)
    return [
        {
            "id": str(uuid.uuid4()),
            "topic": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-voice"
            "/providers/Microsoft.Communication/communicationServices/acs-contoso",
            "subject": f"/recording/call/{call_id}/serverCallId/{server_call_id}/recordingId/{recording_id}",
            "data": {
                "recordingStorageInfo": {
                    "recordingChunks": [
                        {
                            "documentId": document_id,
                            "index": 0,
                            "endReason": "SessionEnded",
                            "contentLocation": f"{base}/content/video",
                            "metadataLocation": f"{base}/content/acsmetadata",
                            "deleteLocation": base,
                        }
                    ]
                },
                "recordingStartTime": start.isoformat().replace("+00:00", "Z"),
                "recordingDurationMs": 431250,
                "sessionEndReason": "CallEnded",
                "recordingContentType": "AudioVideo",
                "recordingChannelType": "Mixed",
                "recordingFormatType": "Mp4",
            },
            "eventType": "Microsoft.Communication.RecordingFileStatusUpdated",
            "dataVersion": "1.0",
            "metadataVersion": "1",
            "eventTime": now.isoformat().replace("+00:00", "Z"),
        }
    ]
