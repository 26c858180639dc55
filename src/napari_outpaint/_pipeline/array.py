"""outpaint_array / outpaint_layer: one path for the widget, API and CLI.

Validate everything -> pick the plane -> :func:`outpaint_plane` (8-bit
view, engine, back to the dtype, alignment check, seam score) -> place
the result in world -> provenance. The original is never modified.

The result keeps the input's ndim: the non-spatial axes of the plane are
kept as length-1 axes placed at that plane, so ``napari.layers.Image(
result.data, **result.layer_kwargs())`` sits exactly over the original.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_outpaint._cache.engine import CachingEngine
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import Expand, check_expand
from napari_outpaint._imaging.convert import (
    as_level0,
    default_contrast_limits,
    leading_ndim,
    select_plane,
)
from napari_outpaint._imaging.placement import place_result
from napari_outpaint._pipeline import provenance as _provenance
from napari_outpaint._pipeline.plane import PlaneResult, outpaint_plane
from napari_outpaint._pipeline.validate import (
    affine_matrix,
    check_data,
    check_gamma,
    check_limits,
    linear_matrix,
    normalize_plane,
    vector,
)
from napari_outpaint._progress import ProgressEvent, Stage
from napari_outpaint.engines import resolve_engine

if TYPE_CHECKING:
    from napari_outpaint._progress import CancelToken, ProgressCallback
    from napari_outpaint.engines import Engine, EngineResult

__all__ = [
    'RESULT_SUFFIX',
    'OutpaintResult',
    'PlaneResult',
    'outpaint_array',
    'outpaint_plane',
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
    expand: Expand,
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
) -> OutpaintResult:
    """Outpaint one plane of *data*; numpy in, placed result out.

    Parameters
    ----------
    data : array-like or list of array-like
        ``(..., rows, cols)`` or ``(..., rows, cols, 3|4)``; numpy, dask,
        zarr (only the plane is read); a list is a multiscale pyramid
        (level 0 is used).
    expand : Expand
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
        The data's napari transform (layer ndim = data ndim - rgb).
    keep_native_resolution : bool
        Keep the engine's resolution (the original pixels are then not
        pasted back) instead of the original's grid.
    progress, cancel
        Progress events and cooperative cancel.
    source_name : str, optional
        Recorded in provenance and used to name the result.

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
        ``NAPARI_OUTPAINT_SPEND_CAP_USD``; off by default). Answers from
        the cache are free.
    """
    started = time.perf_counter()
    check_expand(expand)
    multiscale = isinstance(data, list | tuple)
    level0 = as_level0(data)
    rgb = check_data(level0, rgb)
    shape = tuple(int(n) for n in level0.shape)
    ndim = len(shape) - int(rgb)
    lead = leading_ndim(len(shape), rgb)
    index = normalize_plane(plane, shape[:lead])
    rows, cols = shape[lead : lead + 2]
    if sum(expand.padding(rows, cols)) == 0:
        raise InvalidInputError(
            'expand',
            f'{expand.as_dict()} adds 0 pixels to a {rows}x{cols} plane '
            '(the percentages round to 0); use larger percentages.',
        )
    scale_v = vector('scale', scale, ndim, 1.0)
    translate_v = vector('translate', translate, ndim, 0.0)
    affine_m = affine_matrix(affine, ndim)
    linear = linear_matrix(scale_v, rotate, shear, ndim)
    gamma = check_gamma(gamma)
    if contrast_limits is not None:
        contrast_limits = check_limits(contrast_limits)
    resolved = _cached(resolve_engine(engine))

    values = select_plane(level0, index, rgb=rgb)
    limits = contrast_limits or default_contrast_limits(values)
    result = outpaint_plane(
        values,
        expand,
        resolved,
        rgb=rgb,
        contrast_limits=limits,
        gamma=gamma,
        keep_native_resolution=keep_native_resolution,
        progress=progress,
        cancel=cancel,
    )
    placement = place_result(
        scale=scale_v,
        translate=translate_v,
        pad_before=(result.padding.top, result.padding.left),
        canvas_shape=result.canvas_shape,
        result_shape=result.data.shape[:2],
        plane=index,
        linear=linear,
    )
    prefix = (1,) * lead
    provenance = _provenance.build(
        result,
        source={
            'layer': source_name,
            'shape': list(shape),
            'dtype': str(level0.dtype),
            'rgb': rgb,
            'multiscale': multiscale,
            'contrast_limits': list(limits),
            'gamma': gamma,
            'scale': list(scale_v),
            'translate': list(translate_v),
            'rotate': None if rotate is None else np.asarray(rotate),
            'shear': None if shear is None else np.asarray(shear),
            'affine': affine_m,
        },
        plane=index if lead else None,
        expand=expand,
        translate=translate_v,
        linear=linear,
        affine=affine_m,
        total_seconds=time.perf_counter() - started,
    )
    if isinstance(resolved, CachingEngine):
        resolved.record_provenance(provenance)
    emit_warnings(result.warnings)
    if progress is not None:
        progress(
            ProgressEvent(Stage.DONE, 'Done', 1.0, result.engine_result.run_id)
        )
    return OutpaintResult(
        data=result.data.reshape(prefix + result.data.shape),
        mask=result.mask.reshape(prefix + result.mask.shape),
        scale=placement.scale,
        translate=placement.translate,
        affine=affine_m,
        provenance=provenance,
        engine_result=result.engine_result,
        rotate=None if rotate is None else np.asarray(rotate),
        shear=None if shear is None else np.asarray(shear),
        rgb=rgb,
        contrast_limits=(float(limits[0]), float(limits[1])),
        gamma=gamma,
        name=f'{source_name or "image"}{RESULT_SUFFIX}',
        warnings=result.warnings,
    )


def _cached(engine: Engine) -> Engine:
    """Put a paid engine behind the result cache and the spend cap."""
    if engine.price_per_image_usd > 0 and not isinstance(
        engine, CachingEngine
    ):
        return CachingEngine(engine)
    return engine


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
