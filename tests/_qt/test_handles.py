"""The outline as a handle: dragged corners read back as source pixels,
and the fields and the rectangle in step, in a real napari viewer."""

from __future__ import annotations

import numpy as np
import pytest

from fakes import PaidFakeEngine
from napari_outpaint._expand import Expand, Padding
from napari_outpaint._qt.handles import (
    covering_padding,
    padding_from_corners,
    pixel_scale,
)
from napari_outpaint._qt.preview import PREVIEW_LAYER_NAME, canvas_outline

_PX = ('top_px', 'bottom_px', 'left_px', 'right_px')


def _tilted():
    from napari.layers import Image

    return Image(
        np.zeros((50, 70), np.uint8),
        scale=(0.5, 2.0),
        translate=(4.0, -9.0),
        rotate=25,
        shear=[0.2],
    )


# -- pure: corners <-> pixels -------------------------------------------------


@pytest.mark.parametrize(
    'padding',
    [Padding(0, 0, 0, 1), Padding(13, 0, 200, 7), Padding(120, 95, 0, 0)],
)
def test_corners_of_a_canvas_read_back_as_its_padding(padding):
    """Through scale, translate, rotate and shear, and a third of a pixel
    of mouse noise, the outline's corners give back its pixels."""
    layer = _tilted()
    corners = canvas_outline(layer, padding).corners
    assert padding_from_corners(layer, corners) == padding
    along_rows = np.asarray(layer.data_to_world((1, 0))) - np.asarray(
        layer.data_to_world((0, 0))
    )
    noisy = corners + 0.3 * along_rows
    assert padding_from_corners(layer, noisy) == padding


def test_a_dragged_corner_moves_only_its_two_sides():
    """Bottom-right dragged 3 rows down, 5 columns right: only bottom and
    right change; dragged inside the original, a side stops at 0."""
    layer = _tilted()
    start = Padding(10, 4, 6, 8)
    corners = canvas_outline(layer, start).corners
    dragged = corners.copy()
    dragged[2] = canvas_outline(layer, Padding(10, 7, 6, 13)).corners[2]
    assert padding_from_corners(layer, dragged, corners) == Padding(
        10, 7, 6, 13
    )
    inside = corners.copy()
    inside[0] = np.asarray(layer.data_to_world((20, 30)))
    assert padding_from_corners(layer, inside, corners) == Padding(0, 4, 0, 8)


def test_pixel_scale_is_one_pixel_step_in_world():
    """Rotation keeps the pixel's size: 0.5 x 2 per pixel."""
    from napari.layers import Image

    layer = Image(np.zeros((5, 5)), scale=(0.5, 2.0), rotate=40)
    np.testing.assert_allclose(pixel_scale(layer), (0.5, 2.0))


def test_covering_padding_reaches_the_other_layers_pixel_edges():
    """A 10 x 10 layer of 1-unit pixels left of and below a 20 x 20
    layer of 0.5-unit pixels: covering it adds whole pixels."""
    from napari.layers import Image

    layer = Image(np.zeros((20, 20)), scale=(0.5, 0.5))
    other = Image(np.zeros((10, 10)), translate=(5.0, -6.0))
    # rows: other spans [4.5, 14.5]; ours [-0.25, 9.75] -> 4.75 more = 9.5 px
    # cols: other spans [-6.5, 3.5]; ours begins at -0.25 -> 6.25 = 12.5 px
    assert covering_padding(layer, other) == Padding(0, 10, 13, 0)
    inner = Image(np.zeros((4, 4)), scale=(0.5, 0.5), translate=(2.0, 2.0))
    assert covering_padding(layer, inner) == Padding(0, 0, 0, 0)


# -- a real viewer ------------------------------------------------------------


@pytest.fixture
def notifications():
    """Every napari notification shown during the test, as text."""
    from napari.utils.notifications import notification_manager

    shown = []

    def record(event):
        shown.append(str(event.message))

    notification_manager.notification_ready.connect(record)
    yield shown
    notification_manager.notification_ready.disconnect(record)


@pytest.fixture
def dock(make_napari_viewer):
    """A 60 x 80 image (0.5 x 2 µm pixels), its widget, a paid engine."""
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer = make_napari_viewer()
    layer = viewer.add_image(
        np.zeros((60, 80), np.uint8),
        name='cells',
        scale=(0.5, 2.0),
        translate=(3.0, -7.0),
        units=('um', 'um'),
    )
    engine = PaidFakeEngine()
    widget = OutpaintWidget(viewer, engine=engine)
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    return viewer, layer, widget, engine


def _outline(viewer):
    (preview,) = [
        layer for layer in viewer.layers if layer.name == PREVIEW_LAYER_NAME
    ]
    return preview


def _drag(preview, layer, padding: Padding, corner: int | None = None):
    """As a mouse drag ends: the outline's data set once, to *padding*'s
    corners (all of them, or one) plus a little noise."""
    corners = preview.data[0].copy()
    wanted = canvas_outline(layer, padding).corners + 0.1
    if corner is None:
        corners = wanted
    else:
        corners[corner] = wanted[corner]
    preview.data = [corners]


def _in_step(preview, layer, padding):
    np.testing.assert_allclose(
        preview.data[0], canvas_outline(layer, padding).corners, atol=1e-9
    )


@pytest.mark.gui
def test_drag_sets_the_pixels_and_typing_moves_the_outline(
    dock, notifications
):
    """Pixels: a dragged corner becomes whole pixels in the fields and the
    outline snaps to them; a typed value moves it; nothing runs."""
    viewer, layer, widget, engine = dock
    widget.update({'size_by': 'pixels', 'left_px': 10})
    preview = _outline(viewer)
    _drag(preview, layer, Padding(0, 25, 10, 33), corner=2)
    assert [widget[name].value for name in _PX] == [0, 25, 10, 33]
    _in_step(preview, layer, Padding(0, 25, 10, 33))
    widget.top_px.value = 4
    _in_step(preview, layer, Padding(4, 25, 10, 33))
    assert widget.worker is None
    assert engine.calls == []
    assert notifications == []
    assert viewer.layers.selection.active is layer


@pytest.mark.gui
def test_percent_snaps_to_whole_percents_and_beyond_80_becomes_pixels(dock):
    """A percent drag lands on whole percents (one pass); past 80 % the
    measure switches to pixels, exact."""
    viewer, layer, widget, _ = dock
    widget.left.value = 10
    preview = _outline(viewer)
    _drag(preview, layer, Padding(0, 0, 8, 13))  # 10 % and 16.25 % of 80
    assert widget.size_by.value == 'percent'
    assert widget.expand() == Expand(left=10, right=16)
    _in_step(preview, layer, Expand(left=10, right=16).padding(60, 80))
    _drag(preview, layer, Padding(70, 0, 8, 13))  # 117 % of 60
    assert widget.size_by.value == 'pixels'
    assert [widget[name].value for name in _PX] == [70, 0, 8, 13]
    _in_step(preview, layer, Padding(70, 0, 8, 13))


@pytest.mark.gui
@pytest.mark.parametrize(
    ('fields', 'measure', 'read'),
    [
        (
            {'size_by': 'world units', 'left_world': 20.0},
            'world units',
            {'top_world': 2.5, 'right_world': 14.0, 'left_world': 20.0},
        ),
        (
            {'size_by': 'target size', 'rows': 80, 'cols': 100},
            'target size',
            {'rows': 65, 'cols': 107, 'anchor_y': 1.0, 'anchor_x': 3 / 27},
        ),
        ({'size_by': 'aspect ratio'}, 'pixels', {'top_px': 5}),
    ],
)
def test_a_drag_keeps_the_measure_it_can(dock, fields, measure, read):
    """World units are whole pixels x scale; a target size keeps its
    measure and its anchor follows; an aspect ratio becomes pixels."""
    viewer, layer, widget, _ = dock
    widget.update(fields)
    preview = _outline(viewer)
    dragged = Padding(5, 0, 3, 7 + 17)
    if measure == 'world units':
        dragged = Padding(5, 0, 10, 7)
    _drag(preview, layer, dragged)
    assert widget.size_by.value == measure
    for name, value in read.items():
        assert widget[name].value == pytest.approx(value, abs=1e-6), name
    _in_step(preview, layer, widget._reading.plan.target)
    assert widget._reading.plan.target == dragged


@pytest.mark.gui
def test_the_outline_comes_back_when_its_shape_is_deleted(dock):
    """A user who deletes or adds shapes in the outline layer gets the
    canvas's rectangle back, the wish unchanged."""
    viewer, layer, widget, _ = dock
    widget.right.value = 20
    preview = _outline(viewer)
    preview.data = []
    _in_step(preview, layer, Expand(right=20).padding(60, 80))
    preview.add_rectangles([[0, 0], [5, 5]])
    assert len(preview.data) == 1
    assert widget.expand() == Expand(right=20)


@pytest.mark.gui
def test_the_outline_is_no_image_and_never_the_active_layer(dock):
    """The picker and the fit choices offer images only; drawing and
    dragging leave the user's selection alone; closing hides it."""
    viewer, layer, widget, _ = dock
    widget.top.value = 30
    preview = _outline(viewer)
    assert preview not in widget.image.choices
    assert preview not in widget.fit_to.choices
    _drag(preview, layer, Padding(30, 0, 4, 0))
    assert viewer.layers.selection.active is layer
    assert widget.image.value is layer
    viewer.window.remove_dock_widget(widget.native)
    assert not preview.visible


@pytest.mark.gui
def test_drag_the_outline_selects_its_box_and_the_image_stays_chosen(dock):
    """The button makes the outline draggable (select mode, box selected);
    the picker keeps the image, and a drag still sets the wish."""
    viewer, layer, widget, _ = dock
    assert not widget.drag_outline.enabled  # no outline yet
    widget.left.value = 10
    assert widget.drag_outline.enabled
    widget.drag_outline.clicked.emit()
    preview = _outline(viewer)
    assert viewer.layers.selection.active is preview
    assert preview.mode == 'select'
    assert preview.selected_data == {0}
    assert widget.image.value is layer
    _drag(preview, layer, Padding(0, 0, 8, 16))
    assert widget.expand() == Expand(left=10, right=20)
