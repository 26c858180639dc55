"""The stand-in's "model": the padding it fills by reflection.

What this file checks
---------------------
- ``reflect_fill`` mirrors the image into padding wider than the image
  itself, looping the mirror pattern.
"""

from __future__ import annotations

import numpy as np

from napari_outpaint._expand import Padding
from napari_outpaint.testing._images import reflect_fill


def test_reflection_keeps_mirroring_past_the_image_size():
    """A pad wider than the image loops the mirror pattern."""
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    padded = reflect_fill(image, Padding(top=5, bottom=0, left=0, right=7))
    assert padded.shape == (7, 10, 3)

    def mirror(k: int, n: int) -> int:
        k %= 2 * n
        return k if k < n else 2 * n - 1 - k

    for row in range(7):
        for col in range(10):
            expected = image[mirror(row - 5, 2), mirror(col, 3)]
            np.testing.assert_array_equal(padded[row, col], expected)
