"""What a burst consists of: each recording's size, format, participants and arrival time.

Pure and seeded, so that two runs with the same options archive the same mix and the figures
can be compared; nothing here talks to a service. ``host_settings`` reads ``host.json`` so
that the workers pull from the queue exactly as the deployed host is configured to.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archiver.dev.stack import PROJECT_ROOT

MIB = 1024 * 1024
MIN_SIZE = 1024  # a recording has at least a header's worth of bytes

# (contentType, channelType, format): every combination ACS produces (the emulator's seed API).
KINDS: tuple[tuple[str, str, str], ...] = (
    ("audioVideo", "mixed", "mp4"),
    ("audio", "mixed", "mp3"),
    ("audio", "mixed", "wav"),
    ("audio", "unmixed", "wav"),
)

# The queue listener's documented defaults, used when host.json does not set a value.
DEFAULT_BATCH_SIZE = 16
DEFAULT_MAX_DEQUEUE_COUNT = 5
DEFAULT_MAX_POLLING_SECONDS = 60.0
DEFAULT_VISIBILITY_SECONDS = 0.0
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class PlannedRecording:
    """One recording of the burst; ``at`` is when its event arrives, seconds after the start."""

    index: int
    size: int
    content_type: str
    channel_type: str
    format: str
    participants: int
    at: float
    big: bool

    @property
    def kind(self) -> str:
        return f"{self.content_type}/{self.channel_type}/{self.format}"


@dataclass(frozen=True)
class PlanOptions:
    recordings: int
    median_bytes: int
    sigma: float
    big: int
    big_bytes: int
    window_seconds: float
    seed: int


def lognormal_size(rng: random.Random, median_bytes: int, sigma: float) -> int:
    """A size whose logarithm is normal around ``ln(median)``: most near it, a long tail above."""
    return max(MIN_SIZE, round(rng.lognormvariate(math.log(median_bytes), sigma)))


def make_plan(options: PlanOptions) -> list[PlannedRecording]:
    """The burst's recordings in index order; arrivals uniform over the window, seeded."""
    if options.big > options.recordings:
        raise ValueError("--big cannot exceed --recordings")
    rng = random.Random(options.seed)
    big = set(rng.sample(range(options.recordings), options.big))
    planned = []
    for index in range(options.recordings):
        content_type, channel_type, fmt = KINDS[rng.randrange(len(KINDS))]
        size = lognormal_size(rng, options.median_bytes, options.sigma)
        planned.append(
            PlannedRecording(
                index=index,
                size=options.big_bytes if index in big else size,
                content_type=content_type,
                channel_type=channel_type,
                format=fmt,
                participants=rng.randint(2, 5 if channel_type == "unmixed" else 4),
                at=rng.uniform(0.0, options.window_seconds),
                big=index in big,
            )
        )
    return planned


def timespan_seconds(value: object, default: float) -> float:
    """A .NET TimeSpan from host.json (``[d.]hh:mm:ss[.fff]``) in seconds."""
    if not isinstance(value, str):
        return default
    match = _TIMESPAN.match(value.strip())
    if match is None:
        raise ValueError(f"host.json: {value!r} is not a TimeSpan")
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@dataclass(frozen=True)
class HostQueueSettings:
    """``extensions.queues`` of host.json: how one host instance pulls queue messages."""

    batch_size: int
    new_batch_threshold: int
    max_dequeue_count: int
    visibility_timeout_seconds: float
    max_polling_seconds: float

    @property
    def max_in_flight(self) -> int:
        return self.batch_size + self.new_batch_threshold

    def to_json(self) -> dict[str, Any]:
        return {
            "batchSize": self.batch_size,
            "newBatchThreshold": self.new_batch_threshold,
            "maxDequeueCount": self.max_dequeue_count,
            "visibilityTimeout_s": self.visibility_timeout_seconds,
            "maxPollingInterval_s": self.max_polling_seconds,
        }


def host_settings(path: Path = PROJECT_ROOT / "host.json") -> HostQueueSettings:
    """The queue settings the deployed app runs with (defaults as the host documents them)."""
    queues = json.loads(path.read_text(encoding="utf-8")).get("extensions", {}).get("queues", {})
    batch = int(queues.get("batchSize", DEFAULT_BATCH_SIZE))
    return HostQueueSettings(
        batch_size=batch,
        new_batch_threshold=int(queues.get("newBatchThreshold", batch // 2)),
        max_dequeue_count=int(queues.get("maxDequeueCount", DEFAULT_MAX_DEQUEUE_COUNT)),
        visibility_timeout_seconds=timespan_seconds(
            queues.get("visibilityTimeout"), DEFAULT_VISIBILITY_SECONDS
        ),
        max_polling_seconds=timespan_seconds(queues.get("maxPollingInterval"), DEFAULT_MAX_POLLING_SECONDS),
    )
