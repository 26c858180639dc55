"""What the widget's worker thread runs, and how its progress gets back.

:func:`run_outpaint` is the body of the napari ``thread_worker``: it builds
the engine, calls the pipeline, and returns a :class:`RunOutcome` holding
either the new layers or the error the run ended with (a typed,
user-facing one or an unexpected one, logged with its traceback), so the
widget reports every failure the same way. :class:`ProgressRelay` carries
the pipeline's progress events from the worker thread to the GUI thread
through a queued Qt signal. Nothing here touches the viewer.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import napari.layers
from qtpy.QtCore import QObject, Signal

from napari_outpaint._canvas import Canvas
from napari_outpaint._errors import OutpaintError
from napari_outpaint._expand import Expand
from napari_outpaint._layers import (
    outpaint_layer,
    outpaint_layers,
    paired_mask,
)
from napari_outpaint._progress import CancelToken, ProgressCallback
from napari_outpaint.engines.choice import EngineChoice

__all__ = ['ProgressRelay', 'RunOutcome', 'RunRequest', 'run_outpaint']

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunRequest:
    """Everything one run needs, gathered on the GUI thread."""

    layer: napari.layers.Image
    expand: Expand | Canvas
    engine_choice: EngineChoice
    plane: tuple[int, ...] | None = None
    # 'all' or the plane indices of a batch (price confirmed), else None
    planes: str | tuple[tuple[int, ...], ...] | None = None
    # build the mask layer too (it will be shown); else it is built only
    # when the widget's "show mask" is ticked
    with_mask: bool = False
    # the user confirmed the price (a paid batch, or several paid passes)
    confirmed: bool = False
    # channel layers of one image to outpaint together (layer among them)
    channels: tuple[napari.layers.Image, ...] | None = None


@dataclass(frozen=True)
class RunOutcome:
    """What a run produced: a new layer (and its mask, if asked for), or
    the error it ended with (an ``OutpaintError``, or an unexpected
    ``Exception``)."""

    layer: napari.layers.Image | None = None
    mask: napari.layers.Labels | None = None
    error: Exception | None = None
    warnings: tuple[str, ...] = ()
    # channels together: every result and the layer each was made from
    # (``layer`` is the first result; ``mask`` is the image's one mask)
    results: tuple[napari.layers.Image, ...] = ()
    sources: tuple[napari.layers.Image, ...] = ()


class ProgressRelay(QObject):
    """Emits ``event(report)`` (a ``ProgressEvent``, or a batch's
    ``BatchProgress``) on the thread that created it.

    Create it on the GUI thread; :meth:`emit` may be called from any
    thread, and Qt queues the signal to the GUI thread.
    """

    event = Signal(object)

    def emit(self, progress_event: object) -> None:
        """Send one progress event (thread-safe)."""
        self.event.emit(progress_event)


def run_outpaint(
    request: RunRequest,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> RunOutcome:
    """Run the pipeline for *request*; every error is returned.

    An unexpected error (not an ``OutpaintError``) is logged with its
    traceback and returned too: the widget reports it with a way to copy
    the details, instead of napari's bare traceback notification.

    The pipeline's warnings (poor seam, misalignment) are collected into
    the outcome so the widget shows them once, as napari warnings. An
    engine built here from the plan is closed here, whatever happens; an
    engine given by the caller is left open for its owner.
    """
    try:
        engine = request.engine_choice.build()
    except Exception as exc:  # noqa: BLE001 - every failure is reported
        return _failed(exc)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always', UserWarning)
            if request.channels:
                results = tuple(
                    outpaint_layers(
                        request.channels,
                        request.expand,
                        engine=engine,
                        plane=request.plane,
                        progress=progress,
                        cancel=cancel,
                        **_batch_options(request, progress),
                    )
                )
            else:
                results = (
                    outpaint_layer(
                        request.layer,
                        request.expand,
                        engine=engine,
                        plane=request.plane,
                        progress=progress,
                        cancel=cancel,
                        **_batch_options(request, progress),
                    ),
                )
        new = results[0]
        mask = paired_mask(new) if request.with_mask else None
    except Exception as exc:  # noqa: BLE001 - every failure is reported
        return _failed(exc)
    finally:
        close = getattr(engine, 'close', None)
        if request.engine_choice.engine is None and callable(close):
            close()
    messages = tuple(
        str(w.message) for w in caught if issubclass(w.category, UserWarning)
    )
    if not request.channels:
        return RunOutcome(layer=new, mask=mask, warnings=messages)
    return RunOutcome(
        layer=new,
        mask=mask,
        warnings=messages,
        results=results,
        sources=request.channels,
    )


def _failed(exc: Exception) -> RunOutcome:
    if not isinstance(exc, OutpaintError):
        logger.error('Outpaint run failed unexpectedly', exc_info=exc)
    return RunOutcome(error=exc)


def _batch_options(
    request: RunRequest, progress: ProgressCallback | None
) -> dict:
    """Keywords for a batch over planes, and ``confirm=True`` once the
    widget confirmed the price (a batch, or a canvas of several paid
    passes). The batch's progress goes to the same callback, as
    ``BatchProgress``.
    """
    confirm = {'confirm': True} if request.confirmed else {}
    if request.planes is None:
        return confirm
    planes = request.planes
    return {
        'planes': planes if isinstance(planes, str) else list(planes),
        'confirm': True,
        'batch_progress': progress,
    }
