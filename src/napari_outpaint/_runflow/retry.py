"""Retry, backoff and polling policy: data plus pure functions.

Nothing here does I/O or sleeps: the client asks these functions *whether*
and *how long* to wait, and waits on a
:class:`~napari_outpaint._progress.CancelToken` so a cancel ends the wait.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = [
    'DEFAULT_POLL_SCHEDULE',
    'Deadline',
    'PollSchedule',
    'RetryPolicy',
    'backoff_delay',
    'is_retryable_status',
    'parse_retry_after',
]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry one request.

    Runflow's guidance (concepts/errors): exponential backoff with jitter,
    at most 5 attempts, capped at 32 s; other 4xx are never retried.

    Attributes
    ----------
    max_attempts : int
        Attempts in all, the first one included.
    base_delay : float
        Seconds before the first retry; doubled at each further retry.
    max_delay : float
        Upper bound of the exponential delay, in seconds.
    max_retry_after : float
        A server's ``Retry-After`` is honoured up to this many seconds.
    jitter : float
        Fraction in [0, 1] of the delay that is randomised away, so that
        many clients do not retry in lockstep.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 32.0
    max_retry_after: float = 60.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError('max_attempts must be at least 1')
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError('jitter must be in [0, 1]')
        if min(self.base_delay, self.max_delay, self.max_retry_after) < 0:
            raise ValueError('delays must not be negative')


def is_retryable_status(status_code: int) -> bool:
    """Whether a GET that got *status_code* may simply be sent again."""
    return status_code in (408, 429) or status_code >= 500


def parse_retry_after(
    headers: Mapping[str, str], *, now: datetime | None = None
) -> float | None:
    """Seconds to wait according to ``Retry-After`` (or ``retry-after-ms``).

    Parameters
    ----------
    headers : Mapping[str, str]
        Response headers (case-insensitive mapping, e.g. httpx's).
    now : datetime, optional
        The current time, for HTTP-date values (default: now, UTC).

    Returns
    -------
    float or None
        Non-negative seconds, or None when absent or unparsable.
    """
    millis = _header(headers, 'retry-after-ms')
    if millis is not None:
        seconds = _finite_float(millis)
        if seconds is not None:
            return max(0.0, seconds / 1000.0)
    value = _header(headers, 'retry-after')
    if value is None:
        return None
    seconds = _finite_float(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(
    retry: int,
    policy: RetryPolicy,
    *,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number *retry* (1 for the first).

    A server's ``Retry-After`` wins, bounded by ``policy.max_retry_after``.
    Otherwise ``min(max_delay, base_delay * 2**(retry - 1))``, reduced by
    up to ``jitter`` of itself.
    """
    if retry_after is not None:
        return min(max(0.0, retry_after), policy.max_retry_after)
    exponent = min(max(retry - 1, 0), 60)
    delay = min(policy.max_delay, policy.base_delay * 2.0**exponent)
    return delay * (1.0 - policy.jitter * rand())


#: Status reads per second, over all the runs one engine follows at once.
DEFAULT_MAX_RATE = 1.8
#: Reads the pacer lets go back to back after a quiet spell: over any 30 s
#: at most ``4 + 1.8 * 30`` reads, under 2 per second.
DEFAULT_BURST = 4


@dataclass(frozen=True)
class PollSchedule:
    """Delays between status polls: start short, grow, then stay at a cap.

    A run that turns terminal is noticed on average half an interval
    later, so the interval at that moment sets the notice delay and the
    cap sets the reads per minute of a long run (``60 / cap``). The short
    start catches fast failures (bad input URL, no credit) at once. With
    a *window* (where past runs ended, from
    :class:`~napari_outpaint._runflow.pacing.RunDurations`) the schedule
    spreads :attr:`window_reads` reads over it (every ``dense`` seconds
    at most, every ``dense_min`` at least: a narrow window is a precise
    forecast, worth reading often), and grows back to the cap after it.

    Attributes
    ----------
    initial : float
        Seconds before the second poll.
    factor : float
        Growth of the delay per poll.
    cap : float
        Largest delay, in seconds.
    dense : float
        Longest delay inside the expected window (never more than ``cap``).
    dense_min : float
        Shortest delay inside the expected window (never more than
        ``dense``).
    max_rate : float or None
        Status reads per second over all the runs one engine follows at
        once (see :class:`~napari_outpaint._runflow.pacing.PollPacer`);
        None: :data:`DEFAULT_MAX_RATE`, or two reads per ``cap`` if that
        is more (a schedule faster than the default asked for it).
    burst : int
        Reads the pacer lets go back to back after a quiet spell.
    """

    #: Reads spread over the expected window (fewer when it is wide).
    window_reads = 8

    initial: float = 0.25
    factor: float = 1.5
    cap: float = 1.5
    dense: float = 0.5
    dense_min: float = 0.1
    max_rate: float | None = None
    burst: int = DEFAULT_BURST

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.cap or self.factor < 1.0:
            raise ValueError(
                'need 0 < initial <= cap and factor >= 1 for a poll schedule'
            )
        if not 0 < self.dense_min <= self.dense or not (
            self.max_rate is None or self.max_rate > 0
        ):
            raise ValueError(
                'need 0 < dense_min <= dense and max_rate > 0 (or None) for a '
                'poll schedule'
            )
        if isinstance(self.burst, bool) or not (
            isinstance(self.burst, int) and self.burst >= 1
        ):
            raise ValueError('need an integer burst >= 1 for a poll schedule')

    @property
    def reads_per_second(self) -> float:
        """The pacer's rate: ``max_rate``, or its default (see above)."""
        if self.max_rate is not None:
            return self.max_rate
        return max(DEFAULT_MAX_RATE, 2.0 / self.cap)

    def delays(self) -> Iterator[float]:
        """Yield the delay before each next poll, forever (no window)."""
        delay = self.initial
        while True:
            yield min(delay, self.cap)
            delay = min(delay * self.factor, self.cap)

    def next_delay(
        self,
        elapsed: float,
        previous: float | None,
        window: tuple[float, float] | None = None,
    ) -> float:
        """The delay before the next poll, *elapsed* s after the create.

        *previous* is the delay before the poll just made (None after the
        first). Before the *window* the delay grows as usual but stops at
        the window's start; inside it the delay is the window's width over
        :attr:`window_reads`, within ``[dense_min, dense]``; after it, it
        grows back to the cap.
        """
        grown = (
            self.initial
            if previous is None
            else min(max(previous, self.initial) * self.factor, self.cap)
        )
        if window is None:
            return grown
        start, end = window
        if elapsed + grown <= start:
            return grown
        inside = min(
            max((end - start) / self.window_reads, self.dense_min),
            self.dense,
            self.cap,
        )
        if elapsed < start:  # land on the window's start
            return max(start - elapsed, min(inside, self.initial))
        if elapsed <= end:
            return inside
        return grown

    @classmethod
    def fixed(cls, seconds: float) -> PollSchedule:
        """A constant interval (e.g. 2 s like Runflow's JS SDK)."""
        return cls(
            initial=seconds,
            factor=1.0,
            cap=seconds,
            dense=seconds,
            dense_min=seconds,
        )


#: Chosen with bench/bench_polling.py (stand-in on loopback, 2 cores):
#:
#:                        8-12 s runs: median  p90   reads  long run  batch*
#:   Runflow SDK, fixed 2 s     0.94 s  1.54 s   5.8    30/min      -
#:   previous, 0.25 -> 0.7 s    0.30 s  0.55 s  16.9    86/min  11.6/s
#:   this (learned window)      0.27 s  0.42 s  12.8    40/min   1.9/s
#:
#: (*) status reads per second, 32 planes at concurrency 8, runs of 2-6 s;
#: there the shared gate costs notice delay (median 0.39 -> 1.94 s, wall
#: 20.8 -> 26.9 s): 8 runs at 1.8 reads/s are each read every ~4 s.
DEFAULT_POLL_SCHEDULE = PollSchedule()


class Deadline:
    """One overall deadline, converted once from a relative timeout.

    Parameters
    ----------
    timeout : float
        Seconds from now.
    clock : callable, optional
        A monotonic clock (injectable for tests).
    """

    def __init__(
        self, timeout: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.timeout = float(timeout)
        self._clock = clock
        self._end = clock() + self.timeout

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self._end - self._clock())

    @property
    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self._clock() >= self._end


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.title())
    return value.strip() if isinstance(value, str) else None


def _finite_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
