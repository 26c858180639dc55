"""Expand: validation before any I/O, and the one padding rule."""

import numpy as np
import pytest

from napari_outpaint import Expand, InvalidInputError, Padding
from napari_outpaint._expand import pad_pixels


@pytest.mark.parametrize(
    ('field', 'value'),
    [
        ('top', -1),
        ('bottom', 81),
        ('left', 12.0),
        ('right', True),
        ('top', '10'),
        ('bottom', None),
    ],
)
def test_bad_values_name_the_field(field, value):
    """Out-of-range, float, bool, str and None values name their field."""
    kwargs = {'top': 10, 'bottom': 10, 'left': 10, 'right': 10, field: value}
    with pytest.raises(InvalidInputError) as info:
        Expand(**kwargs)
    assert info.value.field == field
    assert field in str(info.value)
    assert isinstance(info.value, ValueError)


def test_all_zero_is_refused():
    """Four zeros would pay for nothing, so they are refused."""
    with pytest.raises(InvalidInputError, match='at least one'):
        Expand(0, 0, 0, 0)


def test_a_side_left_out_is_zero():
    """``Expand(top=20)`` expands the top only; ``Expand()`` pays nothing."""
    assert Expand(top=20).as_dict() == {
        'top': 20, 'bottom': 0, 'left': 0, 'right': 0,
    }  # fmt: skip
    with pytest.raises(InvalidInputError, match='at least one'):
        Expand()


@pytest.mark.parametrize(
    'value', [np.int64(10), np.int32(10), np.uint8(10), np.int16(10)]
)
def test_numpy_integers_are_accepted_and_kept_as_int(value):
    """A percentage computed with numpy (``np.int64(10)``) is an integer."""
    expand = Expand(top=value)
    assert expand.top == 10
    assert type(expand.top) is int
    assert expand.to_runflow_input()['expand_top'] == 10


@pytest.mark.parametrize(
    'value', [np.float64(10.0), np.bool_(True), np.int64(81), np.int8(-1)]
)
def test_numpy_non_integers_and_out_of_range_are_refused(value):
    """numpy floats and bools are not percentages; the range still holds."""
    with pytest.raises(InvalidInputError) as info:
        Expand(left=value)
    assert info.value.field == 'left'


def test_limits_are_accepted():
    """0 and 80 are both valid percentages."""
    assert Expand(0, 80, 0, 80).as_dict() == {
        'top': 0,
        'bottom': 80,
        'left': 0,
        'right': 80,
    }


def test_padding_rounds_half_up_per_axis():
    """Top/bottom follow the height, left/right the width, half rounds up."""
    assert Expand(10, 30, 70, 0).padding(100, 200) == Padding(10, 30, 140, 0)
    assert pad_pixels(5, 10) == 1  # 0.5 -> 1
    assert pad_pixels(4, 10) == 0  # 0.4 -> 0
    assert pad_pixels(15, 10) == 2  # 1.5 -> 2
    assert Expand(50, 50, 25, 25).canvas_shape(3, 4) == (3 + 2 + 2, 4 + 1 + 1)


def test_runflow_input_fields():
    """The four expand_* fields are what the Runflow model takes."""
    assert Expand(1, 2, 3, 4).to_runflow_input() == {
        'expand_top': 1,
        'expand_bottom': 2,
        'expand_left': 3,
        'expand_right': 4,
    }
