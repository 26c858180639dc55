"""The runs this invocation submitted, so that every way out can name them.

Whatever ends the command (an error, Ctrl-C twice, SIGTERM, a bug), the
runs that were submitted but whose result is not yet stored may still be
billed: the command's last words name each one with the command that
collects it. A run is "not yet stored" while it is in the pending journal
(:class:`napari_outpaint._cache.RunJournal`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from napari_outpaint._cache import ResultCache
from napari_outpaint._progress import ProgressEvent

__all__ = ['RUNS_ATTRIBUTE', 'SubmittedRuns', 'collect_hint']

#: the attribute an exception carries the unsettled run ids on
RUNS_ATTRIBUTE = 'napari_outpaint_runs'


class SubmittedRuns:
    """Run ids seen in progress events (thread-safe)."""

    def __init__(self) -> None:
        self._seen: list[str] = []
        self._lock = threading.Lock()

    def _add(self, run_id: str | None) -> None:
        if run_id:
            with self._lock:
                if run_id not in self._seen:
                    self._seen.append(run_id)

    @property
    def seen(self) -> list[str]:
        """Every run id reported so far, in order."""
        with self._lock:
            return list(self._seen)

    def watch(
        self, callback: Callable[[ProgressEvent], None]
    ) -> Callable[[ProgressEvent], None]:
        """*callback*, also recording the run id of each event."""

        def watched(event: ProgressEvent) -> None:
            self._add(event.run_id)
            callback(event)

        return watched

    def watch_batch(
        self, callback: Callable[[Any], None]
    ) -> Callable[[Any], None]:
        """A batch progress *callback*, also recording run ids."""

        def watched(report: Any) -> None:
            event = getattr(report, 'event', None)
            self._add(getattr(event, 'run_id', None))
            callback(report)

        return watched

    def unsettled(self, cache: ResultCache | None = None) -> list[str]:
        """The runs whose result is not stored yet (still journaled).

        When the journal cannot be read, every run seen: better to name a
        run twice than to lose one.
        """
        seen = self.seen
        if not seen:
            return []
        try:
            journal = (cache or ResultCache()).journal
            return [r for r in seen if journal.get(r) is not None]
        except Exception:  # noqa: BLE001 - a broken cache must not hide runs
            return seen

    def mark(self, exc: BaseException) -> BaseException:
        """Attach the unsettled run ids to *exc* (see :func:`collect_hint`)."""
        setattr(exc, RUNS_ATTRIBUTE, self.unsettled())
        return exc


def collect_hint(exc: BaseException, already_said: str = '') -> str:
    """`` Run X may still be billed: collect it with ...`` for *exc*.

    Empty when no unsettled run is known, or every one is named in
    *already_said* (the message printed before it).
    """
    runs = list(getattr(exc, RUNS_ATTRIBUTE, None) or ())
    cause_run = getattr(getattr(exc, 'cause', None), 'run_id', None)
    if cause_run and cause_run not in runs:
        runs.append(cause_run)
    runs = [r for r in runs if r not in already_said]
    if not runs:
        return ''
    if len(runs) == 1:
        return (
            f' Run {runs[0]} was submitted and may still be billed: collect '
            f'it with `napari-outpaint collect {runs[0]}`.'
        )
    listed = ', '.join(runs)
    return (
        f' Runs {listed} were submitted and may still be billed: collect '
        'each with `napari-outpaint collect RUN_ID`.'
    )
