"""``outpaint_layer`` for scripts and notebooks, without blocking the viewer.

:func:`submit_outpaint_layer` runs :func:`~napari_outpaint.outpaint_layer`
in a worker thread and returns an :class:`OutpaintFuture` at once;
:func:`outpaint_layer_async` awaits the same in ``asyncio`` code. With
``viewer=``, the new layer is added to the viewer on the GUI thread (a
queued Qt call), so the viewer keeps drawing while the run goes on. This
lives in ``_qt`` because that last step needs Qt.

Runs start in order, at most :data:`MAX_RUNNING` at a time; a worker
thread ends as soon as no run waits, so none is left after the last run.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import napari
import napari.layers
from superqt.utils import ensure_main_thread

from napari_outpaint._canvas import Canvas
from napari_outpaint._expand import Expand
from napari_outpaint._layers import outpaint_layer, plane_shown
from napari_outpaint._progress import CancelToken, ProgressCallback
from napari_outpaint.engines import Engine

__all__ = [
    'MAX_RUNNING',
    'THREAD_NAME',
    'OutpaintFuture',
    'outpaint_layer_async',
    'submit_outpaint_layer',
]

#: Background runs in flight at once; later ones wait, in order.
MAX_RUNNING = 2
#: Worker threads are named ``'<THREAD_NAME>-<n>'``.
THREAD_NAME = 'napari-outpaint-run'


class OutpaintFuture(Future):
    """A :class:`concurrent.futures.Future` of a new layer that can stop.

    :meth:`cancel` works at any time: a run that has not started never
    starts (``result()`` raises ``concurrent.futures.CancelledError``); a
    running one is asked to stop through its :class:`CancelToken` and
    ``result()`` raises :class:`~napari_outpaint.OutpaintCancelled` once
    it has (at its next cancel point: a poll wait, a step, a plane).
    """

    def __init__(self, cancel_token: CancelToken) -> None:
        super().__init__()
        self.cancel_token = cancel_token

    def cancel(self) -> bool:
        """Stop the run; True only if it had not started (standard Future)."""
        if self.done():
            return False
        self.cancel_token.cancel()
        return super().cancel()


class _Runner:
    """Runs queued calls on at most *limit* threads that end when idle."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._queue: deque[tuple[Future, Callable[[], Any]]] = deque()
        self._workers = 0
        self._names = itertools.count(1)

    def submit(self, future: Future, call: Callable[[], Any]) -> None:
        """Queue *call*; its outcome is set on *future*."""
        with self._lock:
            self._queue.append((future, call))
            if self._workers >= self._limit:
                return
            self._workers += 1
            name = f'{THREAD_NAME}-{next(self._names)}'
        threading.Thread(target=self._work, name=name, daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._workers -= 1
                    return
                future, call = self._queue.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                value = call()
            except BaseException as exc:  # noqa: BLE001 - set on the future
                future.set_exception(exc)
            else:
                future.set_result(value)


_RUNNER = _Runner(MAX_RUNNING)


@ensure_main_thread
def _add_on_gui_thread(
    viewer: napari.Viewer, layer: napari.layers.Image
) -> None:
    viewer.add_layer(layer)


def submit_outpaint_layer(
    layer: napari.layers.Image,
    expand: Expand | Canvas,
    *,
    viewer: napari.Viewer | None = None,
    engine: Engine | str | None = None,
    plane: Sequence[int] | int | None = None,
    keep_native_resolution: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    planes: str | Sequence[Sequence[int] | int] | None = None,
    confirm: bool | Callable[[str], bool] | None = None,
    concurrency: int | None = None,
) -> OutpaintFuture:
    """Start :func:`~napari_outpaint.outpaint_layer` in a worker thread.

    Returns at once; the viewer's event loop keeps running. Call from
    any thread.

    Parameters
    ----------
    layer, expand, engine, plane, keep_native_resolution
        As in :func:`~napari_outpaint.outpaint_layer`.
    planes, confirm, concurrency
        As in :func:`~napari_outpaint.outpaint_layer`. A ``confirm``
        callable and *progress* are called from the worker thread.
    viewer : napari.Viewer, optional
        Add the new layer to this viewer, on the GUI thread, as soon as
        its event loop runs (the future may resolve first).
    progress : callable, optional
        Called with each :class:`~napari_outpaint.ProgressEvent`, from the
        worker thread: touch no widget in it.
    cancel : CancelToken, optional
        Also stops the run; ``future.cancel()`` fires it.

    Returns
    -------
    OutpaintFuture
        Resolves to the new layer, or raises what ``outpaint_layer``
        would have raised.
    """
    if plane is None and planes is None and layer.ndim > 2:
        # read on the calling thread, while the viewer shows this plane
        plane = plane_shown(layer)
    future = OutpaintFuture(cancel if cancel is not None else CancelToken())

    def run() -> napari.layers.Image:
        new = outpaint_layer(
            layer,
            expand,
            engine=engine,
            plane=plane,
            keep_native_resolution=keep_native_resolution,
            progress=progress,
            cancel=future.cancel_token,
            planes=planes,
            confirm=confirm,
            concurrency=concurrency,
        )
        if viewer is not None:
            _add_on_gui_thread(viewer, new)
        return new

    _RUNNER.submit(future, run)
    return future


async def outpaint_layer_async(
    layer: napari.layers.Image,
    expand: Expand | Canvas,
    **options: Any,
) -> napari.layers.Image:
    """Await :func:`~napari_outpaint.outpaint_layer` in ``asyncio`` code.

    Takes the arguments of :func:`submit_outpaint_layer`, ``viewer=``
    included, and runs in its worker thread. Cancelling the awaiting task
    stops the run (through its :class:`CancelToken`).

    Returns
    -------
    napari.layers.Image
        The new layer.
    """
    return await asyncio.wrap_future(
        submit_outpaint_layer(layer, expand, **options)
    )
