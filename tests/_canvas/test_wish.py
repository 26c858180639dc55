"""A Canvas is the user's wish, read as exact pixels per side."""

import numpy as np
import pytest

from napari_outpaint import InvalidInputError
from napari_outpaint._canvas import Canvas
from napari_outpaint._expand import Padding


def test_pixels_are_taken_as_they_are():
    assert Canvas.pixels(top=3, right=np.int64(7)).padding(10, 20) == (
        Padding(3, 0, 0, 7)
    )


def test_percent_of_any_size_rounds_half_up():
    """150 % is allowed (more than one Runflow pass); 12.5 % of 100 is
    12.5 px, rounded up to 13."""
    assert Canvas.percent(top=150, left=12.5).padding(100, 100) == (
        Padding(150, 0, 13, 0)
    )


@pytest.mark.parametrize(
    ('world', 'scale', 'pixels'),
    [
        (50.0, (0.3, 0.3), 167),  # 166.67 px: covered, not cut short
        (0.6, (0.2, 0.2), 3),  # 2.9999999999999996 px is 3, not 4
        (10.0, (1.0, 2.5), 4),  # columns by their own pixel size
    ],
)
def test_world_units_use_the_pixel_size_of_their_axis(world, scale, pixels):
    padding = Canvas.world(right=world).padding(10, 10, scale=scale)
    assert padding == Padding(0, 0, 0, pixels)


def test_rows_use_the_row_pixel_size():
    assert Canvas.world(top=10.0).padding(10, 10, (2.0, 0.5)).top == 5


@pytest.mark.parametrize(
    ('anchor', 'padding'),
    [
        ((0.5, 0.5), Padding(50, 50, 50, 50)),
        ((0, 0), Padding(0, 100, 0, 100)),
        ((1, 1), Padding(100, 0, 100, 0)),
        ((0.25, 0.75), Padding(25, 75, 75, 25)),
    ],
)
def test_a_shape_places_the_original_at_its_anchor(anchor, padding):
    assert Canvas.shape(200, 300, anchor).padding(100, 200) == padding


def test_an_odd_extra_goes_by_the_anchor_and_adds_up():
    padding = Canvas.shape(101, 10).padding(100, 10)
    assert padding.top + padding.bottom == 1


@pytest.mark.parametrize(
    ('ratio', 'shape'),
    [
        (16 / 9, (1000, 1778)),  # wider: columns grow
        (0.5, (2000, 1000)),  # taller: rows grow
    ],
)
def test_an_aspect_gives_the_smallest_canvas_that_holds_the_plane(
    ratio, shape
):
    padding = Canvas.aspect(ratio).padding(1000, 1000)
    assert padding.canvas_shape(1000, 1000) == shape
    assert Canvas.aspect(1.0).padding(600, 800).canvas_shape(600, 800) == (
        800,
        800,
    )


def test_a_square_plane_asked_to_be_square_adds_nothing_and_says_so():
    with pytest.raises(InvalidInputError, match='adds no pixel'):
        Canvas.aspect(1.0).padding(1000, 1000)


@pytest.mark.parametrize(
    ('make', 'field'),
    [
        (lambda: Canvas.pixels(top=-1), 'top'),
        (lambda: Canvas.pixels(left=1.5), 'left'),
        (lambda: Canvas.pixels(), 'canvas'),
        (lambda: Canvas.world(bottom=float('nan')), 'bottom'),
        (lambda: Canvas.percent(right=-5), 'right'),
        (lambda: Canvas.shape(10, 10, anchor=(0.5, 1.5)), 'anchor'),
        (lambda: Canvas.shape(10, 10, anchor=(0.5,)), 'anchor'),
        (lambda: Canvas.shape(-10, 10), 'rows'),
        (lambda: Canvas.aspect(0), 'ratio'),
        (lambda: Canvas.aspect(-1.5), 'ratio'),
        (lambda: Canvas.aspect(True), 'ratio'),
        (lambda: Canvas.shape(50, 300).padding(100, 200), 'rows'),
        (lambda: Canvas.world(top=1.0).padding(10, 10), 'scale'),
        (lambda: Canvas.world(top=1.0).padding(10, 10, (0, 1)), 'scale'),
    ],
)
def test_bad_wishes_name_their_field(make, field):
    with pytest.raises(InvalidInputError) as caught:
        make()
    assert caught.value.field == field
