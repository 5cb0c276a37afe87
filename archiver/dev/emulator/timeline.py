"""When a recording was active or paused, and how its media splits into chunks.

The media covers active time only; pauses are reported in the metadata with their wall-clock
start and real duration, and marked in the audio by a short silence where they happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from archiver.dev.emulator.clock import milliseconds

END_REASON_MORE = "ChunkMaximumSizeExceeded"
END_REASON_LAST = "SessionEnded"


@dataclass(frozen=True)
class Pause:
    started_at: datetime
    ended_at: datetime  # the resume, or the stop of a recording stopped while paused

    @property
    def duration_ms(self) -> int:
        return milliseconds(self.started_at, self.ended_at)


@dataclass(frozen=True)
class Timeline:
    started_at: datetime
    stopped_at: datetime
    pauses: tuple[Pause, ...]

    def active_ms(self) -> int:
        total = milliseconds(self.started_at, self.stopped_at)
        return max(0, total - sum(p.duration_ms for p in self.pauses))

    def media_offsets_ms(self) -> tuple[int, ...]:
        """Where each pause falls in the media: the active time recorded before it."""
        offsets: list[int] = []
        paused = 0
        for pause in self.pauses:
            offsets.append(milliseconds(self.started_at, pause.started_at) - paused)
            paused += pause.duration_ms
        return tuple(offsets)

    def wall_time_at(self, media_ms: int) -> datetime:
        """The wall-clock moment at which the media reached ``media_ms``."""
        moment = self.started_at + timedelta(milliseconds=media_ms)
        for pause, offset in zip(self.pauses, self.media_offsets_ms(), strict=True):
            if offset <= media_ms:
                moment += timedelta(milliseconds=pause.duration_ms)
        return moment


@dataclass(frozen=True)
class ChunkPlan:
    """One chunk's share of the media and of the pauses."""

    index: int
    start_ms: int
    duration_ms: int
    start_time: datetime
    end_reason: str
    pauses: tuple[Pause, ...]
    pause_marks_ms: tuple[int, ...]  # offsets of those pauses inside this chunk's media


def plan_chunks(timeline: Timeline, media_ms: int, count: int) -> list[ChunkPlan]:
    """Split ``media_ms`` of media evenly into ``count`` chunks (only the last ends the session)."""
    offsets = timeline.media_offsets_ms()
    plans: list[ChunkPlan] = []
    for index in range(count):
        start = media_ms * index // count
        end = media_ms * (index + 1) // count
        last = index == count - 1
        mine = [
            (pause, offset)
            for pause, offset in zip(timeline.pauses, offsets, strict=True)
            if start <= min(offset, media_ms - 1) < end  # late pauses go to the last chunk
        ]
        plans.append(
            ChunkPlan(
                index=index,
                start_ms=start,
                duration_ms=end - start,
                start_time=timeline.wall_time_at(start),
                end_reason=END_REASON_LAST if last else END_REASON_MORE,
                pauses=tuple(pause for pause, _ in mine),
                pause_marks_ms=tuple(offset - start for _, offset in mine if offset < end),
            )
        )
    return plans
