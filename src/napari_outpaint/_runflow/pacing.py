"""The poll budget: when runs are likely to end, and one gate for reads.

Runflow publishes no rate limit and its SDK polls every 2 s. Two objects
keep the status reads few while results are still noticed at once:

- :class:`RunDurations` learns how long runs take (create to terminal)
  from the runs seen so far, and so *when* the next run will most likely
  end: the window a :class:`~.retry.PollSchedule` polls densely.
- :class:`PollPacer` is the one scheduler of status reads for all the
  runs an engine follows at once (a batch): it grants reads earliest-due
  first, at most ``max_rate`` per second in all.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from napari_outpaint._progress import CancelToken
from napari_outpaint._runflow.http import check_deadline
from napari_outpaint._runflow.retry import Deadline

__all__ = ['PollPacer', 'RunDurations']

#: Seconds between checks of cancel and deadline while waiting a turn.
WAIT_TICK_S = 0.05


class RunDurations:
    """Recent run durations, and the window where the next run may end.

    Thread-safe. Durations are seconds from the create response to the
    run turning terminal (as estimated by the poller).

    Parameters
    ----------
    values : iterable of float, optional
        Durations seen before (e.g. read from the cache folder).
    keep : int
        How many recent durations to keep.
    """

    #: Fewest durations before a window is offered.
    min_samples = 2
    #: Widest window, in seconds, polled densely (centred on the median).
    max_width = 15.0

    def __init__(self, values: Iterable[float] = (), keep: int = 64) -> None:
        self._values: deque[float] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self.extend(values)

    def observe(self, seconds: float) -> None:
        """Record one run's duration (ignored unless finite and > 0)."""
        self.extend([seconds])

    def extend(self, values: Iterable[float]) -> None:
        """Record several durations, oldest first."""
        kept = [
            float(v)
            for v in values
            if isinstance(v, int | float)
            and not isinstance(v, bool)
            and 0 < v < 24 * 3600
        ]
        with self._lock:
            self._values.extend(kept)

    def values(self) -> list[float]:
        """The durations kept, oldest first."""
        with self._lock:
            return list(self._values)

    def window(self) -> tuple[float, float] | None:
        """Seconds after create within which the next run likely ends.

        From the 10th to the 90th percentile of the durations seen (their
        range while there are fewer than 10), widened for jitter and for
        the poller's own estimate (5% or 0.1 s before, 15% or 0.5 s
        after, whichever is more) and at most :attr:`max_width` wide; None
        until :attr:`min_samples` durations are known.
        """
        values = sorted(self.values())
        if len(values) < self.min_samples:
            return None
        if len(values) >= 10:
            deciles = statistics.quantiles(values, n=10)
            low, high = deciles[0], deciles[-1]
        else:
            low, high = values[0], values[-1]
        start = max(0.0, low - max(0.05 * low, 0.1))
        end = high + max(0.15 * high, 0.5)
        if end - start > self.max_width:
            middle = statistics.median(values)
            start = max(start, middle - self.max_width / 2)
            end = min(end, start + self.max_width)
        return start, end


class PollPacer:
    """One gate for the status reads of every run an engine follows.

    Each poll loop asks for its turn with the time its schedule wants the
    next read (:meth:`wait_turn`); the pacer grants turns earliest-due
    first and at most *max_rate* per second in all (a token bucket: up to
    *burst* reads may follow each other at once after a quiet spell), so
    a batch of many runs in flight spends no more than one poller would,
    and over any *t* seconds at most ``burst + max_rate * t`` reads go out.

    Parameters
    ----------
    max_rate : float
        Status reads per second, summed over all runs.
    burst : int
        Reads that may go out back to back after a quiet spell.
    clock : callable, optional
        A monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        max_rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not max_rate > 0:
            raise ValueError('max_rate must be > 0 reads per second')
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError('burst must be an integer >= 1 (reads)')
        self.max_rate = float(max_rate)
        self.burst = burst
        self._clock = clock
        self._condition = threading.Condition()
        self._waiting: dict[int, float] = {}
        self._tickets = itertools.count()
        self._tokens = float(burst)
        self._filled_at = clock()

    def _refill(self, now: float) -> None:
        self._tokens = min(
            float(self.burst),
            self._tokens + (now - self._filled_at) * self.max_rate,
        )
        self._filled_at = now

    def wait_turn(
        self,
        due: float,
        *,
        cancel: CancelToken,
        deadline: Deadline | None = None,
        run_id: str | None = None,
    ) -> None:
        """Block until this run may read its status (not before *due*).

        Raises
        ------
        OutpaintCancelled
            When *cancel* is cancelled (within :data:`WAIT_TICK_S`).
        RunTimeoutError
            Naming *run_id*, when *deadline* passes first.
        """
        with self._condition:
            ticket = next(self._tickets)
            self._waiting[ticket] = due
            try:
                while True:
                    cancel.raise_if_cancelled(run_id)
                    check_deadline(deadline, run_id)
                    now = self._clock()
                    self._refill(now)
                    first = min(self._waiting, key=self._order) == ticket
                    refilled = now + (1.0 - self._tokens) / self.max_rate
                    ready = max(due, refilled)
                    if first and now >= ready:
                        self._tokens -= 1.0
                        return
                    wait = ready - now if first else WAIT_TICK_S
                    self._condition.wait(min(max(wait, 0.001), WAIT_TICK_S))
            finally:
                del self._waiting[ticket]
                self._condition.notify_all()

    def _order(self, ticket: int) -> tuple[float, int]:
        return self._waiting[ticket], ticket
