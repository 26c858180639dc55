"""SIGTERM and SIGHUP end the command the way Ctrl-C does.

A terminal that closes (SIGHUP), ``kill``, a job scheduler's time limit or
``docker stop`` (SIGTERM) would otherwise end the process at once: no
cancel, no clean-up, and no word of the run that may still be billed.
Inside :func:`signals_interrupt` they raise :class:`KeyboardInterrupt` in
the main thread, so every way out goes through the same path as Ctrl-C:
the run is cancelled, the hosted image cleaned up, and the unsettled run
named with the command that collects it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ['INTERRUPTING_SIGNALS', 'signals_interrupt']

#: the signals handled like Ctrl-C (SIGHUP does not exist on Windows)
INTERRUPTING_SIGNALS = tuple(
    getattr(signal, name)
    for name in ('SIGTERM', 'SIGHUP')
    if hasattr(signal, name)
)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """Handle SIGTERM and SIGHUP like Ctrl-C while the block runs.

    The previous handlers come back afterwards. Outside the main thread
    (where Python cannot set handlers, e.g. ``main()`` embedded in a
    worker) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        sig: signal.signal(sig, _interrupt) for sig in INTERRUPTING_SIGNALS
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
