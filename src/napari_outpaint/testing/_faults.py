"""Faults queued by a test, consumed by the next matching requests."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

__all__ = [
    'DROP_CONNECTION',
    'ERROR_CODES',
    'STEPS',
    'Faults',
    'Rejection',
    'RunEnding',
    'RunFailure',
]

#: The ``code`` Runflow sends with each HTTP status.
ERROR_CODES = {
    400: 'BAD_REQUEST',
    401: 'UNAUTHORIZED',
    402: 'INSUFFICIENT_CREDIT',
    403: 'PERMISSION_DENIED',
    404: 'NOT_FOUND',
    405: 'METHOD_NOT_ALLOWED',
    409: 'CONFLICT',
    422: 'VALIDATION_ERROR',
    429: 'RATE_LIMITED',
    500: 'INTERNAL_ERROR',
    502: 'BAD_GATEWAY',
    503: 'SERVICE_UNAVAILABLE',
    504: 'GATEWAY_TIMEOUT',
}


#: The request steps :meth:`Faults.add_step_failures` can fail, by route.
STEPS = ('upload-session', 'upload', 'confirm', 'download')

#: A step "status" meaning: close the connection without any response.
DROP_CONNECTION = 0


@dataclass(frozen=True)
class Rejection:
    """An error response to send instead of doing the work."""

    status: int
    code: str
    retry_after: float | None = None


@dataclass(frozen=True)
class RunFailure:
    """How the next run fails."""

    failure_code: str
    failure_message: str


@dataclass(frozen=True)
class RunEnding:
    """How the next run ends, other than ``succeeded`` or ``failed``.

    Attributes
    ----------
    status : str
        ``'canceled'``, ``'cancelled'`` or ``'partial_succeeded'``.
    with_output : bool
        Whether the run shows an output URL (``partial_succeeded`` only).
    """

    status: str
    with_output: bool = False


class Faults:
    """Thread-safe queues of injected faults.

    Each ``take_*`` method atomically consumes one pending fault of its
    kind and returns it, or returns None / False when none is pending.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._polls: deque[Rejection | str] = deque()
        self._creates: deque[Rejection] = deque()
        self._batch_creates: deque[Rejection] = deque()
        self._drops = 0
        self._asset_deletes: deque[Rejection] = deque()
        self._run_failures: deque[RunFailure] = deque()
        self._corrupt_outputs = 0
        self._endings: deque[RunEnding] = deque()
        self._steps: dict[str, deque[Rejection]] = {s: deque() for s in STEPS}
        self._stalls: deque[tuple[float, threading.Event]] = deque()
        #: How ``GET /v1/runs?q=`` treats filters (see ``set_run_search``).
        self.run_search = 'both'
        #: Set when the stand-in stops: ends every stall at once.
        self.released = threading.Event()

    def add_step_failures(
        self, step: str, rejection: Rejection, times: int
    ) -> None:
        with self._lock:
            self._steps[step].extend([rejection] * times)

    def take_step_failure(self, step: str) -> Rejection | None:
        with self._lock:
            queue = self._steps[step]
            return queue.popleft() if queue else None

    def add_stalls(self, seconds: float, times: int) -> threading.Event:
        begun = threading.Event()
        with self._lock:
            self._stalls.extend([(seconds, begun)] * times)
        return begun

    def take_stall(self) -> tuple[float, threading.Event] | None:
        with self._lock:
            return self._stalls.popleft() if self._stalls else None

    def add_poll_failures(self, rejection: Rejection, times: int) -> None:
        with self._lock:
            self._polls.extend([rejection] * times)

    def add_invalid_json_polls(self, times: int) -> None:
        with self._lock:
            self._polls.extend(['invalid-json'] * times)

    def take_poll(self) -> Rejection | str | None:
        with self._lock:
            return self._polls.popleft() if self._polls else None

    def add_create_rejections(self, rejection: Rejection, times: int) -> None:
        with self._lock:
            self._creates.extend([rejection] * times)

    def take_create_rejection(self) -> Rejection | None:
        with self._lock:
            return self._creates.popleft() if self._creates else None

    def add_batch_rejections(self, rejection: Rejection, times: int) -> None:
        with self._lock:
            self._batch_creates.extend([rejection] * times)

    def take_batch_rejection(self) -> Rejection | None:
        with self._lock:
            queue = self._batch_creates
            return queue.popleft() if queue else None

    def add_dropped_creates(self, times: int) -> None:
        with self._lock:
            self._drops += times

    def take_dropped_create(self) -> bool:
        with self._lock:
            if self._drops:
                self._drops -= 1
                return True
            return False

    def add_asset_delete_failures(
        self, rejection: Rejection, times: int
    ) -> None:
        with self._lock:
            self._asset_deletes.extend([rejection] * times)

    def take_asset_delete_failure(self) -> Rejection | None:
        with self._lock:
            if self._asset_deletes:
                return self._asset_deletes.popleft()
            return None

    def add_run_failure(self, failure: RunFailure) -> None:
        with self._lock:
            self._run_failures.append(failure)

    def take_run_failure(self) -> RunFailure | None:
        with self._lock:
            if self._run_failures:
                return self._run_failures.popleft()
            return None

    def add_run_ending(self, ending: RunEnding) -> None:
        with self._lock:
            self._endings.append(ending)

    def take_run_ending(self) -> RunEnding | None:
        with self._lock:
            return self._endings.popleft() if self._endings else None

    def add_corrupt_output(self) -> None:
        with self._lock:
            self._corrupt_outputs += 1

    def take_corrupt_output(self) -> bool:
        with self._lock:
            if self._corrupt_outputs:
                self._corrupt_outputs -= 1
                return True
            return False


def check_times(times: int) -> int:
    """Validate a ``times`` argument."""
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f'times must be a positive int, got {times!r}')
    return times
