"""Run work in a thread that Ctrl-C cancels cleanly."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from napari_outpaint._cli_console import Console
from napari_outpaint._progress import CancelToken

CANCEL_GRACE_SECONDS = 30.0


class Interrupted(Exception):
    """Ctrl-C: the run was asked to cancel (and has cleaned up)."""

    def __init__(self, cause: BaseException | None, value: Any = None) -> None:
        super().__init__('interrupted')
        self.cause = cause
        self.value = value


def run_cancellable(
    func: Callable[[CancelToken], Any],
    cancel: CancelToken,
    console: Console,
) -> Any:
    """Run *func* in a worker; Ctrl-C cancels it and waits for cleanup.

    Raises :class:`Interrupted` after Ctrl-C, carrying what the worker
    returned or raised once cancelled (a batch returns its finished
    planes).
    """
    box: dict[str, Any] = {}
    # An Event, not Thread.join: a KeyboardInterrupt inside join() can mark
    # a live thread as stopped on Python 3.11 (CPython gh-90882).
    done = threading.Event()

    def target() -> None:
        try:
            box['value'] = func(cancel)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            box['error'] = exc
        finally:
            done.set()

    worker = threading.Thread(
        target=target, name='napari-outpaint-cli', daemon=True
    )
    try:
        worker.start()
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        cancel.cancel()
        console.say(
            'cancelling: cleaning up (Ctrl-C again to quit at once) ...'
        )
        with contextlib.suppress(KeyboardInterrupt):
            done.wait(CANCEL_GRACE_SECONDS)
        raise Interrupted(box.get('error'), box.get('value')) from None
    if 'error' in box:
        raise box['error']
    return box['value']
