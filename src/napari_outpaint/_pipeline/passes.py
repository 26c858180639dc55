"""A wished canvas on one plane: plan it, run its passes, crop it.

:func:`plan_for` turns a :class:`~napari_outpaint._canvas.Canvas` (or a
plain :class:`~napari_outpaint.Expand`) into the passes for one plane of a
source, reading world units through the source's own pixel size.
:func:`outpaint_planned` runs them: each pass outpaints the previous
pass's canvas (the original pasted back every time, so it stays
bit-identical), the generated-pixel masks add up, and the last canvas is
cropped to exactly the wish. Every pass goes through the same engine (and
so the same cache and spend cap) as a single run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from napari_outpaint._canvas import (
    Canvas,
    CanvasPlan,
    plan_canvas,
)
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import Expand
from napari_outpaint._pipeline.plane import PlaneResult, outpaint_plane
from napari_outpaint._pipeline.source import Source
from napari_outpaint._progress import (
    CancelToken,
    ProgressCallback,
    ProgressEvent,
    Stage,
)
from napari_outpaint._settings import MAX_PASSES, setting_value
from napari_outpaint.engines import Engine

__all__ = [
    'MAX_PASSES_ENV',
    'check_wish',
    'max_passes_setting',
    'outpaint_planned',
    'pixel_size',
    'plan_for',
]

#: Environment variable: the most Runflow passes one canvas may take.
MAX_PASSES_ENV = MAX_PASSES.env  # 'NAPARI_OUTPAINT_MAX_PASSES'

Wish = Canvas | Expand


def max_passes_setting() -> int:
    """``$NAPARI_OUTPAINT_MAX_PASSES``, else the settings file's
    ``max_passes``, else 4.

    Raises
    ------
    ConfigurationError
        When it is set but not a whole number >= 1 (naming the variable,
        or the file and the key).
    """
    return setting_value(MAX_PASSES)


def check_wish(wish: Any) -> Wish:
    """Return *wish* if it is a Canvas or an Expand, else raise."""
    if not isinstance(wish, Canvas | Expand):
        raise InvalidInputError(
            'expand',
            f'expected an Expand or a Canvas, got {type(wish).__name__}; '
            'e.g. Expand(top=20) or Canvas.pixels(left=100).',
        )
    return wish


def pixel_size(source: Source) -> tuple[float, float]:
    """World units per pixel along a plane's rows and columns.

    The length of each data axis's step through the source's whole
    transform (scale, shear, rotate, affine), so non-square pixels and an
    affine scale count.
    """
    ndim = source.ndim
    to_world = source.affine[:ndim, :ndim] @ source.linear
    rows, cols = (float(np.linalg.norm(to_world[:, -k])) for k in (2, 1))
    return rows, cols


def plan_for(
    source: Source, wish: Wish, *, max_passes: int | None = None
) -> CanvasPlan:
    """The passes that give *wish* around one plane of *source*, at most
    *max_passes* (default :func:`max_passes_setting`)."""
    rows, cols = source.plane_shape
    return plan_canvas(
        check_wish(wish),
        rows,
        cols,
        scale=pixel_size(source),
        max_passes=max_passes or max_passes_setting(),
    )


def outpaint_planned(
    plane: np.ndarray,
    plan: CanvasPlan,
    engine: Engine,
    *,
    rgb: bool,
    contrast_limits: tuple[float, float],
    gamma: float = 1.0,
    keep_native_resolution: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    around_engine: Callable[[], AbstractContextManager[Any]] | None = None,
) -> PlaneResult:
    """Outpaint *plane* pass by pass and crop it to *plan*'s canvas.

    A plan of one pass with nothing to crop is exactly
    :func:`~napari_outpaint._pipeline.plane.outpaint_plane`. Otherwise the
    result's ``passes`` records each pass (percentages, the canvas it
    outpainted, run id, seed, cost), its seam score and alignment are the
    first pass's (the seam around the original is made there), its
    engine result the last pass's, and its warnings every pass's. Only
    the current canvas is held between passes.

    Raises
    ------
    InvalidInputError
        For *keep_native_resolution* with a plan of several passes or a
        crop (native resolution keeps one engine's grid).
    """
    common = {
        'rgb': rgb,
        'contrast_limits': contrast_limits,
        'gamma': gamma,
        'cancel': cancel,
        'around_engine': around_engine,
    }
    if len(plan.passes) == 1 and not any(plan.crop):
        return outpaint_plane(
            plane,
            plan.passes[0].expand,
            engine,
            keep_native_resolution=keep_native_resolution,
            progress=progress,
            **common,
        )
    if keep_native_resolution:
        raise InvalidInputError(
            'keep_native_resolution',
            f'works with one pass and no crop; this canvas needs '
            f'{len(plan.passes)} pass(es) and a crop; leave it False.',
        )
    current, mask, records = plane, None, []
    first = result = None
    for number, step in enumerate(plan.passes, start=1):
        if progress is not None and len(plan.passes) > 1:
            progress(
                ProgressEvent(
                    Stage.PREPARING,
                    f'Pass {number} of {len(plan.passes)}: '
                    f'{step.height} x {step.width} px, '
                    f'{_percents(step.expand)}',
                )
            )
        result = outpaint_plane(
            current, step.expand, engine, progress=progress, **common
        )
        grown = result.mask  # this pass's border: True
        if mask is not None:
            grown[result.inner] = mask
        current, mask = result.data, grown
        records.append(_record(step, result))
        if first is None:  # the seam around the original is made here
            first = (result.seam_score, result.alignment)
    crop = plan.crop
    rows, cols = current.shape[:2]
    box = (
        slice(crop.top, rows - crop.bottom),
        slice(crop.left, cols - crop.right),
    )
    height, width = plane.shape[:2]
    target = plan.target
    warnings = tuple(dict.fromkeys(w for r in records for w in r['warnings']))
    timings: dict[str, float] = {}
    for record in records:
        for name, seconds in record['timings'].items():
            timings[name] = timings.get(name, 0.0) + seconds
    return dataclasses.replace(
        result,
        data=np.ascontiguousarray(current[box]),
        mask=np.ascontiguousarray(mask[box]),
        padding=target,
        canvas_shape=plan.shape,
        inner=(
            slice(target.top, target.top + height),
            slice(target.left, target.left + width),
        ),
        seam_score=first[0],
        alignment=first[1],
        warnings=warnings,
        timings=timings,
        passes=tuple(records),
    )


def _record(step, result: PlaneResult) -> dict[str, Any]:
    engine = result.engine_result
    return {
        'expand': step.expand.as_dict(),
        'canvas_in_px': [step.height, step.width],
        'padding_px': step.padding._asdict(),
        'engine': engine.engine,
        'run_id': engine.run_id,
        'seed': engine.seed,
        'cost_usd': engine.cost_usd,
        'engine_output_shape': list(np.shape(engine.image)[:2]),
        'warnings': list(result.warnings),
        'timings': dict(result.timings),
    }


def _percents(expand: Expand) -> str:
    return ', '.join(f'{side} {p} %' for side, p in expand.as_dict().items())
