"""A no-reference seam score: how visible is the border of the original?

The score compares the luminance jump across the original's border in the
result with the image's own gradients just inside that border. About 1
means the border is as smooth as the image itself; well above 1 is a
visible seam. Pure numpy.
"""

from __future__ import annotations

import numpy as np

__all__ = ['SEAM_WARN_THRESHOLD', 'luminance', 'seam_score']

# Above this a result's seam is reported as poor (calibrated in
# bench/quality.py: good fills score about 0.6-1.5).
SEAM_WARN_THRESHOLD = 2.0

_INSIDE_OFFSET = 3  # the reference gradient is taken k px inside the edge


def luminance(image: np.ndarray) -> np.ndarray:
    """Rec. 601 luminance of an RGB(A) or grayscale image, as float64."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3:
        return image[..., :3] @ np.array([0.299, 0.587, 0.114])
    return image


def seam_score(canvas: np.ndarray, inner: tuple[slice, slice]) -> float | None:
    """Seam score of an outpainted *canvas* around the region *inner*.

    Parameters
    ----------
    canvas : numpy.ndarray
        The outpainted image, ``(rows, cols)`` or ``(rows, cols, C)``.
    inner : tuple of slice
        Where the original sits in *canvas* (row slice, column slice).

    Returns
    -------
    float or None
        Mean |jump| across every expanded edge divided by the mean
        |difference| between the rows/columns ``k`` and ``k + 1`` pixels
        inside it (``k = 3``); None when no edge was expanded or the
        original is too small to measure.
    """
    lum = luminance(canvas)
    rows, cols = lum.shape
    r0, r1 = inner[0].start or 0, inner[0].stop or rows
    c0, c1 = inner[1].start or 0, inner[1].stop or cols
    k = _INSIDE_OFFSET
    if r1 - r0 < 2 * k + 2 or c1 - c0 < 2 * k + 2:
        return None
    jumps: list[np.ndarray] = []
    refs: list[np.ndarray] = []
    span_c = slice(c0, c1)
    span_r = slice(r0, r1)
    if r0 > 0:  # top edge
        jumps.append(lum[r0 - 1, span_c] - lum[r0, span_c])
        refs.append(lum[r0 + k, span_c] - lum[r0 + k + 1, span_c])
    if r1 < rows:  # bottom edge
        jumps.append(lum[r1, span_c] - lum[r1 - 1, span_c])
        refs.append(lum[r1 - 1 - k, span_c] - lum[r1 - 2 - k, span_c])
    if c0 > 0:  # left edge
        jumps.append(lum[span_r, c0 - 1] - lum[span_r, c0])
        refs.append(lum[span_r, c0 + k] - lum[span_r, c0 + k + 1])
    if c1 < cols:  # right edge
        jumps.append(lum[span_r, c1] - lum[span_r, c1 - 1])
        refs.append(lum[span_r, c1 - 1 - k] - lum[span_r, c1 - 2 - k])
    if not jumps:
        return None
    jump = float(np.mean(np.abs(np.concatenate(jumps))))
    ref = float(np.mean(np.abs(np.concatenate(refs))))
    if ref < 1e-9:
        return 0.0 if jump < 1e-9 else float('inf')
    return jump / ref
