"""Validation of outpaint_array's arguments, before any engine call.

Every check raises :class:`~napari_outpaint.InvalidInputError` naming the
argument and saying what to pass instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from napari_outpaint._errors import InvalidInputError

#: the smallest side of a plane of a stack: fewer pixels are not an image
#: (e.g. a channel axis read as the columns)
MIN_PLANE_SIDE = 3

__all__ = [
    'MIN_PLANE_SIDE',
    'affine_matrix',
    'check_data',
    'check_gamma',
    'check_limits',
    'is_int',
    'linear_matrix',
    'normalize_plane',
    'vector',
]


def normalize_plane(
    plane: Sequence[int] | int | None, lead_shape: tuple[int, ...]
) -> tuple[int, ...]:
    """Validate *plane* against the leading axes; negatives count back."""
    lead = len(lead_shape)
    if plane is None or (not lead and plane == ()):
        if lead:
            raise InvalidInputError(
                'plane',
                f'the data has {lead} leading (non-spatial) axes of sizes '
                f'{lead_shape}; name the plane to outpaint with one index '
                f'per axis, e.g. plane={(0,) * lead}.',
            )
        return ()
    items = (plane,) if is_int(plane) else plane
    if isinstance(items, str) or not isinstance(items, Sequence):
        items = getattr(items, 'tolist', lambda: None)()
    if not isinstance(items, Sequence) or not all(map(is_int, items)):
        raise InvalidInputError(
            'plane',
            f'expected a tuple of integer indices, got {plane!r}.',
        )
    if len(items) != lead:
        raise InvalidInputError(
            'plane',
            f'expected {lead} indices (one per leading axis of sizes '
            f'{lead_shape}), got {len(items)}: {tuple(items)!r}.',
        )
    out = []
    for axis, (i, n) in enumerate(zip(items, lead_shape, strict=True)):
        if not -n <= int(i) < n:
            raise InvalidInputError(
                'plane',
                f'index {int(i)} on axis {axis} is out of range for size '
                f'{n}; use 0 to {n - 1}.',
            )
        out.append(int(i) % n)
    return tuple(out)


def is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(
        value, bool | np.bool_
    )


def check_data(data: Any, rgb: bool | None) -> bool:
    dtype = np.dtype(data.dtype)
    if dtype.kind not in 'uifb':
        raise InvalidInputError(
            'data',
            f'dtype {dtype} is not a real numeric image type; convert it '
            '(e.g. to float32) first.',
        )
    shape = tuple(data.shape)
    if rgb is None:
        rgb = len(shape) >= 3 and shape[-1] in (3, 4)
    if rgb and (len(shape) < 3 or shape[-1] not in (3, 4)):
        raise InvalidInputError(
            'rgb',
            f'rgb=True needs a last axis of 3 or 4 channels, got shape '
            f'{shape}.',
        )
    if len(shape) - int(rgb) < 2 or min(shape, default=0) < 1:
        raise InvalidInputError(
            'data',
            f'need at least 2 spatial dimensions of non-zero size, got '
            f'shape {shape} (rgb={rgb}).',
        )
    spatial = shape[len(shape) - int(rgb) - 2 : len(shape) - int(rgb)]
    if len(shape) - int(rgb) > 2 and min(spatial) < MIN_PLANE_SIDE:
        raise InvalidInputError(
            'data',
            f'the planes of shape {shape} would be {spatial[0]} x '
            f'{spatial[1]} pixels, not an image: is the last axis channels '
            f'or samples? The last two axes must be rows and columns '
            f'(e.g. np.moveaxis(data, -1, 0)); RGB(A) needs rgb=True.',
        )
    return bool(rgb)


def vector(name: str, value: Any, ndim: int, fill: float) -> np.ndarray:
    if value is None:
        return np.full(ndim, fill)
    vec = np.asarray(value, dtype=np.float64).ravel()
    if vec.size != ndim or not np.all(np.isfinite(vec)):
        raise InvalidInputError(
            name,
            f'expected {ndim} finite numbers (one per layer axis), got '
            f'{value!r}.',
        )
    if name == 'scale' and np.any(vec == 0):
        raise InvalidInputError(name, f'must not contain 0, got {value!r}.')
    return vec


def affine_matrix(affine: Any, ndim: int) -> np.ndarray:
    if affine is None:
        return np.eye(ndim + 1)
    matrix = np.asarray(getattr(affine, 'affine_matrix', affine), float)
    if matrix.shape != (ndim + 1, ndim + 1):
        raise InvalidInputError(
            'affine',
            f'expected a ({ndim + 1}, {ndim + 1}) matrix for {ndim} layer '
            f'dimensions, got shape {matrix.shape}.',
        )
    return matrix


def linear_matrix(scale: np.ndarray, rotate: Any, shear: Any, ndim: int):
    """napari's data-to-physical linear matrix ``rotate @ shear @ scale``."""
    if rotate is None and shear is None:
        return np.diag(scale)
    # napari is heavy and import napari_outpaint must not load it: its
    # transform maths is loaded only for rotated or sheared layers
    from napari.utils.transforms.transform_utils import (
        compose_linear_matrix,
    )

    return compose_linear_matrix(
        np.eye(ndim) if rotate is None else rotate,
        scale,
        np.eye(ndim) if shear is None else shear,
    )


def check_gamma(gamma: Any) -> float:
    if is_int(gamma) or isinstance(gamma, float | np.floating):
        value = float(gamma)
        if np.isfinite(value) and value > 0:
            return value
    raise InvalidInputError(
        'gamma', f'must be a finite number above 0, got {gamma!r}.'
    )


def check_limits(limits: Sequence[float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in limits)
    except (TypeError, ValueError):
        lo, hi = np.nan, np.nan
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise InvalidInputError(
            'contrast_limits',
            f'need (low, high), finite, with high > low; got {limits!r}.',
        )
    return lo, hi
