"""The live outline of the expanded canvas, drawn in the viewer.

:func:`canvas_outline` works out, from an image layer and an
:class:`~napari_outpaint.Expand`, where the expanded canvas sits in world
coordinates (through the layer's own scale, translate, rotate, shear and
affine) and how big it is. :class:`CanvasPreview` keeps at most one Shapes
layer in a viewer showing that outline (in the layer's units), fits the
view to it when it first leaves the view, and hides it on request: the
widget owns one and clears it whenever the preview no longer applies.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import napari
import napari.layers
import numpy as np
from napari.layers import Shapes

from napari_outpaint._expand import Expand, Padding
from napari_outpaint._qt.view import bounds_of, fit_view, in_view

__all__ = [
    'PREVIEW_LAYER_NAME',
    'CanvasOutline',
    'CanvasPreview',
    'canvas_outline',
    'leading_data_coords',
    'plane_shape',
    'spatial_unit',
]

PREVIEW_LAYER_NAME = 'outpaint preview'
_EDGE_COLOR = '#ffcc00'
_EDGE_FRACTION = 0.004  # line width, as a fraction of the canvas extent
_WIDTH_SLACK = 0.25  # the line width is kept while within 25 % of the aim
# The data events of a finished edit (napari also sends 'changing' etc.)
_EDITED = ('changed', 'added', 'removed')


@dataclass(frozen=True)
class CanvasOutline:
    """Where and how big the expanded canvas of one layer is.

    Attributes
    ----------
    rows, cols : int
        Size of the expanded canvas in the original's pixels.
    corners : numpy.ndarray
        ``(4, 2)`` world coordinates of the canvas corners in the two
        displayed (last) world dimensions, in drawing order.
    height, width : float
        Extent of the canvas in world units.
    unit : str
        The layer's spatial unit abbreviation (e.g. ``'µm'``), or ``''``
        when the layer has none (napari's default ``pixel``).
    units : tuple
        The layer's units of its two spatial axes (napari ``pint`` units),
        for the outline layer; empty when the layer has none.
    """

    rows: int
    cols: int
    corners: np.ndarray
    height: float
    width: float
    unit: str
    units: tuple = ()

    def describe(self) -> str:
        """``'858 x 715 px (85.8 x 71.5 µm)'``: rows x cols, then world."""
        pixels = f'{self.rows} x {self.cols} px'
        world = f'{self.height:.4g} x {self.width:.4g}'
        unit = f' {self.unit}' if self.unit else ' world units'
        return f'{pixels} ({world}{unit})'


def plane_shape(layer: napari.layers.Image) -> tuple[int, int]:
    """``(rows, cols)`` of one 2D plane of *layer* (highest resolution)."""
    data = layer.data[0] if layer.multiscale else layer.data
    shape = data.shape[:-1] if layer.rgb else data.shape
    return int(shape[-2]), int(shape[-1])


def canvas_outline(
    layer: napari.layers.Image,
    expand: Expand | Padding,
    *,
    world_point: tuple[float, ...] | None = None,
) -> CanvasOutline:
    """The expanded canvas of *layer* in world coordinates.

    Parameters
    ----------
    layer : napari.layers.Image
        The original layer; its transforms place the outline.
    expand : Expand or Padding
        The four percentages (the one padding rule, ``Expand.padding``),
        or exact pixels per side (a planned canvas's ``target``).
    world_point : tuple of float, optional
        The viewer's current point (``viewer.dims.point``); for nD layers
        it fixes the non-spatial data coordinates of the outline's plane.

    Returns
    -------
    CanvasOutline
    """
    rows, cols = plane_shape(layer)
    pad = expand if isinstance(expand, Padding) else expand.padding(rows, cols)
    # napari puts pixel centres on integers: pixel i spans [i-0.5, i+0.5].
    top, left = -pad.top - 0.5, -pad.left - 0.5
    bottom, right = rows + pad.bottom - 0.5, cols + pad.right - 0.5
    leading = leading_data_coords(layer, world_point)
    corners_data = [
        (*leading, r, c)
        for r, c in (
            (top, left),
            (top, right),
            (bottom, right),
            (bottom, left),
        )
    ]
    corners = np.array(
        [np.asarray(layer.data_to_world(p))[-2:] for p in corners_data],
        dtype=float,
    )
    return CanvasOutline(
        rows=rows + pad.top + pad.bottom,
        cols=cols + pad.left + pad.right,
        corners=corners,
        height=float(np.linalg.norm(corners[3] - corners[0])),
        width=float(np.linalg.norm(corners[1] - corners[0])),
        unit=spatial_unit(layer),
        units=tuple(getattr(layer, 'units', None) or ())[-2:],
    )


def leading_data_coords(
    layer: napari.layers.Image, world_point: tuple[float, ...] | None
) -> tuple[float, ...]:
    """Data coordinates of the non-spatial axes at the viewer's point."""
    n_leading = layer.ndim - 2
    if n_leading <= 0:
        return ()
    if world_point is None or len(world_point) < layer.ndim:
        return (0.0,) * n_leading
    data_point = layer.world_to_data(tuple(world_point)[-layer.ndim :])
    return tuple(float(v) for v in np.asarray(data_point)[:n_leading])


def spatial_unit(layer: napari.layers.Image) -> str:
    """Abbreviated unit of the last spatial axis, '' for plain pixels."""
    units = getattr(layer, 'units', None)
    if not units:
        return ''
    unit = units[-1]
    text = f'{unit:~}' if hasattr(unit, 'dimensionality') else str(unit)
    return '' if text in ('pixel', 'px', '') else text


class CanvasPreview:
    """At most one outline layer in *viewer*, updated in place.

    The Shapes layer is added once, without stealing the layer selection;
    :meth:`clear` hides it and never removes it (napari/vispy on Mesa can
    segfault when a Shapes layer is removed in the same event-loop turn as
    a notification is shown). Call it whenever the preview stops applying
    (values back to zero, run finished, widget hidden or closed). The
    first time a shown outline is not wholly in view, the view is fitted
    to it, once per showing, so a user's own zoom is left alone after.

    The outline is also a handle: when the user drags it (napari emits
    one finished data change per drag, or a script sets ``layer.data``),
    *on_edit* gets the new and the previous corners; the outline's own
    redraws are not reported.
    """

    def __init__(
        self,
        viewer: napari.viewer.Viewer,
        on_edit: Callable[[np.ndarray, np.ndarray], None] | None = None,
    ) -> None:
        self._viewer = viewer
        self._on_edit = on_edit
        self._layer: napari.layers.Shapes | None = None
        self._fitted = False  # the view was fitted during this showing
        self._drawn: np.ndarray | None = None  # the corners last drawn

    @property
    def layer(self) -> napari.layers.Shapes | None:
        """The outline layer (shown or hidden), None until first drawn."""
        if self._layer is not None and self._layer not in self._viewer.layers:
            self._layer = None  # the user deleted it
        return self._layer

    def show(self, outline: CanvasOutline) -> None:
        """Draw *outline*, adding the layer the first time; fit the view
        to it the first time it is not wholly in view."""
        self._draw(outline)
        bounds = bounds_of(outline.corners)
        if not self._fitted and not in_view(self._viewer, bounds):
            fit_view(self._viewer, bounds)
            self._fitted = True

    def _draw(self, outline: CanvasOutline) -> None:
        width = _EDGE_FRACTION * max(outline.height, outline.width, 1e-12)
        units = {'units': outline.units} if outline.units else {}
        self._drawn = np.array(outline.corners, dtype=float)
        if self.layer is not None:
            # Each setter below refreshes the layer (tens of ms on software
            # OpenGL, bench/bench_handles.py): only what changed is set.
            if units and tuple(self._layer.units) != outline.units:
                self._layer.units = outline.units
            shown = self._layer.data
            if len(shown) != 1 or not np.array_equal(shown[0], self._drawn):
                self._layer.data = [outline.corners]
            if not math.isclose(
                self._layer.current_edge_width, width, rel_tol=_WIDTH_SLACK
            ):
                self._layer.edge_width = [width]
                self._layer.current_edge_width = width
            if not self._layer.visible:
                self._layer.visible = True
            return

        self._layer = Shapes(
            [outline.corners],
            shape_type='polygon',
            edge_color=_EDGE_COLOR,
            face_color='transparent',
            edge_width=width,
            name=PREVIEW_LAYER_NAME,
            metadata={'outpaint_preview': True},
            **units,
        )
        self._layer.events.data.connect(self._on_data)
        selection = self._viewer.layers.selection
        active, selected = selection.active, set(selection)
        self._viewer.layers.append(self._layer)
        selection.clear()
        selection.update(selected)
        selection.active = active

    def _on_data(self, event) -> None:
        """Report a finished edit of the outline that it did not draw."""
        if self._on_edit is None or str(event.action) not in _EDITED:
            return
        data = self._layer.data
        if len(data) != 1 or np.shape(data[0]) != (4, 2):
            self._on_edit(np.empty((0, 2)), self._drawn)  # not a box now
            return
        corners = np.asarray(data[0], dtype=float)
        if self._drawn is not None and np.allclose(corners, self._drawn):
            return  # its own redraw
        self._on_edit(corners, self._drawn)

    def edit(self) -> None:
        """Make the shown outline the active layer, its box selected in
        select mode: its corners and edges can be dragged at once."""
        if not self.shown:
            return
        self._viewer.layers.selection.active = self._layer
        self._layer.mode = 'select'
        self._layer.selected_data = {0}

    @property
    def shown(self) -> bool:
        """Whether the outline is visible in the viewer."""
        return self.layer is not None and self._layer.visible

    def clear(self) -> None:
        """Hide the outline layer (kept for the next :meth:`show`)."""
        self._fitted = False
        if self.layer is not None and self._layer.visible:
            self._layer.visible = False
