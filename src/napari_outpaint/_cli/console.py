"""Messages and progress of the command line: stderr lines and a bar."""

from __future__ import annotations

import shutil
import threading
from typing import Any, TextIO

from napari_outpaint._progress import ProgressEvent, Stage


class Console:
    """Messages and progress on stderr; written paths on stdout.

    Safe to call from the worker threads that report progress.
    """

    def __init__(self, out: TextIO, err: TextIO, *, quiet: bool) -> None:
        self.out = out
        self.err = err
        self.quiet = quiet
        self.tty = bool(getattr(err, 'isatty', lambda: False)())
        self._line_open = False
        self._lock = threading.Lock()

    def say(self, text: str) -> None:
        """A line on stderr (suppressed by --quiet)."""
        if not self.quiet:
            self._write(self.err, text + '\n')

    def error(self, text: str) -> None:
        """An error line on stderr (never suppressed)."""
        self._write(self.err, f'napari-outpaint: error: {text}\n')

    def result(self, text: str) -> None:
        """A written path on stdout."""
        self._write(self.out, text + '\n')

    def bar(self, label: str, fraction: float | None, note: str) -> None:
        """A progress bar redrawn in place on a terminal."""
        if self.quiet or not self.tty:
            return
        width = 24
        filled = round(width * min(max(fraction or 0.0, 0.0), 1.0))
        pct = f'{100 * fraction:3.0f}%' if fraction is not None else ' ...'
        line = f'{label} [{"#" * filled}{"." * (width - filled)}] {pct}'
        columns = shutil.get_terminal_size((100, 24)).columns - 1
        with self._lock:
            self.err.write('\r' + f'{line} {note}'[:columns].ljust(columns))
            self.err.flush()
            self._line_open = True

    def _write(self, stream: TextIO, text: str) -> None:
        with self._lock:
            if self._line_open:  # end the progress bar's line first
                self.err.write('\n')
                self._line_open = False
            stream.write(text)
            stream.flush()


class ProgressPrinter:
    """Turns engine progress events into stderr lines and a bar."""

    def __init__(self, console: Console, label: str) -> None:
        self.console = console
        self.label = label
        self._stage: Stage | None = None
        self._run_id: str | None = None
        self._fraction: float | None = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.run_id and event.run_id != self._run_id:
            self._run_id = event.run_id
            self.console.say(
                f'{self.label}: run {event.run_id} submitted (if this '
                'process stops, collect it with `napari-outpaint collect '
                f'{event.run_id}`)'
            )
        if self.console.tty and not self.console.quiet:
            if event.fraction is not None:
                self._fraction = event.fraction
            self.console.bar(self.label, self._fraction, event.message)
        elif event.stage != self._stage:
            text = f'{self.label}: {event.stage.value}'
            if event.message:
                text += f' - {event.message}'
            self.console.say(text)
        self._stage = event.stage


class BatchPrinter:
    """Per-plane and overall progress of a stack batch."""

    def __init__(self, console: Console, label: str) -> None:
        self.console = console
        self.label = label
        self._run_ids: set[str] = set()

    def __call__(self, report: Any) -> None:
        event = report.event
        where = self.label
        if report.plane is not None:
            where += f' plane {",".join(map(str, report.plane))}'
        run_id = event.run_id if event is not None else None
        if run_id and run_id not in self._run_ids:
            self._run_ids.add(run_id)
            self.console.say(
                f'{where}: run {run_id} submitted (collect it later with '
                f'`napari-outpaint collect {run_id}`)'
            )
        note = f'{report.finished}/{report.total} planes'
        if report.failed:
            note += f', {report.failed} failed'
        if self.console.tty:
            self.console.bar(self.label, report.fraction, note)
        elif (
            event is None
            and report.message
            and (report.plane is not None or report.finished == 0)
        ):
            self.console.say(f'{self.label}: {report.message} ({note})')
