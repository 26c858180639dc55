"""One plane or a batch of planes: where that is decided, once.

:func:`outpaint_source` is what ``outpaint_layer`` and the command line
call with a validated source: with *planes* it runs a batch into one nD
result, else it outpaints the one *plane*. Either way the same per-plane
step runs, with the same cache and spend cap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from napari_outpaint._batch.outpaint import outpaint_source_planes
from napari_outpaint._batch.result import (
    BatchProgress,
    BatchResult,
    as_event_callback,
)
from napari_outpaint._cache import (
    ConfirmCallback,
    PaidRuns,
    ResultCache,
    SpendCap,
)
from napari_outpaint._canvas import Canvas
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import Expand
from napari_outpaint._pipeline import (
    OutpaintResult,
    Source,
    check_plan,
    check_wish,
    confirm_passes,
    normalize_plane,
    outpaint_source_plane,
)
from napari_outpaint._progress import CancelToken, ProgressCallback
from napari_outpaint.engines import Engine, resolve_engine

__all__ = ['outpaint_source']


def outpaint_source(
    source: Source,
    expand: Expand | Canvas,
    *,
    plane: Sequence[int] | int | None = None,
    planes: str | Iterable[Any] | None = None,
    engine: Engine | str | None = None,
    keep_native_resolution: bool = False,
    progress: ProgressCallback | None = None,
    batch_progress: Callable[[BatchProgress], None] | None = None,
    cancel: CancelToken | None = None,
    confirm: ConfirmCallback | bool | None = None,
    concurrency: int | None = None,
    spend_cap: SpendCap | None = None,
    cache: ResultCache | None = None,
    output: Any = None,
) -> OutpaintResult | BatchResult:
    """Outpaint one plane, or a batch of planes, of *source*.

    Parameters
    ----------
    source : Source
        From :func:`~napari_outpaint._pipeline.source.prepare_source`.
    expand : Expand or Canvas
        A Canvas that takes several paid passes needs *confirm*.
    plane : sequence of int or int, optional
        The one plane (required for nD data without *planes*).
    planes : 'all' or iterable, optional
        A batch (see :func:`~napari_outpaint._batch.selection.select_planes`)
        into one nD :class:`BatchResult`; *plane* is then ignored.
    engine : Engine, str or None
        See :func:`napari_outpaint.engines.resolve_engine`.
    keep_native_resolution, cancel
        As for ``outpaint_array``.
    progress : callable, optional
        ``ProgressEvent`` callback; for a batch, each report adapted by
        :func:`~napari_outpaint._batch.result.as_event_callback` (its
        fraction is the batch's), unless *batch_progress* is given.
    batch_progress : callable, optional
        Receives every :class:`BatchProgress` of a batch.
    confirm, concurrency
        The price confirmation (a batch, or a canvas of several paid
        passes) and, for a batch, the runs in flight.
    spend_cap, cache
        Default: the session's cap, ``ResultCache()``.
    output : path or StoreOutput, optional
        For a batch: the ``result.zarr`` store its planes are written to
        as they arrive (see :mod:`napari_outpaint._batch.store`).

    Returns
    -------
    OutpaintResult or BatchResult
        A batch never raises for a plane's failure, a 402, a cap or a
        cancel: see ``BatchResult.outcomes`` and ``stopped_by``.
    """
    check_wish(expand)
    if planes is not None:
        report = batch_progress
        if report is None and progress is not None:
            report = as_event_callback(progress)
        return outpaint_source_planes(
            source,
            expand,
            planes=planes,
            engine=engine,
            keep_native_resolution=keep_native_resolution,
            cache=cache,
            concurrency=concurrency,
            confirm=confirm,
            spend_cap=spend_cap,
            progress=report,
            cancel=cancel,
            output=output,
        )
    if output is not None:
        raise InvalidInputError(
            'output',
            'a zarr output holds a batch: pass planes= (e.g. '
            "planes='all'), or drop output= for one plane.",
        )
    index = normalize_plane(plane, source.lead_shape)
    plan = check_plan(source, expand)
    resolved = resolve_engine(engine)
    confirm_passes(plan, resolved, confirm)
    return outpaint_source_plane(
        source,
        index,
        expand,
        resolved,
        keep_native_resolution=keep_native_resolution,
        progress=progress,
        cancel=cancel,
        paid=PaidRuns(cache=cache, spend_cap=spend_cap),
    )
