"""Where an outpainted result lands in world space. Pure maths.

napari maps a data index ``x`` to world as ``affine(L @ x + t)`` with
``L = rotate @ shear @ diag(scale)`` and pixel *centres* at integer
indices. A result pixel ``i`` on a spatial axis, at ``f`` original pixels
per result pixel, covers original pixels ``[i*f - pad - 1/2, (i+1)*f -
pad - 1/2)``, so its centre sits at original index ``i*f - pad + (f-1)/2``.
Folding that into the layer's own transform gives::

    new_scale     = scale * f
    new_translate = translate + L @ c,  c = -pad + (f - 1) / 2

which, without rotate/shear, is ``translate - pad*scale + (new_scale -
scale)/2``. On the non-spatial axes ``f = 1`` and ``c`` is the plane's
index, so a length-1 axis sits at that plane. rotate, shear and affine are
kept as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ['Placement', 'canvas_world_bounds', 'place_result']


@dataclass(frozen=True)
class Placement:
    """The world transform of a result, as napari layer keywords.

    Attributes
    ----------
    scale, translate : tuple of float
        Full ndim (layer dims, colour axis excluded).
    pixels_per_result_pixel : tuple of float
        ``f`` per spatial axis (rows, cols): original pixels covered by
        one result pixel (1 on the original grid, < 1 when upscaled).
    """

    scale: tuple[float, ...]
    translate: tuple[float, ...]
    pixels_per_result_pixel: tuple[float, float]


def place_result(
    *,
    scale: Sequence[float],
    translate: Sequence[float],
    pad_before: tuple[int, int],
    canvas_shape: tuple[int, int],
    result_shape: tuple[int, int],
    plane: Sequence[float] = (),
    linear: np.ndarray | None = None,
) -> Placement:
    """Scale and translate of a result so that it sits exactly in world.

    Parameters
    ----------
    scale, translate : sequence of float
        The original layer's, full ndim; the last two axes are spatial.
    pad_before : (int, int)
        Canvas pixels added above and left of the original.
    canvas_shape : (int, int)
        The expanded canvas in original pixels.
    result_shape : (int, int)
        The result's real shape (rows, cols): the canvas shape on the
        original grid, or what the engine returned (e.g. upscaled).
    plane : sequence of float
        Index of the plane on each leading axis (zeros for a result that
        keeps every plane, e.g. a batch).
    linear : numpy.ndarray, optional
        The original's data-to-physical linear matrix (``rotate @ shear @
        diag(scale)``); ``diag(scale)`` when omitted.
    """
    scale = np.asarray(scale, dtype=np.float64)
    translate = np.asarray(translate, dtype=np.float64)
    ndim = scale.size
    if linear is None:
        linear = np.diag(scale)
    lead = ndim - 2
    factors = np.ones(ndim)
    offset = np.zeros(ndim)
    offset[:lead] = np.asarray(plane, dtype=np.float64)[:lead] if lead else 0
    for k in range(2):
        f = canvas_shape[k] / result_shape[k]
        factors[lead + k] = f
        offset[lead + k] = -pad_before[k] + (f - 1.0) / 2.0
    new_translate = translate + np.asarray(linear, dtype=np.float64) @ offset
    return Placement(
        scale=tuple(float(v) for v in scale * factors),
        translate=tuple(float(v) for v in new_translate),
        pixels_per_result_pixel=(float(factors[-2]), float(factors[-1])),
    )


def canvas_world_bounds(
    *,
    translate: Sequence[float],
    linear: np.ndarray,
    affine: np.ndarray | None,
    rows: tuple[float, float],
    cols: tuple[float, float],
    plane: Sequence[float] = (),
) -> dict[str, list[float]]:
    """World bounding box of a region of original pixel indices.

    Parameters
    ----------
    translate, linear, affine
        The original's transform (``affine`` is ``(ndim+1, ndim+1)`` or
        None for identity).
    rows, cols : (float, float)
        Pixel-edge bounds in original index space (e.g. ``(-0.5, n-0.5)``
        for the whole original axis).
    plane : sequence of float
        Index of the plane on each leading axis.

    Returns
    -------
    dict
        ``{'min': [...], 'max': [...]}``, full ndim, in world units.
    """
    translate = np.asarray(translate, dtype=np.float64)
    corners = []
    for r in rows:
        for c in cols:
            index = np.concatenate([np.asarray(plane, float), [r, c]])
            world = np.asarray(linear) @ index + translate
            if affine is not None:
                a = np.asarray(affine, dtype=np.float64)
                world = a[:-1, :-1] @ world + a[:-1, -1]
            corners.append(world)
    stacked = np.stack(corners)
    return {
        'min': [float(v) for v in stacked.min(axis=0)],
        'max': [float(v) for v in stacked.max(axis=0)],
    }
