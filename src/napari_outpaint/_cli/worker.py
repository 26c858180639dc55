"""Run work in a thread that Ctrl-C cancels cleanly."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from napari_outpaint._background import BackgroundCall
from napari_outpaint._cli.console import Console
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
    call = BackgroundCall(lambda: func(cancel), name='napari-outpaint-cli')
    try:
        call.start()  # inside the try: Ctrl-C may come at once
        while not call.done.wait(0.1):
            console.tick()  # the bar's clock runs while the engine waits
    except KeyboardInterrupt:
        cancel.cancel()
        console.say(
            'cancelling: cleaning up (Ctrl-C again to quit at once) ...'
        )
        with contextlib.suppress(KeyboardInterrupt):
            call.done.wait(CANCEL_GRACE_SECONDS)
        raise Interrupted(call.error, call.value) from None
    return call.result()
