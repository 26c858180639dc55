"""Reflection padding: the instant, dependency-free border fill.

``numpy.pad(mode='reflect')`` mirrors the image about its edge pixel
without repeating it (``'symmetric'`` would duplicate the edge row, a
zero gradient that reads as a seam). ``reflect`` cannot pad more than
``size - 1`` pixels at once, so wider pads are built in several rounds,
each reflecting what the previous one produced.
"""

from __future__ import annotations

import numpy as np

from napari_outpaint._expand import Padding

__all__ = ['reflect_fill']


def _pad_axis(image: np.ndarray, axis: int, before: int, after: int):
    """Reflect-pad one axis, looping while a pad exceeds ``size - 1``."""
    while before > 0 or after > 0:
        size = image.shape[axis]
        if size < 2:  # a single row/column can only be repeated
            widths = [(0, 0)] * image.ndim
            widths[axis] = (before, after)
            return np.pad(image, widths, mode='edge')
        step_before = min(before, size - 1)
        step_after = min(after, size - 1)
        widths = [(0, 0)] * image.ndim
        widths[axis] = (step_before, step_after)
        image = np.pad(image, widths, mode='reflect')
        before -= step_before
        after -= step_after
    return image


def reflect_fill(image: np.ndarray, padding: Padding) -> np.ndarray:
    """Pad *image* by *padding* with mirror reflections of itself.

    Parameters
    ----------
    image : numpy.ndarray
        ``(rows, cols)`` or ``(rows, cols, C)``.
    padding : Padding
        Pixels to add on each side.

    Returns
    -------
    numpy.ndarray
        The padded canvas, same dtype; the original sits unchanged at
        ``[top:top + rows, left:left + cols]``.
    """
    out = _pad_axis(np.asarray(image), 0, padding.top, padding.bottom)
    return _pad_axis(out, 1, padding.left, padding.right)
