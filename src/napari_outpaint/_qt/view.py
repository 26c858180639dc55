"""Keep what the widget draws or adds in view.

:func:`in_view` says whether world bounds lie inside what the canvas
shows; :func:`fit_view` moves the camera so that they fill the canvas.
The widget calls them for the outline when it first leaves the view and
for a new result, never in an event-loop turn that shows a notification.
"""

from __future__ import annotations

import napari
import napari.layers
import numpy as np
from napari.components import Camera

__all__ = ['bounds_of', 'camera', 'fit_view', 'in_view', 'layer_bounds']


def bounds_of(corners: np.ndarray) -> np.ndarray:
    """``(2, 2)`` min and max world coordinates of ``(N, 2)`` *corners*."""
    points = np.asarray(corners, dtype=float)
    return np.stack([points.min(axis=0), points.max(axis=0)])


def camera(viewer: napari.viewer.Viewer) -> Camera:
    """The viewer's camera (``viewer.scene.camera`` from napari 0.9 on)."""
    return getattr(viewer, 'scene', viewer).camera


def _viewbox_size(viewer: napari.viewer.Viewer) -> np.ndarray:
    """``(rows, cols)`` of the canvas in screen pixels (one grid cell)."""
    canvas = getattr(viewer, 'canvas', None)
    if canvas is not None and hasattr(canvas, 'viewbox_size'):
        size = canvas.viewbox_size(viewer.layers)
    else:  # napari < 0.9
        size = viewer._canvas_size
    return np.asarray(size, dtype=float)


def in_view(viewer: napari.viewer.Viewer, bounds: np.ndarray) -> bool:
    """Whether *bounds* (two displayed world dims) lie inside the canvas.

    Always True in a 3D view, where the camera is the user's to turn.
    """
    if viewer.dims.ndisplay != 2:
        return True
    view = camera(viewer)
    zoom = float(view.zoom)
    if zoom <= 0:
        return False
    size = _viewbox_size(viewer)
    centre = np.asarray(view.center, dtype=float)[-2:]
    half = size / zoom / 2
    low, high = np.asarray(bounds, dtype=float)
    return bool(np.all(low >= centre - half) and np.all(high <= centre + half))


def layer_bounds(layer: napari.layers.Layer) -> np.ndarray:
    """``(2, 2)`` world bounds of *layer* in its last two dimensions."""
    return np.asarray(layer.extent.world, dtype=float)[:, -2:]


def fit_view(
    viewer: napari.viewer.Viewer, bounds: np.ndarray, *, margin: float = 0.05
) -> None:
    """Centre the camera on *bounds* and zoom so they fill the canvas.

    Computed here rather than by ``viewer.fit_to_view(layers=...)``, which
    fails for a layer with fewer dimensions than the viewer (the 2D
    outline over a stack).
    """
    low, high = np.asarray(bounds, dtype=float)
    extent = np.where(np.isclose(high - low, 0), 1.0, high - low)
    view = camera(viewer)
    centre = list(view.center)
    centre[-2:] = (low + high) / 2
    view.center = tuple(float(c) for c in centre)
    view.zoom = float((1 - margin) * np.min(_viewbox_size(viewer) / extent))
