"""One plane of an array, outpainted and placed in world.

:func:`outpaint_array` validates its arguments into a
:class:`~napari_outpaint._pipeline.source.Source` and hands one plane to
:func:`outpaint_source_plane`, the step every caller shares (a batch calls
it for each of its planes with the same source): pick the plane -> put a
paid engine behind the cache -> :func:`outpaint_plane` (8-bit view,
engine, back to the dtype, alignment check, seam score) -> place the
result in world -> provenance -> the cache entry, written once. The
original is never modified.

The result keeps the input's ndim: the non-spatial axes of the plane are
kept as length-1 axes placed at that plane, so ``napari.layers.Image(
result.data, **result.layer_kwargs())`` sits exactly over the original.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from napari_outpaint._cache import (
    ConfirmCallback,
    PaidRuns,
    caching_engine,
    estimate_cost,
    is_confirmed,
    price_of,
)
from napari_outpaint._canvas import Canvas, CanvasPlan
from napari_outpaint._errors import BudgetError, InvalidInputError
from napari_outpaint._expand import Expand
from napari_outpaint._imaging import place_result
from napari_outpaint._pipeline import provenance as _provenance
from napari_outpaint._pipeline.memory import check_plane_fits
from napari_outpaint._pipeline.passes import (
    check_wish,
    outpaint_planned,
    plan_for,
)
from napari_outpaint._pipeline.plane import PlaneResult, outpaint_plane
from napari_outpaint._pipeline.source import Source, prepare_source
from napari_outpaint._pipeline.validate import normalize_plane
from napari_outpaint._progress import (
    CancelToken,
    ProgressCallback,
    ProgressEvent,
    Stage,
)
from napari_outpaint.engines import Engine, EngineResult, resolve_engine

__all__ = [
    'RESULT_SUFFIX',
    'OutpaintResult',
    'PlaneResult',
    'check_adds_pixels',
    'check_plan',
    'confirm_passes',
    'emit_warnings',
    'outpaint_array',
    'outpaint_plane',
    'outpaint_source_plane',
]

logger = logging.getLogger(__name__)

#: Appended to the source's name to name its result.
RESULT_SUFFIX = ' [outpainted]'


@dataclass(frozen=True, eq=False)
class OutpaintResult:
    """An outpainted plane, placed in world, with its provenance.

    Attributes
    ----------
    data : numpy.ndarray
        Source dtype; the input's ndim, with the plane's non-spatial axes
        kept as length-1 axes.
    mask : numpy.ndarray
        bool, the layer's shape (no colour axis): True = generated pixel.
    scale, translate : tuple of float
        Full layer ndim.
    affine : numpy.ndarray
        ``(ndim + 1, ndim + 1)``, the original's (identity if none).
    provenance : dict
        JSON-serialisable record (see
        :mod:`napari_outpaint._pipeline.provenance`).
    engine_result : EngineResult
    rotate, shear : numpy.ndarray or None
        The original's, when given.
    rgb : bool
    contrast_limits : (float, float)
    gamma : float
    name : str
        ``'<source> [outpainted]'``.
    """

    data: np.ndarray
    mask: np.ndarray
    scale: tuple[float, ...]
    translate: tuple[float, ...]
    affine: np.ndarray
    provenance: dict[str, Any]
    engine_result: EngineResult
    rotate: np.ndarray | None = None
    shear: np.ndarray | None = None
    rgb: bool = False
    contrast_limits: tuple[float, float] = (0.0, 1.0)
    gamma: float = 1.0
    name: str = 'image' + RESULT_SUFFIX
    warnings: tuple[str, ...] = field(default=())

    def layer_kwargs(self) -> dict[str, Any]:
        """Keywords for ``napari.layers.Image(self.data, **kwargs)``.

        ``metadata`` holds ``'outpaint'`` (the provenance) and
        ``'outpaint_mask'`` (the mask).
        """
        kwargs: dict[str, Any] = {
            'name': self.name,
            'scale': self.scale,
            'translate': self.translate,
            'affine': self.affine,
            'rgb': self.rgb,
            'contrast_limits': self.contrast_limits,
            'gamma': self.gamma,
            'metadata': {
                'outpaint': self.provenance,
                'outpaint_mask': self.mask,
            },
        }
        if self.rotate is not None:
            kwargs['rotate'] = self.rotate
        if self.shear is not None:
            kwargs['shear'] = self.shear
        return kwargs


def outpaint_array(
    data: Any,
    expand: Expand | Canvas,
    *,
    engine: Engine | str | None = None,
    plane: Sequence[int] | int | None = None,
    rgb: bool | None = None,
    contrast_limits: Sequence[float] | None = None,
    gamma: float = 1.0,
    scale: Sequence[float] | None = None,
    translate: Sequence[float] | None = None,
    affine: Any = None,
    rotate: Any = None,
    shear: Any = None,
    keep_native_resolution: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    source_name: str | None = None,
    confirm: ConfirmCallback | bool | None = None,
) -> OutpaintResult:
    """Outpaint one plane of *data*; numpy in, placed result out.

    Parameters
    ----------
    data : array-like or list of array-like
        ``(..., rows, cols)`` or ``(..., rows, cols, 3|4)``; numpy, dask,
        zarr (only the plane is read); a list is a multiscale pyramid
        (level 0 is used).
    expand : Expand or Canvas
        An ``Expand`` is one Runflow request (0-80 % per side). A
        ``Canvas`` (exact pixels, world units, a target shape, an aspect
        ratio, any percentage) is planned as passes and cropped to exactly
        the wish (see :func:`napari_outpaint.plan_canvas`).
    engine : Engine, str or None
        See :func:`napari_outpaint.engines.resolve_engine`.
    plane : sequence of int or int, optional
        Indices on the leading (non-spatial) axes; required for nD data.
    rgb : bool, optional
        Whether the last axis is colour; guessed (last axis 3 or 4 and
        ndim >= 3) when None.
    contrast_limits : (float, float), optional
        The 8-bit window; default: see
        :func:`~napari_outpaint._imaging.convert.default_contrast_limits`.
    gamma : float
    scale, translate, affine, rotate, shear
        The data's napari transform (layer ndim = data ndim - rgb);
        ``Canvas.world`` needs *scale* (or *affine*).
    keep_native_resolution : bool
        Keep the engine's resolution (the original pixels are then not
        pasted back) instead of the original's grid.
    progress, cancel
        Progress events and cooperative cancel.
    source_name : str, optional
        Recorded in provenance and used to name the result.
    confirm : bool or callable, optional
        A paid plan of more than one pass runs only with ``True`` or a
        callable shown the :class:`~napari_outpaint.CostEstimate` that
        returns True.

    Returns
    -------
    OutpaintResult

    Raises
    ------
    InvalidInputError
        Before any engine call, naming the offending argument.
    BudgetError
        Before anything is sent, when a paid run would exceed the session
        spend cap (:func:`napari_outpaint.session_spend_cap`, set by
        ``NAPARI_OUTPAINT_SPEND_CAP_USD`` or the settings file; off by
        default), or a paid plan
        of several passes is not confirmed. Answers from the cache are
        free.
    """
    started = time.perf_counter()
    check_wish(expand)
    if (
        isinstance(expand, Canvas)
        and expand.measure == 'world'
        and scale is None
        and affine is None
    ):
        raise InvalidInputError(
            'scale',
            'Canvas.world needs the pixel size: give scale= (world units '
            'per pixel, one per axis), or use Canvas.pixels.',
        )
    source = prepare_source(
        data,
        rgb=rgb,
        contrast_limits=contrast_limits,
        gamma=gamma,
        scale=scale,
        translate=translate,
        affine=affine,
        rotate=rotate,
        shear=shear,
        name=source_name,
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
        started=started,
    )


def check_plan(source: Source, expand: Expand | Canvas) -> CanvasPlan:
    """Everything about a plane of *source* that fails before any work:
    the wish can be planned, every pass adds pixels, and every pass's path
    fits in memory. Returns the plan."""
    plan = plan_for(source, expand)
    for step in plan.passes:
        check_adds_pixels(step.expand, (step.height, step.width))
        check_plane_fits(
            (step.height, step.width),
            step.expand,
            dtype=np.dtype(source.data.dtype),
            channels=source.channels,
            max_pixels=source.max_pixels,
        )
    return plan


def confirm_passes(
    plan: CanvasPlan,
    engine: Engine,
    confirm: ConfirmCallback | bool | None,
    *,
    n_planes: int = 1,
) -> None:
    """Refuse a paid plan of several passes unless *confirm* agrees.

    Raises
    ------
    BudgetError
        Naming the price of every pass, before anything is sent.
    """
    if len(plan.passes) < 2 or price_of(engine) <= 0:
        return
    estimate = estimate_cost(n_planes, engine, n_passes=len(plan.passes))
    if is_confirmed(estimate, confirm):
        return
    raise BudgetError(
        f'Not confirmed: this canvas takes {len(plan.passes)} Runflow '
        f'passes per plane, {estimate.text}. Confirm the price to run '
        '(confirm=True in Python, --yes on the command line).'
    )


def check_adds_pixels(expand: Expand, plane_shape: tuple[int, int]) -> None:
    """Refuse an expansion that rounds to no pixel at all on this plane."""
    rows, cols = plane_shape
    if sum(expand.padding(rows, cols)) == 0:
        raise InvalidInputError(
            'expand',
            f'{expand.as_dict()} adds 0 pixels to a {rows}x{cols} plane '
            '(the percentages round to 0); use larger percentages.',
        )


def outpaint_source_plane(
    source: Source,
    index: tuple[int, ...],
    expand: Expand | Canvas,
    engine: Engine,
    *,
    keep_native_resolution: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    paid: PaidRuns | None = None,
    around_engine: Callable[[], AbstractContextManager[Any]] | None = None,
    started: float | None = None,
) -> OutpaintResult:
    """Outpaint the plane *index* of a validated *source*; place it.

    Parameters
    ----------
    source : Source
        From :func:`~napari_outpaint._pipeline.source.prepare_source`.
    index : tuple of int
        The plane, validated (one index per non-spatial axis).
    expand : Expand or Canvas
        Planned here (:func:`~napari_outpaint._pipeline.passes.plan_for`);
        the caller has confirmed the price of several passes.
    engine : Engine
        A resolved engine; a paid one is put behind the cache and the
        spend cap here (:func:`~napari_outpaint._cache.engine.caching_engine`).
    keep_native_resolution, progress, cancel
        As for :func:`outpaint_array`.
    paid : PaidRuns, optional
        How paid runs are guarded (cache, spend cap, a batch's hooks).
    around_engine : callable, optional
        Returns a context manager entered around the engine call (a batch
        lets other planes convert pixels while this one waits).
    started : float, optional
        ``time.perf_counter()`` when the caller started (for timings).
    """
    started = time.perf_counter() if started is None else started
    plan = plan_for(source, expand)
    values = source.plane(index)
    limits = source.limits_for(values)
    caching = caching_engine(engine, paid)
    with caching or contextlib.nullcontext():
        result = outpaint_planned(
            values,
            plan,
            caching or engine,
            rgb=source.rgb,
            contrast_limits=limits,
            gamma=source.gamma,
            keep_native_resolution=keep_native_resolution,
            progress=progress,
            cancel=cancel,
            around_engine=around_engine,
        )
        placement = place_result(
            scale=source.scale,
            translate=source.translate,
            pad_before=(result.padding.top, result.padding.left),
            canvas_shape=result.canvas_shape,
            result_shape=result.data.shape[:2],
            plane=index,
            linear=source.linear,
        )
        provenance = _provenance.build(
            result,
            source=source.record(limits),
            plane=index if source.n_lead else None,
            expand=plan.passes[0].expand,
            canvas=_canvas_record(expand, plan, result),
            translate=source.translate,
            linear=source.linear,
            affine=source.affine,
            total_seconds=time.perf_counter() - started,
        )
        if caching is not None:
            caching.keep(provenance)  # the one write, with all of it
    emit_warnings(result.warnings)
    if progress is not None:
        progress(
            ProgressEvent(Stage.DONE, 'Done', 1.0, result.engine_result.run_id)
        )
    prefix = (1,) * source.n_lead
    return OutpaintResult(
        data=result.data.reshape(prefix + result.data.shape),
        mask=result.mask.reshape(prefix + result.mask.shape),
        scale=placement.scale,
        translate=placement.translate,
        affine=source.affine,
        provenance=provenance,
        engine_result=result.engine_result,
        rotate=source.rotate,
        shear=source.shear,
        rgb=source.rgb,
        contrast_limits=(float(limits[0]), float(limits[1])),
        gamma=source.gamma,
        name=f'{source.name or "image"}{RESULT_SUFFIX}',
        warnings=result.warnings,
    )


def _canvas_record(
    wish: Expand | Canvas, plan: CanvasPlan, result: PlaneResult
) -> dict[str, Any] | None:
    """The provenance's ``canvas`` section: the wish and every pass."""
    if isinstance(wish, Expand):
        return None
    return {
        'wish': wish.describe(),
        'measure': wish.measure,
        'target_px': plan.target._asdict(),
        'crop_px': plan.crop._asdict(),
        'passes': list(result.passes)
        or [
            {
                'expand': plan.passes[0].expand.as_dict(),
                'canvas_in_px': [plan.height, plan.width],
                'run_id': result.engine_result.run_id,
                'seed': result.engine_result.seed,
            }
        ],
    }


def emit_warnings(messages: Sequence[str]) -> None:
    """Log each message and raise it as a Python ``UserWarning``.

    The warning points at the first caller outside this package.
    """
    level = _caller_stacklevel()
    for message in messages:
        logger.warning('%s', message)
        warnings.warn(message, UserWarning, stacklevel=level)


def _caller_stacklevel() -> int:
    """``stacklevel`` (seen from our caller) of the first outside frame."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(
        package
    ):
        frame, level = frame.f_back, level + 1
    return level
