"""Progress bars for long operator commands: bytes, rate and time left, on a terminal only.

Copying a 4-hour chunk, exporting a person's recordings or re-hashing the archive can take many
minutes; a bar says it is moving and when it will end. It is drawn with ``rich`` on standard
error, and only when standard error is a terminal and the command was not asked for JSON, so
scripts, pipes and logs see exactly what they saw before.

Callbacks may come from several threads at once (the deep fixity check hashes in parallel):
``rich`` updates its tasks under its own lock.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:  # rich is imported only when a bar is drawn: scripts and workers never pay for it
    from rich.console import Console
    from rich.progress import Progress, TaskID


def wanted(*, json_output: bool = False, stream: TextIO | None = None) -> bool:
    """Draw bars only for a person at a terminal, and never into machine-readable output."""
    target = stream if stream is not None else sys.stderr
    return not json_output and target.isatty()


class Bar:
    """One task of a progress display; a disabled bar ignores every call."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task

    def advance(self, amount: int | float) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, amount)

    def update(self, completed: int | float, total: int | float | None = None) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=completed, total=total)


def terminal() -> Console:
    """Where bars are drawn: standard error, so standard output stays the command's result."""
    from rich.console import Console

    return Console(stderr=True)


def _display(console: Console, *, count: bool) -> Progress:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    amount = MofNCompleteColumn() if count else DownloadColumn()
    columns = [TextColumn("{task.description}"), BarColumn(), amount]
    if not count:
        columns.append(TransferSpeedColumn())
    columns.append(TimeRemainingColumn())
    return Progress(*columns, console=console)


@contextmanager
def bar(
    description: str,
    *,
    total: int | float | None,
    enabled: bool,
    count: bool = False,
    console: Console | None = None,
) -> Iterator[Bar]:
    """A bar of bytes (or of items with ``count=True``) while the block runs; nothing if disabled."""
    if not enabled:
        yield Bar(None, None)
        return
    with _display(console or terminal(), count=count) as progress:
        yield Bar(progress, progress.add_task(description, total=total))


class ReadObserved(Protocol):
    """A store that reports the bytes it reads back (``ArchiveStore.on_read``)."""

    on_read: Callable[[int], None] | None


@contextmanager
def reading(store: ReadObserved, description: str, *, total: int | None, enabled: bool) -> Iterator[Bar]:
    """A bar of the bytes ``store`` reads back while the block runs (exports, deep checks)."""
    with bar(description, total=total, enabled=enabled) as shown:
        if not enabled:
            yield shown
            return
        store.on_read = shown.advance
        try:
            yield shown
        finally:
            store.on_read = None
