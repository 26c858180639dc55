"""Validation of outpaint_array's arguments (``_pipeline/validate.py``).

What this file checks
---------------------
- ``normalize_plane``: one integer index per leading axis, negatives
  counted from the end, returned as plain ints.
- ``check_data``: a real numeric dtype, at least two non-empty spatial
  axes, and RGB(A) inferred from or checked against the last axis.
- ``vector``, ``affine_matrix``, ``linear_matrix``: per-axis vectors and
  matrices of the right size, composed as napari does.
- ``check_gamma`` and ``check_limits``: finite, positive, ordered.
- Every refusal is an ``InvalidInputError`` whose ``field`` and message
  name the argument.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from napari_outpaint._errors import InvalidInputError
from napari_outpaint._pipeline.validate import (
    affine_matrix,
    check_data,
    check_gamma,
    check_limits,
    is_int,
    linear_matrix,
    normalize_plane,
    vector,
)


def _refused(field: str, call, *args):
    """Call and check the refusal names *field*; return its message."""
    with pytest.raises(InvalidInputError) as info:
        call(*args)
    assert info.value.field == field
    assert str(info.value).startswith(f'{field}: ')
    return str(info.value)


# -- normalize_plane ---------------------------------------------------------


@pytest.mark.parametrize('plane', [None, ()])
def test_2d_data_needs_no_plane(plane):
    """Without leading axes the plane is the empty tuple."""
    assert normalize_plane(plane, ()) == ()


@pytest.mark.parametrize(
    ('plane', 'lead', 'expected'),
    [
        ((1, 2), (3, 4), (1, 2)),
        ([0, 3], (3, 4), (0, 3)),
        (2, (5,), (2,)),
        (np.int64(4), (5,), (4,)),
        (np.array([2, 1]), (3, 4), (2, 1)),
        ((np.int32(1), 0), (3, 4), (1, 0)),
    ],
    ids=['tuple', 'list', 'int', 'numpy-int', 'numpy-array', 'mixed'],
)
def test_plane_forms_that_are_accepted(plane, lead, expected):
    """Tuples, lists, ints, numpy ints and arrays name a plane."""
    got = normalize_plane(plane, lead)
    assert got == expected
    assert all(type(i) is int for i in got)


def test_negative_indices_count_from_the_end():
    """-1 is the last plane of that axis, as in numpy indexing."""
    assert normalize_plane((-1, -4), (3, 4)) == (2, 0)


def test_stack_without_plane_is_refused_with_an_example():
    """A stack needs a plane; the message shows one index per axis."""
    message = _refused('plane', normalize_plane, None, (3, 4))
    assert 'plane=(0, 0)' in message
    assert '(3, 4)' in message


@pytest.mark.parametrize(
    ('plane', 'words'),
    [
        ((3, 0), 'index 3 on axis 0 is out of range for size 3; use 0 to 2'),
        ((0, -5), 'index -5 on axis 1 is out of range for size 4'),
        ((1,), 'expected 2 indices'),
        ((1, 2, 0), 'expected 2 indices'),
        ((1.0, 0), 'integer indices'),
        ((True, 0), 'integer indices'),
        ('10', 'integer indices'),
        (object(), 'integer indices'),
    ],
    ids=[
        'too-high',
        'too-low',
        'too-few',
        'too-many',
        'float',
        'bool',
        'str',
        'object',
    ],
)
def test_bad_plane_is_refused_saying_why(plane, words):
    """Out of range, wrong count or non-integer indices are refused."""
    assert words in _refused('plane', normalize_plane, plane, (3, 4))


def test_a_plane_on_2d_data_is_refused():
    """Indices for data that has no leading axis are one too many."""
    assert 'expected 0 indices' in _refused('plane', normalize_plane, (0,), ())


@pytest.mark.parametrize(
    ('value', 'expected'),
    [
        (3, True),
        (np.uint8(3), True),
        (True, False),
        (np.bool_(True), False),
        (3.0, False),
        ('3', False),
    ],
)
def test_is_int_excludes_bools_and_floats(value, expected):
    """Booleans are not indices, even though bool subclasses int."""
    assert is_int(value) is expected


# -- check_data --------------------------------------------------------------


@pytest.mark.parametrize(
    ('shape', 'rgb'),
    [
        ((8, 9), False),
        ((8, 9, 3), True),
        ((8, 9, 4), True),
        ((8, 9, 5), False),
        ((2, 8, 9, 3), True),
        ((3, 8, 9), False),
    ],
)
def test_rgb_is_inferred_from_the_last_axis(shape, rgb):
    """rgb=None means RGB(A) when the last of >= 3 axes has 3 or 4."""
    assert check_data(np.zeros(shape, np.uint8), None) is rgb


@pytest.mark.parametrize('rgb', [True, False])
def test_rgb_given_is_kept(rgb):
    """An explicit rgb that fits the shape is returned as given."""
    assert check_data(np.zeros((8, 9, 3), np.uint8), rgb) is rgb


@pytest.mark.parametrize('dtype', [np.uint16, np.int8, np.float32, bool])
def test_real_numeric_dtypes_are_accepted(dtype):
    """Unsigned, signed, float and boolean images are all fine."""
    assert check_data(np.zeros((4, 4), dtype), None) is False


@pytest.mark.parametrize('dtype', [np.complex64, object, 'U1', 'M8[s]'])
def test_other_dtypes_are_refused(dtype):
    """Complex, object, string and datetime data are refused by dtype."""
    message = _refused('data', check_data, np.zeros((4, 4), dtype), None)
    assert 'not a real numeric image type' in message


@pytest.mark.parametrize('shape', [(8, 9), (8, 9, 5), (8, 3)])
def test_rgb_true_needs_three_or_four_channels(shape):
    """rgb=True with no channel axis of 3 or 4 is refused, naming rgb."""
    message = _refused('rgb', check_data, np.zeros(shape, np.uint8), True)
    assert str(shape) in message


@pytest.mark.parametrize(
    'shape', [(9,), (0, 9), (9, 0), (2, 0, 9)], ids=['1d', 'rows', 'cols', 'z']
)
def test_fewer_than_two_non_empty_spatial_axes_are_refused(shape):
    """At least two spatial axes, and no axis of size 0."""
    message = _refused('data', check_data, np.zeros(shape, np.uint8), False)
    assert '2 spatial dimensions of non-zero size' in message


# -- vector, affine_matrix, linear_matrix ------------------------------------


def test_vector_defaults_to_the_fill_value():
    """None gives one fill value per axis."""
    np.testing.assert_array_equal(vector('scale', None, 3, 1.0), [1, 1, 1])
    np.testing.assert_array_equal(vector('translate', None, 2, 0.0), [0, 0])


def test_vector_accepts_any_flat_sequence_of_numbers():
    """Lists, tuples and arrays become float64 vectors."""
    got = vector('translate', (1, np.float32(2.5)), 2, 0.0)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [1.0, 2.5])
    np.testing.assert_array_equal(
        vector('scale', np.array([[2, 3]]), 2, 1.0), [2.0, 3.0]
    )


@pytest.mark.parametrize(
    'value', [(1.0,), (1.0, 2.0, 3.0), (1.0, np.nan), (np.inf, 1.0)]
)
@pytest.mark.parametrize('name', ['scale', 'translate'])
def test_vector_needs_ndim_finite_numbers(name, value):
    """Wrong length or a non-finite entry is refused, naming the vector."""
    assert 'expected 2 finite numbers' in _refused(
        name, vector, name, value, 2, 0.0
    )


def test_scale_must_not_contain_zero():
    """A zero scale would collapse an axis; a zero translate is fine."""
    assert 'must not contain 0' in _refused(
        'scale', vector, 'scale', (1.0, 0.0), 2, 1.0
    )
    np.testing.assert_array_equal(
        vector('translate', (0.0, 0.0), 2, 0.0), [0, 0]
    )


def test_affine_defaults_to_identity():
    """No affine is the (ndim + 1) identity."""
    np.testing.assert_array_equal(affine_matrix(None, 2), np.eye(3))


def test_affine_accepts_a_matrix_or_a_transform():
    """A plain matrix, or anything with ``affine_matrix``, is used as is."""
    matrix = np.array([[2.0, 0, 5], [0, 3.0, -1], [0, 0, 1]])
    np.testing.assert_array_equal(affine_matrix(matrix.tolist(), 2), matrix)
    transform = SimpleNamespace(affine_matrix=matrix)
    np.testing.assert_array_equal(affine_matrix(transform, 2), matrix)


@pytest.mark.parametrize('shape', [(2, 2), (4, 4), (3, 4)])
def test_affine_of_the_wrong_size_is_refused(shape):
    """The matrix must be (ndim + 1) square, and the message says so."""
    message = _refused('affine', affine_matrix, np.eye(*shape), 2)
    assert 'expected a (3, 3) matrix' in message
    assert str(shape) in message


_ROTATE = np.array([[0.0, -1.0], [1.0, 0.0]])  # 90 degrees
_SHEAR = np.array([[1.0, 0.5], [0.0, 1.0]])


def test_linear_matrix_is_the_scale_without_rotate_or_shear():
    """No rotation, no shear: a diagonal matrix of the scale."""
    np.testing.assert_array_equal(
        linear_matrix(np.array([2.0, 3.0]), None, None, 2), np.diag([2, 3])
    )


@pytest.mark.parametrize(
    ('rotate', 'shear', 'expected'),
    [
        (_ROTATE, None, _ROTATE @ np.diag([2.0, 3.0])),
        (None, _SHEAR, _SHEAR @ np.diag([2.0, 3.0])),
        (_ROTATE, _SHEAR, _ROTATE @ _SHEAR @ np.diag([2.0, 3.0])),
    ],
    ids=['rotate', 'shear', 'both'],
)
def test_linear_matrix_composes_rotate_shear_scale(rotate, shear, expected):
    """The order is napari's: rotate @ shear @ scale."""
    got = linear_matrix(np.array([2.0, 3.0]), rotate, shear, 2)
    np.testing.assert_allclose(got, expected, atol=1e-12)


# -- check_gamma, check_limits ----------------------------------------------


@pytest.mark.parametrize(
    ('gamma', 'expected'),
    [(1, 1.0), (0.5, 0.5), (np.float32(2.0), 2.0), (np.int16(3), 3.0)],
)
def test_gamma_accepts_positive_finite_numbers(gamma, expected):
    """Python and numpy numbers above 0 come back as a float."""
    got = check_gamma(gamma)
    assert got == expected
    assert type(got) is float


@pytest.mark.parametrize(
    'gamma', [0, -1.0, np.nan, np.inf, True, '1', None, [1.0]]
)
def test_gamma_refuses_everything_else(gamma):
    """Zero, negatives, non-finite values and non-numbers are refused."""
    assert 'finite number above 0' in _refused('gamma', check_gamma, gamma)


@pytest.mark.parametrize(
    'limits', [(0, 255), [0.5, 1.5], np.array([-3.0, 4.0]), (0, 1e30)]
)
def test_limits_accept_an_ordered_finite_pair(limits):
    """Any two finite numbers, low < high, as two floats."""
    low, high = check_limits(limits)
    assert (low, high) == (float(limits[0]), float(limits[1]))
    assert type(low) is float
    assert type(high) is float


@pytest.mark.parametrize(
    'limits',
    [
        (1, 1),
        (5, 2),
        (0, np.nan),
        (-np.inf, 1),
        (1,),
        (1, 2, 3),
        None,
        ('low', 'high'),
    ],
    ids=[
        'equal',
        'reversed',
        'nan',
        'inf',
        'one',
        'three',
        'none',
        'words',
    ],
)
def test_limits_refuse_anything_but_an_ordered_finite_pair(limits):
    """Refusals name contrast_limits and say what is expected."""
    message = _refused('contrast_limits', check_limits, limits)
    assert 'high > low' in message


def test_planes_too_small_to_be_images_are_refused():
    """(30, 40, 2) is two channels, not 30 planes of 40 x 2: refused."""
    with pytest.raises(InvalidInputError, match='not an image') as info:
        check_data(np.zeros((30, 40, 2), np.uint8), rgb=False)
    assert info.value.field == 'data'
    assert check_data(np.zeros((2, 3, 3), np.uint8), rgb=False) is False
