"""The shared state of one running batch of planes.

:class:`RateGate` (a 429 pauses every worker), :class:`BatchState`
(stop reason, progress) and :class:`HeavyPhase` (how many planes
convert pixels at once) are shared by the worker threads of
:func:`napari_outpaint._batch.outpaint.outpaint_planes`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from napari_outpaint._batch.result import BatchProgress
from napari_outpaint._batch.selection import Plane
from napari_outpaint._errors import OutpaintError
from napari_outpaint._progress import CancelToken

__all__ = ['BatchState', 'HeavyPhase', 'NewRunsStopped', 'RateGate']


class RateGate:
    """A gate all workers pass before a new run; a 429 closes it for all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reopen_at = 0.0
        self.closures = 0

    def close_for(self, seconds: float) -> None:
        """Keep every worker from starting a run for *seconds*."""
        with self._lock:
            self._reopen_at = max(self._reopen_at, time.monotonic() + seconds)
            self.closures += 1

    def wait(self, cancel: CancelToken) -> None:
        """Return once the gate is open; raise if cancelled meanwhile."""
        while True:
            with self._lock:
                remaining = self._reopen_at - time.monotonic()
            if remaining <= 0:
                return
            if cancel.wait(remaining):
                cancel.raise_if_cancelled()


class NewRunsStopped(OutpaintError):
    """Internal: the batch stopped new runs before this plane's run."""


class BatchState:
    """The shared state of one running batch."""

    def __init__(self, total, progress, cancel):
        self.lock = threading.Lock()
        self.total = total
        self.progress = progress
        self.cancel = cancel
        self.gate = RateGate()
        self.stop_error: BaseException | None = None
        self.finished = 0
        self.failed = 0
        self.fractions: dict[Plane, float] = {}

    def stop(self, error: BaseException) -> None:
        with self.lock:
            if self.stop_error is None:
                self.stop_error = error

    def before_run(self) -> None:
        """Called by the CachingEngine right before a paid run.

        The CachingEngine then reserves the run's price against the spend
        cap, as it does for single runs.
        """
        self.cancel.raise_if_cancelled()
        if self.stop_error is not None:
            raise NewRunsStopped(str(self.stop_error))
        self.gate.wait(self.cancel)
        if self.stop_error is not None:
            raise NewRunsStopped(str(self.stop_error))

    def report(self, plane, event, message='') -> None:
        if self.progress is None:
            return
        with self.lock:
            if plane is not None and event and event.fraction is not None:
                self.fractions[plane] = float(event.fraction)
            done = self.finished + self.failed
            running = sum(self.fractions.values())
            fraction = min(1.0, (done + running) / max(1, self.total))
            self.progress(
                BatchProgress(
                    plane,
                    event,
                    self.finished,
                    self.failed,
                    self.total,
                    fraction,
                    message or (event.message if event else ''),
                )
            )

    def count(self, plane, ok: bool) -> None:
        with self.lock:
            self.fractions.pop(plane, None)
            if ok:
                self.finished += 1
            else:
                self.failed += 1


class HeavyPhase:
    """Bound how many planes convert pixels (CPU, memory) at once.

    A worker holds a slot while the pipeline prepares its plane and while
    it maps the result back, and gives the slot up while the engine waits
    on the network (or a cluster). So many runs are in flight, but only a
    few planes' intermediates exist at any moment: this keeps a big
    stack's peak memory near its own size and flat in the number of
    planes (bench/bench_batch.py, bench/bench_batch_memory.py). An engine
    that computes here (``computes_here()``: the local engine without a
    cluster) keeps the slot through its call, since its working memory
    is held for all of it: :meth:`around_engine` says which.
    """

    def __init__(self, slots: threading.Semaphore) -> None:
        self.slots = slots
        self.held = False

    def acquire(self) -> None:
        if not self.held:
            self.slots.acquire()
            self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.slots.release()

    def around_engine(
        self, engine: object
    ) -> Callable[[], contextlib.AbstractContextManager[None]]:
        """What to enter around *engine*'s call: :meth:`outside` (give
        the slot up) for an engine that waits elsewhere, nothing for one
        that computes here."""
        computes_here = getattr(engine, 'computes_here', None)
        if callable(computes_here) and computes_here():
            return contextlib.nullcontext
        return self.outside

    @contextlib.contextmanager
    def outside(self) -> Iterator[None]:
        """Give the slot up for the duration of the block."""
        self.release()
        try:
            yield
        finally:
            self.acquire()
