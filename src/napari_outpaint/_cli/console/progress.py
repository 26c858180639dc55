"""Progress of a run or a batch: a bar on a terminal, else stage lines.

On a terminal (:attr:`Console.bars`) a run, or a whole batch, is one bar
whose description is the stage. Anywhere else (a log, a pipe, CI) each
stage change is one line, in order and never twice::

    photo: queued - Run 4f2c... queued.
    stack plane z=3 (4 of 6): downloading - Downloading run 9a1e...

The engine's own "done" is never a line: the command's closing line
(``photo: done in 2.1 s``) or a plane's outcome says it once. Messages go
through :func:`napari_outpaint._secrets.scrub` (no key, no presigned URL).
A printer is a context manager: leaving it closes the bar, and reports
arriving later (a worker still cleaning up) are dropped.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

from napari_outpaint._batch import Plane, plane_text
from napari_outpaint._cli.console.streams import Console
from napari_outpaint._progress import ProgressEvent, Stage
from napari_outpaint._secrets import scrub

__all__ = ['BatchPrinter', 'ProgressPrinter', 'plane_name', 'stage_text']

_ORDER = {stage: rank for rank, stage in enumerate(Stage)}


def stage_text(event: ProgressEvent) -> str:
    """``'queued - Run X queued.'``: the stage, then its message if any.

    A message that only repeats the stage (``'done'``) is left out.
    """
    text = event.stage.value
    message = str(scrub(event.message or '')).strip()
    if message and message.rstrip('.').lower() != text:
        text += f' - {message}'
    return text


def plane_name(plane: Plane, axes: str = '') -> str:
    """``'z=3'`` (``'t=0,z=3'``) from the letters of the plane axes.

    Without a known letter for each axis (tifffile's ``Q``), the indices
    as ``--plane`` takes them: ``'3'``.
    """
    letters = axes[: len(plane)].lower()
    if len(letters) != len(plane) or 'q' in letters:
        return plane_text(plane)
    pairs = zip(letters, plane, strict=True)
    return ','.join(f'{a}={int(i)}' for a, i in pairs)


def _advances(stage: Stage, last: Stage | None) -> bool:
    """Whether *stage* is a new stage after *last*: later, never "done".

    The engine says "done" before the pipeline's "finishing"; a stage
    that goes back (a retry) is not a new line either.
    """
    if stage is Stage.DONE:
        return False
    return last is None or _ORDER[stage] > _ORDER[last]


class _Printer:
    """What both printers share: the lock, the bar's life, run ids."""

    def __init__(self, console: Console, label: str) -> None:
        self.console = console
        self.label = label
        self._lock = threading.Lock()
        self._closed = False
        self._opened = False
        self._run_ids: set[str] = set()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the bar; later reports are dropped."""
        with self._lock:
            self._closed = True
            self.console.close_bar()

    def _bar(
        self, desc: str, n: float | None, total: float, note: str = ''
    ) -> None:
        if not self._opened:
            self._opened = True
            self.console.open_bar(desc, total)
        self.console.update_bar(desc, n, note)

    def _submitted(self, where: str, run_id: str | None) -> None:
        if run_id and run_id not in self._run_ids:
            self._run_ids.add(run_id)
            self.console.say(
                f'{where}: run {run_id} submitted (if this process stops, '
                f'collect it with `napari-outpaint collect {run_id}`)'
            )


class ProgressPrinter(_Printer):
    """One run's ``ProgressEvent`` s: a bar, or one line per stage.

    Parameters
    ----------
    console : Console
    label : str
        What the lines start with (the input's name, a run id).
    """

    def __init__(self, console: Console, label: str) -> None:
        super().__init__(console, label)
        self._stage: Stage | None = None
        self._fraction: float | None = None

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            if self._closed:
                return
            self._submitted(self.label, event.run_id)
            if event.fraction is not None:
                self._fraction = event.fraction
            advanced = _advances(event.stage, self._stage)
            if advanced:
                self._stage = event.stage
            if self.console.bars:
                desc = f'{self.label}: {(self._stage or event.stage).value}'
                self._bar(desc, self._fraction, 1.0)
            elif advanced:
                self.console.say(f'{self.label}: {stage_text(event)}')


class BatchPrinter(_Printer):
    """A batch's reports: one bar for the batch, or lines per plane.

    Parameters
    ----------
    console : Console
    label : str
        The input's name.
    planes : sequence of tuple of int
        The batch's planes, in order (``(4 of 6)`` counts in it).
    axes : str
        The letters of the plane axes (``'Z'``, ``'TZ'``), if known.
    """

    def __init__(
        self,
        console: Console,
        label: str,
        planes: Sequence[Plane],
        axes: str = '',
    ) -> None:
        super().__init__(console, label)
        self._where = {
            tuple(p): (
                f'{label} plane {plane_name(tuple(p), axes)} '
                f'({number} of {len(planes)})'
            )
            for number, p in enumerate(planes, start=1)
        }
        self._stage: dict[Plane, Stage] = {}  # planes still running
        self._started = False

    def __call__(self, report: Any) -> None:
        with self._lock:
            if self._closed:
                return
            plane = tuple(report.plane) if report.plane is not None else None
            where = self.label
            if plane is not None:
                where = self._where.get(
                    plane, f'{self.label} plane {plane_text(plane)}'
                )
            event = report.event
            self._submitted(where, event.run_id if event else None)
            if event is not None:
                self._stage_line(plane, where, event)
            elif plane is not None:  # the plane's outcome
                self._stage.pop(plane, None)
                self._outcome(plane, where, report.message)
            elif not self._started and report.message:
                self._started = True
                self.console.say(f'{self.label}: {report.message}')
            if self.console.bars:
                self._bar(
                    f'{self.label}: {self._stages(report)}',
                    report.fraction * report.total,
                    report.total,
                    f'{report.finished}/{report.total} planes'
                    + (f', {report.failed} failed' if report.failed else ''),
                )

    def _stage_line(self, plane, where: str, event: ProgressEvent) -> None:
        if _advances(event.stage, self._stage.get(plane)):
            self._stage[plane] = event.stage
            if not self.console.bars:
                self.console.say(f'{where}: {stage_text(event)}')

    def _outcome(self, plane: Plane, where: str, message: str) -> None:
        text = str(scrub(message)).removeprefix(f'plane {plane_text(plane)}: ')
        finished = text.split(' ', 1)[0] in ('done', 'cached', 'collected')
        if not (self.console.bars and finished):  # failures show above bars
            self.console.say(f'{where}: {text}')

    def _stages(self, report: Any) -> str:
        """``'2 running, 1 queued'``: how many planes are at each stage."""
        counts = Counter(self._stage.values())
        if counts:
            return ', '.join(
                f'{counts[s]} {s.value}' for s in Stage if counts[s]
            )
        if report.finished + report.failed >= report.total:
            return Stage.DONE.value
        return 'starting'
