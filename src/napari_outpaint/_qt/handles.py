"""World corners read back as whole pixels of the source: the handles.

The outline of the expanded canvas is a polygon the user can drag in
napari (a vertex in direct mode, an edge or corner of its box in select
mode). :func:`padding_from_corners` reads the dragged corners as whole
pixels per side of the source plane (each side from the vertex that
moved, through the source's own transform); :func:`covering_padding`
gives the smallest padding whose canvas covers another image layer's
extent in world coordinates; :func:`pixel_scale` is the world size of one
source pixel along rows and columns.
"""

from __future__ import annotations

import math

import napari.layers
import numpy as np

from napari_outpaint._expand import Padding
from napari_outpaint._qt.preview import leading_data_coords, plane_shape

__all__ = ['covering_padding', 'padding_from_corners', 'pixel_scale']

#: Corner indices of each side, in the outline's drawing order
#: (top-left, top-right, bottom-right, bottom-left), and the axis it moves.
_SIDE_CORNERS = {
    'top': ((0, 1), 0),
    'bottom': ((2, 3), 0),
    'left': ((0, 3), 1),
    'right': ((1, 2), 1),
}
_MOVED = 1e-9  # world units a vertex must move to count as dragged
_SLACK = 1e-6  # pixels of float noise ignored when covering a layer


def pixel_scale(
    layer: napari.layers.Image, world_point: tuple[float, ...] | None = None
) -> tuple[float, float]:
    """World units per source pixel along rows and columns.

    The length of one data step through the layer's whole transform, as
    the pipeline reads ``Canvas.world`` (non-square pixels, affine).
    """
    leading = leading_data_coords(layer, world_point)
    origin, down, across = (
        np.asarray(layer.data_to_world((*leading, *rc)), dtype=float)
        for rc in ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0))
    )
    return (
        float(np.linalg.norm(down - origin)),
        float(np.linalg.norm(across - origin)),
    )


def _to_source(
    layer: napari.layers.Image,
    points: np.ndarray,
    world_point: tuple[float, ...] | None,
) -> np.ndarray:
    """``(N, 2)`` world points of the displayed dims -> source (row, col)."""
    leading = leading_data_coords(layer, world_point)
    base = np.asarray(layer.data_to_world((*leading, 0.0, 0.0)), dtype=float)
    out = []
    for point in np.asarray(points, dtype=float):
        world = base.copy()
        world[-2:] = point
        out.append(np.asarray(layer.world_to_data(tuple(world)))[-2:])
    return np.asarray(out, dtype=float)


def padding_from_corners(
    layer: napari.layers.Image,
    corners: np.ndarray,
    previous: np.ndarray | None = None,
    world_point: tuple[float, ...] | None = None,
) -> Padding:
    """Whole source pixels per side of a dragged outline.

    Parameters
    ----------
    layer : napari.layers.Image
        The source; its transform maps the corners to its pixels.
    corners : numpy.ndarray
        ``(4, 2)`` world corners, in the outline's order (top-left,
        top-right, bottom-right, bottom-left of the source's grid).
    previous : numpy.ndarray, optional
        The corners before the drag. Each side is read from the one of
        its two vertices that moved (a corner dragged alone), else from
        their mean (an edge, or the whole box scaled or moved).
    world_point : tuple of float, optional
        The viewer's point, for the plane of an nD layer.

    Returns
    -------
    Padding
        Rounded to whole pixels, never below 0: a canvas only grows.
    """
    rows, cols = plane_shape(layer)
    data = _to_source(layer, corners, world_point)
    moved = (
        np.linalg.norm(np.asarray(corners) - np.asarray(previous), axis=1)
        > _MOVED
        if previous is not None and np.shape(previous) == np.shape(corners)
        else np.ones(len(corners), dtype=bool)
    )
    edges = {}
    for side, (pair, axis) in _SIDE_CORNERS.items():
        chosen = (
            [i for i in pair if moved[i]] if any(moved[list(pair)]) else []
        )
        use = chosen if len(chosen) == 1 else list(pair)
        edges[side] = float(np.mean(data[use, axis]))
    # napari puts pixel centres on integers: pixel i spans [i-0.5, i+0.5].
    sides = (
        -edges['top'] - 0.5,
        edges['bottom'] + 0.5 - rows,
        -edges['left'] - 0.5,
        edges['right'] + 0.5 - cols,
    )
    return Padding(*(max(0, math.floor(v + 0.5)) for v in sides))


def covering_padding(
    layer: napari.layers.Image,
    other: napari.layers.Image,
    world_point: tuple[float, ...] | None = None,
) -> Padding:
    """The smallest whole-pixel padding of *layer* whose canvas covers
    *other*'s extent (its plane shown, to its pixels' outer edges) in
    world coordinates."""
    rows, cols = plane_shape(other)
    leading = leading_data_coords(other, world_point)
    edges = [(-0.5, -0.5), (-0.5, cols - 0.5), (rows - 0.5, cols - 0.5)]
    edges.append((rows - 0.5, -0.5))
    world = np.array(
        [np.asarray(other.data_to_world((*leading, *rc)))[-2:] for rc in edges]
    )
    data = _to_source(layer, world, world_point)
    low, high = data.min(axis=0), data.max(axis=0)
    own_rows, own_cols = plane_shape(layer)
    sides = (
        -low[0] - 0.5,
        high[0] + 0.5 - own_rows,
        -low[1] - 0.5,
        high[1] + 0.5 - own_cols,
    )
    return Padding(*(max(0, math.ceil(v - _SLACK)) for v in sides))
