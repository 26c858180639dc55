"""The command's streams: messages on stderr, results on stdout, one bar.

On a terminal (stderr is a TTY) progress is one ``tqdm`` bar redrawn in
place; a message printed while it is open goes above it, and an error
closes it first, so the last words are never drawn over.
"""

from __future__ import annotations

import os
import shutil
import threading
from time import monotonic
from typing import TextIO

from tqdm import tqdm

__all__ = ['Console']

#: the bar's layout: "photo: queued  40%|████      | 00:01"
BAR_FORMAT = '{desc} {percentage:3.0f}%|{bar}| {elapsed}{postfix}'
#: how often :meth:`Console.tick` redraws an idle bar (its clock)
TICK_SECONDS = 1.0


class _Bar(tqdm):
    """A tqdm bar without its monitor thread (the command refreshes it)."""

    monitor_interval = 0


class Console:
    """Messages and progress on stderr; written paths on stdout.

    Safe to call from the worker threads that report progress.

    Parameters
    ----------
    out, err : file
        Where results (paths) and messages go.
    quiet : bool
        Only errors on stderr: no messages, no bar.
    """

    def __init__(self, out: TextIO, err: TextIO, *, quiet: bool) -> None:
        self.out = out
        self.err = err
        self.quiet = quiet
        self.tty = bool(getattr(err, 'isatty', lambda: False)())
        self._bar: _Bar | None = None
        self._drawn = 0.0
        self._lock = threading.Lock()

    @property
    def bars(self) -> bool:
        """Whether progress is a bar (a terminal, not ``--quiet``)."""
        return self.tty and not self.quiet

    def say(self, text: str) -> None:
        """A line on stderr, above the bar (suppressed by --quiet)."""
        if not self.quiet:
            self._write(self.err, text + '\n')

    def error(self, text: str) -> None:
        """An error line on stderr (never suppressed); closes the bar."""
        self.close_bar()
        self._write(self.err, f'napari-outpaint: error: {text}\n')

    def result(self, text: str) -> None:
        """A written path on stdout."""
        self._write(self.out, text + '\n')

    def open_bar(self, desc: str, total: float) -> None:
        """Show a bar counting to *total* (nothing unless :attr:`bars`)."""
        if not self.bars:
            return
        with self._lock:
            if self._bar is not None:
                return
            self._bar = _Bar(
                total=total,
                desc=desc,
                file=self.err,
                bar_format=BAR_FORMAT,
                ncols=_columns(self.err),
                position=0,
                leave=True,
                mininterval=0,
                disable=False,
            )
            self._drawn = monotonic()

    def update_bar(self, desc: str, n: float | None, note: str = '') -> None:
        """Redraw the open bar: *desc*, position *n* (None: unchanged)."""
        with self._lock:
            bar = self._bar
            if bar is None:
                return
            if n is not None:
                bar.n = min(max(n, 0.0), bar.total)
            bar.set_description_str(desc, refresh=False)
            bar.set_postfix_str(note, refresh=False)
            bar.refresh(nolock=True)
            self._drawn = monotonic()

    def tick(self) -> None:
        """Redraw an idle bar now and then, so that its clock runs."""
        with self._lock:
            if self._bar is not None and (
                monotonic() - self._drawn >= TICK_SECONDS
            ):
                self._bar.refresh(nolock=True)
                self._drawn = monotonic()

    def close_bar(self) -> None:
        """Close the open bar, leaving its last state on its own line."""
        with self._lock:
            bar, self._bar = self._bar, None
            if bar is not None:
                bar.close()
                self.err.flush()

    def _write(self, stream: TextIO, text: str) -> None:
        with self._lock:
            bar = self._bar
            if bar is not None:  # the line goes above the bar
                bar.clear(nolock=True)
            stream.write(text)
            stream.flush()
            if bar is not None:
                bar.refresh(nolock=True)


def _columns(stream: TextIO) -> int:
    """The width of the terminal *stream* writes to, less one column."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        columns = 0
    if columns <= 0:  # not a terminal, or one that reports no size
        columns = shutil.get_terminal_size((100, 24)).columns
    return max(columns - 1, 20)
