"""Sample images for the napari "File > Open Sample" menu.

Both ship inside scikit-image's wheel (a declared dependency): nothing
is downloaded.
"""

from __future__ import annotations

from typing import Any

__all__ = ['make_cells_sample', 'make_coffee_sample']

LayerDataTuple = tuple[Any, dict[str, Any], str]


def make_cells_sample() -> list[LayerDataTuple]:
    """A grayscale phase-contrast image of a cell (660 x 550, uint8)."""
    from skimage import data  # heavy: only the samples need it

    return [(data.cell(), {'name': 'cells', 'colormap': 'gray'}, 'image')]


def make_coffee_sample() -> list[LayerDataTuple]:
    """An RGB photo of a cup of coffee (400 x 600 x 3, uint8)."""
    from skimage import data  # heavy: only the samples need it

    return [(data.coffee(), {'name': 'coffee', 'rgb': True}, 'image')]
