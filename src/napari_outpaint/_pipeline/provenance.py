"""The provenance record of an outpainted result: JSON, never secrets.

``layer.metadata['outpaint']`` holds::

    source            layer name, shape, dtype, rgb, multiscale,
                      contrast_limits, gamma, scale, translate, rotate,
                      shear, affine (what re-opens the result aligned,
                      see napari_outpaint._layers.history)
    plane             indices on the leading axes (None for 2D data)
    expand            the four percentages (of the first pass); padding_px:
                      pixels per side of the final canvas
    canvas            for a Canvas wish: the wish, target_px, crop_px and
                      passes (each pass's percentages, canvas_in_px, run_id,
                      seed, cost_usd); None for a plain Expand
    engine, model, run_id, seed, cost_usd, engine_details,
    engine_output_shape  (rows, cols) the engine returned (e.g. upscaled)
    mode              'preserve_original' or 'native_resolution'
    generated_bits    8: the engine's 8-bit pixels, mapped back to the
                      source's dtype through its contrast limits; or the
                      source's bits, when the border holds source values
                      (source_values: their share; see _imaging.depth)
    timings           seconds: prepare, engine (+ the engine's own
                      stages under engine_stages), finish, total
    created_at        UTC, ISO 8601
    generated_region  canvas_px: canvas shape and the original's rows/cols
                      in it; result_px: the same in result pixels;
                      world: min/max corners of canvas and original
    seam_score        napari_outpaint._imaging.quality.seam_score (None if n/a)
    alignment         residual_px, shift_px, tiles, method, note
    warnings          the messages shown to the user
    plugin_version
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from napari_outpaint._expand import Expand
from napari_outpaint._imaging import canvas_world_bounds
from napari_outpaint._pipeline.plane import PlaneResult
from napari_outpaint._version import __version__

__all__ = ['GENERATED_BITS', 'build', 'jsonable']

#: Bits per channel of the generated pixels (Runflow returns 8-bit images;
#: the local engine sees the same 8-bit view, then its border takes the
#: source's own values).
GENERATED_BITS = 8


def build(
    result: PlaneResult,
    *,
    source: Mapping[str, Any],
    plane: tuple[int, ...] | None,
    expand: Expand,
    canvas: Mapping[str, Any] | None = None,
    translate: np.ndarray,
    linear: np.ndarray,
    affine: np.ndarray,
    total_seconds: float,
) -> dict[str, Any]:
    """The JSON-serialisable provenance of one placed plane."""
    engine = result.engine_result
    pad = result.padding
    rows_c, cols_c = result.canvas_shape
    height = rows_c - pad.top - pad.bottom
    width = cols_c - pad.left - pad.right
    where = {'translate': translate, 'linear': linear, 'affine': affine}
    where['plane'] = plane or ()
    timings = dict(result.timings)
    timings['total'] = total_seconds
    timings['engine_stages'] = dict(engine.timings)
    record = {
        'source': dict(source),
        'plane': list(plane) if plane is not None else None,
        'expand': expand.as_dict(),
        'padding_px': pad._asdict(),
        'canvas': dict(canvas) if canvas is not None else None,
        'engine': engine.engine,
        'model': engine.model,
        'run_id': engine.run_id,
        'seed': engine.seed,
        'cost_usd': _cost(result),
        'engine_details': dict(engine.details),
        'engine_output_shape': list(np.shape(engine.image)[:2]),
        'mode': 'native_resolution' if result.native else 'preserve_original',
        'generated_bits': (
            GENERATED_BITS
            if result.source_values is None
            else 8 * result.data.dtype.itemsize
        ),
        'source_values': result.source_values,
        'timings': timings,
        'created_at': datetime.now(UTC).isoformat(timespec='seconds'),
        'generated_region': {
            'canvas_px': {
                'shape': [rows_c, cols_c],
                'original_rows': [pad.top, pad.top + height],
                'original_cols': [pad.left, pad.left + width],
            },
            'result_px': {
                'shape': list(result.data.shape[:2]),
                'original_rows': _span(result.inner[0]),
                'original_cols': _span(result.inner[1]),
            },
            'world': {
                'canvas': canvas_world_bounds(
                    rows=(-pad.top - 0.5, height + pad.bottom - 0.5),
                    cols=(-pad.left - 0.5, width + pad.right - 0.5),
                    **where,
                ),
                'original': canvas_world_bounds(
                    rows=(-0.5, height - 0.5),
                    cols=(-0.5, width - 0.5),
                    **where,
                ),
            },
            'note': (
                'generated = canvas minus original; bounds are half-open '
                'pixel ranges; world bounds are pixel-edge corners'
            ),
        },
        'seam_score': result.seam_score,
        'alignment': result.alignment.as_dict(),
        'warnings': list(result.warnings),
        'plugin_version': __version__,
    }
    return jsonable(record)


def jsonable(value: Any) -> Any:
    """*value* with numpy types turned into Python, non-finite into None."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _cost(result: PlaneResult) -> float | None:
    """The run's cost; for several passes, their sum (None if unknown)."""
    if not result.passes:
        return result.engine_result.cost_usd
    costs = [p.get('cost_usd') for p in result.passes]
    if any(c is None for c in costs):
        return None
    return round(sum(costs), 6)


def _span(box: slice) -> list[int]:
    return [int(box.start or 0), int(box.stop or 0)]
