"""Layer data <-> the 8-bit RGB an engine sees, and resampling. Pure numpy.

The engines see what the user sees: a grayscale plane goes to 8-bit
through the layer's contrast limits and gamma (napari's own mapping,
``((x - lo) / (hi - lo)) ** gamma``), repeated to three channels. The
way back inverts that mapping into the source dtype and value range.

Alpha (RGBA)
    The upload is the colour composited over black (what napari shows on
    its default black canvas). The way back returns an alpha channel in
    which every generated pixel is opaque: alpha = the upper contrast
    limit (255 for uint8 data with the default limits); the pipeline puts
    the original alpha back over the original pixels.

Non-finite values
    NaN maps to 0 (black) in the upload, +inf/-inf to the upper/lower
    limit; the pipeline puts the original values back over the original
    pixels, so they survive unchanged.

Generated pixels can only take values inside the contrast limits: the
8-bit detour cannot recover what was clipped on the way out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image as PILImage

from napari_outpaint._errors import InvalidInputError

_LUMA = (0.299, 0.587, 0.114)  # Rec. 601, as _quality.luminance
#: pixels converted at a time (see _row_bands): at most 2 MB per float
#: temporary (4 channels of float64)
BAND_PIXELS = 1 << 16

__all__ = [
    'as_level0',
    'default_contrast_limits',
    'stack_contrast_limits',
    'from_rgb8',
    'leading_ndim',
    'resample_rgb8',
    'select_plane',
    'to_rgb8',
]


def as_level0(data: Any) -> Any:
    """Level 0 (highest resolution) of multiscale *data*, else *data*.

    A list or tuple of arrays is taken as a multiscale pyramid, as napari
    does. Nothing is loaded: lazy arrays stay lazy.
    """
    if isinstance(data, list | tuple) and data and hasattr(data[0], 'shape'):
        return data[0]
    if not hasattr(data, 'shape') or not hasattr(data, 'dtype'):
        return np.asarray(data)
    return data


def leading_ndim(ndim: int, rgb: bool) -> int:
    """How many non-spatial (plane-selecting) axes an array has."""
    return ndim - 2 - int(rgb)


def select_plane(data: Any, plane: Sequence[int], *, rgb: bool) -> np.ndarray:
    """The 2D plane of *data* at indices *plane* of its leading axes.

    Parameters
    ----------
    data : array-like
        Level-0 data (numpy, dask, zarr, ...), ``(..., rows, cols)`` or
        ``(..., rows, cols, 3|4)`` when *rgb*.
    plane : sequence of int
        One index per leading axis (empty for 2D data).
    rgb : bool
        Whether the last axis holds colour channels.

    Returns
    -------
    numpy.ndarray
        ``(rows, cols)`` or ``(rows, cols, C)``. Only this plane is read
        from lazy arrays. The result may be a view of *data*: treat it as
        read-only.
    """
    index = tuple(int(i) for i in plane)
    if len(index) != leading_ndim(len(data.shape), rgb):
        raise InvalidInputError(
            'plane',
            f'expected {leading_ndim(len(data.shape), rgb)} indices for '
            f'data of shape {tuple(data.shape)}, got {index}.',
        )
    return np.asarray(data[index] if index else data)


def default_contrast_limits(plane: np.ndarray) -> tuple[float, float]:
    """Contrast limits for *plane* when the caller gives none.

    uint8 data uses ``(0, 255)`` (so it passes through unchanged); bool
    ``(0, 1)``; anything else the finite min and max of the plane,
    widened by one when they are equal, ``(0, 1)`` when nothing is finite.
    """
    if plane.dtype == np.uint8:
        return 0.0, 255.0
    if plane.dtype == np.bool_:
        return 0.0, 1.0
    if plane.size == 0:
        return 0.0, 1.0
    if plane.dtype.kind in 'ui':  # every value is finite: no copy needed
        lo, hi = float(plane.min()), float(plane.max())
    else:
        finite = np.isfinite(plane)  # one byte per pixel, not a float copy
        if not finite.any():
            return 0.0, 1.0
        lo = float(np.min(plane, where=finite, initial=np.inf))
        hi = float(np.max(plane, where=finite, initial=-np.inf))
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def stack_contrast_limits(data: Any, *, rgb: bool) -> tuple[float, float]:
    """One window for every plane of *data*, so that the planes match.

    The smallest low and the largest high of every plane's
    :func:`default_contrast_limits`, read plane by plane (lazy arrays are
    never loaded whole). uint8 data gives ``(0, 255)``.
    """
    if np.dtype(data.dtype) == np.uint8:
        return 0.0, 255.0
    lo, hi = np.inf, -np.inf
    lead = leading_ndim(len(data.shape), rgb)
    for index in np.ndindex(*data.shape[:lead]):
        a, b = default_contrast_limits(select_plane(data, index, rgb=rgb))
        lo, hi = min(lo, a), max(hi, b)
    return lo, hi


def _check_limits(
    contrast_limits: Sequence[float], gamma: float
) -> tuple[float, float]:
    lo, hi = (float(v) for v in contrast_limits)
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise InvalidInputError(
            'contrast_limits',
            f'need two finite numbers (low, high) with high > low, got '
            f'{tuple(contrast_limits)}.',
        )
    if not (np.isfinite(gamma) and gamma > 0):
        raise InvalidInputError(
            'gamma', f'must be a finite number above 0, got {gamma!r}.'
        )
    return lo, hi


def to_rgb8(
    plane: np.ndarray,
    *,
    rgb: bool,
    contrast_limits: Sequence[float],
    gamma: float = 1.0,
) -> np.ndarray:
    """Map a plane to the ``(rows, cols, 3)`` uint8 RGB an engine takes.

    Parameters
    ----------
    plane : numpy.ndarray
        ``(rows, cols)`` grayscale, or ``(rows, cols, 3|4)`` when *rgb*.
    rgb : bool
        Whether the last axis holds colour (RGB or RGBA) channels.
    contrast_limits : (float, float)
        The values shown as black and as full intensity.
    gamma : float
        napari's display gamma.

    Returns
    -------
    numpy.ndarray
        uint8 ``(rows, cols, 3)``. RGBA is composited over black.
    """
    lo, hi = _check_limits(contrast_limits, gamma)
    rows, cols = plane.shape[:2]
    out = np.empty((rows, cols, 3), dtype=np.uint8)
    for band in _row_bands(rows, cols):
        out[band] = _to_rgb8_band(plane[band], rgb, lo, hi, gamma)
    return out


def _row_bands(rows: int, cols: int) -> list[slice]:
    """Row slices of about :data:`BAND_PIXELS` pixels each.

    Conversions work band by band, so their float temporaries stay a
    few MB whatever the plane's size: the memory of a plane's path is
    its input, its output and the engine's images, not ten float copies.
    """
    step = max(1, BAND_PIXELS // max(cols, 1))
    return [slice(r, min(r + step, rows)) for r in range(0, rows, step)]


def _to_rgb8_band(
    plane: np.ndarray, rgb: bool, lo: float, hi: float, gamma: float
) -> np.ndarray:
    work = np.float64 if plane.dtype.itemsize > 2 else np.float32
    unit = plane.astype(work)  # a copy: the plane is never written
    unit -= work(lo)
    unit *= work(1.0 / (hi - lo))
    if plane.dtype.kind == 'f':
        np.nan_to_num(unit, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    np.clip(unit, 0.0, 1.0, out=unit)
    if gamma != 1.0:
        unit **= work(gamma)
    if rgb:
        colour = unit[..., :3]
        if plane.shape[-1] == 4:
            colour = colour * unit[..., 3:4]
        colour *= work(255)
        return np.rint(colour, out=colour).astype(np.uint8)
    unit *= work(255)
    grey = np.rint(unit, out=unit).astype(np.uint8)
    return grey[..., None]  # broadcast to the three channels


def from_rgb8(
    rgb8: np.ndarray,
    *,
    dtype: np.dtype,
    rgb: bool,
    channels: int = 3,
    contrast_limits: Sequence[float],
    gamma: float = 1.0,
) -> np.ndarray:
    """Map an engine's uint8 RGB back to the source dtype and value range.

    Parameters
    ----------
    rgb8 : numpy.ndarray
        uint8 ``(rows, cols, 3)``.
    dtype : numpy.dtype
        The source dtype. Integers are rounded and clipped to its range.
    rgb : bool
        False: return grayscale (Rec. 601 luminance of the colours).
    channels : int
        3 or 4 when *rgb*; with 4 an opaque alpha channel (the upper
        contrast limit) is appended.
    contrast_limits, gamma
        As given to :func:`to_rgb8`.

    Returns
    -------
    numpy.ndarray
        ``(rows, cols)`` or ``(rows, cols, channels)`` of *dtype*.
    """
    lo, hi = _check_limits(contrast_limits, gamma)
    dtype = np.dtype(dtype)
    rows, cols = rgb8.shape[:2]
    shape = (rows, cols, channels) if rgb else (rows, cols)
    out = np.empty(shape, dtype=dtype)
    for band in _row_bands(rows, cols):
        out[band] = _from_rgb8_band(
            rgb8[band], dtype, rgb, channels, lo, hi, gamma
        )
    return out


def _from_rgb8_band(
    rgb8: np.ndarray,
    dtype: np.dtype,
    rgb: bool,
    channels: int,
    lo: float,
    hi: float,
    gamma: float,
) -> np.ndarray:
    # float32 holds 8-bit levels exactly and keeps big canvases small;
    # float64 where the target needs it (float64, 32/64-bit integers).
    work = np.float64 if dtype.itemsize > 2 else np.float32
    colour = rgb8[..., :3]
    if rgb:
        unit = colour.astype(work) / work(255)
    else:
        unit = np.zeros(colour.shape[:2], dtype=work)
        for channel, weight in enumerate(_LUMA):
            unit += colour[..., channel] * work(weight / 255)
        np.clip(unit, 0, 1, out=unit)
    if gamma != 1.0:
        unit **= work(1.0 / gamma)
    values = unit * work(hi - lo) + work(lo)
    if rgb and channels == 4:
        alpha = np.full(values.shape[:-1] + (1,), hi, dtype=work)
        values = np.concatenate([values, alpha], axis=-1)
    return _cast(values, dtype)


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.bool_:
        return values >= 0.5
    if dtype.kind in 'ui':
        info = np.iinfo(dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    return values.astype(dtype, copy=False)


def resample_rgb8(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resample uint8 RGB *image* to ``(rows, cols)`` = *shape*.

    Both grids span the same extent (pixel edges at 0 and the full
    size): Pillow's pixel-centre convention, the same as napari's.
    Lanczos, which antialiases when reducing.
    """
    rows, cols = (int(n) for n in shape)
    if image.shape[:2] == (rows, cols):
        return image
    resized = PILImage.fromarray(np.ascontiguousarray(image)).resize(
        (cols, rows), PILImage.Resampling.LANCZOS
    )
    return np.asarray(resized)
