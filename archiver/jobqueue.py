"""The job queue between ingress and the archive workers (in the Functions host's storage).

Messages are base64 text, the Functions queue trigger's default encoding. A job that must wait
(the source said "later", or our credentials are wrong) is put back as a NEW message with a
visibility delay and the current one acknowledged: the wait costs no dequeue count, so a
slow source never pushes a healthy job into the poison queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from datetime import timedelta

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, QueueMessage, TextBase64DecodePolicy, TextBase64EncodePolicy

from archiver.jobs import RecordingJob
from archiver.settings import JOBS_QUEUE, POISON_QUEUE, Settings

MAX_VISIBILITY_DELAY = timedelta(days=7) - timedelta(seconds=1)


def _queue_client(settings: Settings, name: str) -> QueueClient:
    settings.require_host_storage()
    encode, decode = TextBase64EncodePolicy(), TextBase64DecodePolicy()
    if settings.host_storage_connection_string:
        return QueueClient.from_connection_string(
            settings.host_storage_connection_string,
            name,
            message_encode_policy=encode,
            message_decode_policy=decode,
        )
    from azure.identity import DefaultAzureCredential

    account_url = settings.host_storage_queue_service_uri or (
        f"https://{settings.host_storage_account_name}.queue.core.windows.net"
    )
    return QueueClient(
        account_url,
        name,
        credential=DefaultAzureCredential(),
        message_encode_policy=encode,
        message_decode_policy=decode,
    )


class JobQueue:
    """The jobs queue and its poison queue."""

    def __init__(self, jobs: QueueClient, poison: QueueClient) -> None:
        self.jobs = jobs
        self.poison = poison
        self._ensured = False

    @classmethod
    def from_settings(cls, settings: Settings) -> JobQueue:
        return cls(_queue_client(settings, JOBS_QUEUE), _queue_client(settings, POISON_QUEUE))

    def ensure(self) -> None:
        if self._ensured:
            return
        for queue in (self.jobs, self.poison):
            with suppress(ResourceExistsError):
                queue.create_queue()
        self._ensured = True

    def put(self, job: RecordingJob, *, delay_seconds: float = 0) -> None:
        self.ensure()
        delay = int(min(max(delay_seconds, 0), MAX_VISIBILITY_DELAY.total_seconds()))
        self.jobs.send_message(job.to_message(), visibility_timeout=delay or None, time_to_live=-1)

    def poisoned(self, *, limit: int = 256) -> Iterator[QueueMessage]:
        """Messages the host gave up on, hidden for a minute while we redrive them."""
        self.ensure()
        taken = 0
        while taken < limit:
            batch = list(
                self.poison.receive_messages(messages_per_page=32, max_messages=32, visibility_timeout=60)
            )
            if not batch:
                return
            for message in batch:
                taken += 1
                yield message

    def close(self) -> None:
        self.jobs.close()
        self.poison.close()
