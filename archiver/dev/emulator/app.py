"""The emulator's state: configuration, documents, calls, recordings, faults, request log, events,
callbacks."""

from __future__ import annotations

from archiver.acs_auth import decode_access_key
from archiver.dev.emulator.callbacks import CallbackSender
from archiver.dev.emulator.calls import CallRegistry
from archiver.dev.emulator.config import EmulatorConfig
from archiver.dev.emulator.documents import DocumentStore
from archiver.dev.emulator.events import EventPublisher
from archiver.dev.emulator.faults import FaultBook
from archiver.dev.emulator.recordings import RecordingStore
from archiver.dev.emulator.repeatability import StartMemory
from archiver.dev.emulator.stats import RequestLog


class Emulator:
    """Everything the request handlers share; one per server process."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.key = decode_access_key(config.access_key)
        state = config.state_dir
        state.mkdir(parents=True, exist_ok=True)
        self.documents = DocumentStore(state / "documents")
        self.calls = CallRegistry()
        self.callbacks = CallbackSender(state / "callbacks")
        self.recordings = RecordingStore(state / "recordings", on_change=self.callbacks.notify)
        self.starts = StartMemory()
        self.faults = FaultBook()
        self.log = RequestLog()
        self.publisher = EventPublisher(state, config.webhook_url, config.event_schema)
        self.public_url = config.public_url or ""  # set once the port is known
        self.url = ""  # its own http://127.0.0.1:PORT, set once listening

    def max_media_ms(self) -> int:
        return self.config.max_media_seconds * 1000
