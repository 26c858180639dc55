"""Progress reporting and cooperative cancellation, shared by every engine.

Engines call a :data:`ProgressCallback` with :class:`ProgressEvent` s and
check a :class:`CancelToken` between steps. Neither knows about Qt: the
widget adapts both to napari's worker signals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from napari_outpaint._errors import OutpaintCancelled

__all__ = ['CancelToken', 'ProgressCallback', 'ProgressEvent', 'Stage']


class Stage(StrEnum):
    """The stages of one outpaint, in order."""

    PREPARING = 'preparing'
    PUBLISHING = 'publishing'
    QUEUED = 'queued'
    RUNNING = 'running'
    DOWNLOADING = 'downloading'
    FINISHING = 'finishing'
    DONE = 'done'


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report.

    Attributes
    ----------
    stage : Stage
    message : str
        Human-readable, safe to show (no secrets, no presigned URLs).
    fraction : float or None
        Progress of the whole operation in [0, 1], when known.
    run_id : str or None
        The remote run, from the moment it exists: record it to collect
        the result later if this process dies.
    """

    stage: Stage
    message: str = ''
    fraction: float | None = None
    run_id: str | None = None


ProgressCallback = Callable[[ProgressEvent], None]


class CancelToken:
    """A thread-safe cancel flag that engines check between steps.

    ``wait`` replaces ``time.sleep`` in polling loops, so a cancel ends a
    wait at once instead of at the next poll.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the operation to stop at its next cancel point."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to *seconds*; return True at once if cancelled."""
        return self._event.wait(max(0.0, seconds))

    def raise_if_cancelled(self, run_id: str | None = None) -> None:
        """Raise :class:`OutpaintCancelled` if cancelled."""
        if self._event.is_set():
            note = (
                f' Run {run_id} was already submitted: Runflow has no public '
                'cancel, so it may still complete and be billed.'
                if run_id
                else ''
            )
            raise OutpaintCancelled(f'Cancelled.{note}', run_id=run_id)
