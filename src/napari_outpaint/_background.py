"""A call run in a daemon thread, waited on through an Event.

Both the CLI (Ctrl-C cancels) and the local engine (a native fill that
cannot be interrupted) run blocking work this way, so the caller can
stop waiting at any moment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ['BackgroundCall']


class BackgroundCall:
    """``func()`` in a daemon thread, started by :meth:`start`.

    Wait on :attr:`done` (an Event, not ``Thread.join``: a
    KeyboardInterrupt inside ``join()`` can mark a live thread as stopped
    on Python 3.11, CPython gh-90882), then read :meth:`result`.
    """

    def __init__(self, func: Callable[[], Any], *, name: str) -> None:
        self.done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        self._func = func
        self._thread = threading.Thread(
            target=self._run, name=name, daemon=True
        )

    def start(self) -> BackgroundCall:
        """Start the thread; return self."""
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._value = self._func()
        except BaseException as exc:  # noqa: BLE001 - re-raised by result
            self._error = exc
        finally:
            self.done.set()

    @property
    def value(self) -> Any:
        """What ``func`` returned so far (None if it raised or runs)."""
        return self._value

    @property
    def error(self) -> BaseException | None:
        """What ``func`` raised, if it has."""
        return self._error

    def result(self) -> Any:
        """Return what ``func`` returned, or raise what it raised."""
        if self._error is not None:
            raise self._error
        return self._value
