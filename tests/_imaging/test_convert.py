"""Plane selection, 8-bit conversion both ways, and resampling."""

import numpy as np
import pytest

from napari_outpaint._errors import InvalidInputError
from napari_outpaint._imaging import convert
from napari_outpaint._imaging.convert import (
    as_level0,
    default_contrast_limits,
    from_rgb8,
    resample_rgb8,
    select_plane,
    to_rgb8,
)


class RecordingArray:
    """A lazy array-like that records which keys were read."""

    def __init__(self, shape, dtype=np.uint16):
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.keys = []

    def __getitem__(self, key):
        self.keys.append(key)
        full = np.arange(np.prod(self.shape), dtype=self.dtype)
        return full.reshape(self.shape)[key]


def test_uint8_with_full_limits_passes_through_unchanged():
    """uint8 data with limits (0, 255) is sent as is and comes back as is."""
    plane = np.arange(256, dtype=np.uint8).reshape(16, 16)
    rgb8 = to_rgb8(plane, rgb=False, contrast_limits=(0, 255))
    assert rgb8.dtype == np.uint8
    assert rgb8.shape == (16, 16, 3)
    for channel in range(3):
        np.testing.assert_array_equal(rgb8[..., channel], plane)
    back = from_rgb8(rgb8, dtype=np.uint8, rgb=False, contrast_limits=(0, 255))
    np.testing.assert_array_equal(back, plane)


def test_contrast_limits_map_to_black_and_white():
    """The low limit maps to 0, the high limit to 255, clipped outside."""
    plane = np.array([[100, 1000, 550, 5000, 0]], dtype=np.uint16)
    rgb8 = to_rgb8(plane, rgb=False, contrast_limits=(100, 1000))
    np.testing.assert_array_equal(rgb8[0, :, 0], [0, 255, 128, 255, 0])


def test_gamma_follows_napari_display_mapping():
    """Gamma is applied as ((x - lo) / (hi - lo)) ** gamma, like napari."""
    plane = np.array([[0.0, 0.25, 0.5, 1.0]])
    rgb8 = to_rgb8(plane, rgb=False, contrast_limits=(0, 1), gamma=2.0)
    expected = np.rint(np.array([0, 0.0625, 0.25, 1.0]) * 255)
    np.testing.assert_array_equal(rgb8[0, :, 1], expected)
    back = from_rgb8(
        rgb8, dtype=np.float64, rgb=False, contrast_limits=(0, 1), gamma=2.0
    )
    np.testing.assert_allclose(back[0], plane[0], atol=0.02)


@pytest.mark.parametrize(
    ('dtype', 'limits'),
    [
        (np.uint16, (200, 60000)),
        (np.uint32, (0, 3_000_000_000)),
        (np.int16, (-3000, 3000)),
        (np.float32, (-1.5, 2.5)),
        (np.float64, (10.0, 11.0)),
    ],
)
def test_round_trip_restores_dtype_and_range(dtype, limits):
    """Values inside the limits come back within one 8-bit step."""
    lo, hi = limits
    values = np.linspace(lo, hi, 300).reshape(15, 20).astype(dtype)
    rgb8 = to_rgb8(values, rgb=False, contrast_limits=limits)
    back = from_rgb8(rgb8, dtype=dtype, rgb=False, contrast_limits=limits)
    assert back.dtype == np.dtype(dtype)
    step = (hi - lo) / 255
    err = np.abs(back.astype(np.float64) - values.astype(np.float64))
    assert err.max() <= step * 0.51 + 1


def test_integer_results_are_clipped_to_the_dtype_range():
    """Limits wider than the dtype never wrap around when cast back."""
    white = np.full((2, 2, 3), 255, np.uint8)
    back = from_rgb8(
        white, dtype=np.uint8, rgb=False, contrast_limits=(0, 1000)
    )
    np.testing.assert_array_equal(back, 255)
    black = np.zeros((2, 2, 3), np.uint8)
    back = from_rgb8(
        black, dtype=np.uint16, rgb=False, contrast_limits=(-50, 10)
    )
    np.testing.assert_array_equal(back, 0)


def test_nan_and_inf_map_to_finite_8bit_values():
    """NaN goes to black, +inf to white, -inf to black: nothing breaks."""
    plane = np.array([[np.nan, np.inf, -np.inf, 0.5]], dtype=np.float32)
    rgb8 = to_rgb8(plane, rgb=False, contrast_limits=(0, 1))
    np.testing.assert_array_equal(rgb8[0, :, 0], [0, 255, 0, 128])


def test_rgba_is_composited_over_black_and_returns_opaque_alpha():
    """RGBA is sent premultiplied over black; generated alpha is opaque."""
    plane = np.array([[[200, 100, 50, 128], [10, 20, 30, 255]]], np.uint8)
    rgb8 = to_rgb8(plane, rgb=True, contrast_limits=(0, 255))
    np.testing.assert_array_equal(rgb8[0, 0], [100, 50, 25])
    np.testing.assert_array_equal(rgb8[0, 1], [10, 20, 30])
    back = from_rgb8(
        rgb8,
        dtype=np.uint8,
        rgb=True,
        channels=4,
        contrast_limits=(0, 255),
    )
    assert back.shape == (1, 2, 4)
    np.testing.assert_array_equal(back[..., 3], 255)
    np.testing.assert_array_equal(back[0, 1, :3], [10, 20, 30])


def test_colour_is_kept_per_channel_for_rgb_data():
    """RGB float data keeps its colours through the round trip."""
    plane = np.zeros((4, 4, 3), np.float32)
    plane[..., 0] = 1.0
    plane[..., 2] = 0.5
    rgb8 = to_rgb8(plane, rgb=True, contrast_limits=(0, 1))
    back = from_rgb8(rgb8, dtype=np.float32, rgb=True, contrast_limits=(0, 1))
    np.testing.assert_allclose(back, plane, atol=1 / 255)


def test_grayscale_result_is_the_luminance_of_a_coloured_output():
    """A colour result becomes grey by Rec. 601 luminance."""
    red = np.zeros((1, 1, 3), np.uint8)
    red[..., 0] = 255
    back = from_rgb8(red, dtype=np.float64, rgb=False, contrast_limits=(0, 1))
    assert back[0, 0] == pytest.approx(0.299)


def test_bad_limits_or_gamma_are_refused_naming_the_field():
    """Non-finite or inverted limits and gamma <= 0 name their field."""
    plane = np.zeros((2, 2))
    with pytest.raises(InvalidInputError) as info:
        to_rgb8(plane, rgb=False, contrast_limits=(1, 1))
    assert info.value.field == 'contrast_limits'
    with pytest.raises(InvalidInputError) as info:
        to_rgb8(plane, rgb=False, contrast_limits=(0, 1), gamma=0)
    assert info.value.field == 'gamma'


def test_select_plane_reads_only_that_plane_of_a_lazy_array():
    """Only the requested plane is indexed, and it comes back as numpy."""
    lazy = RecordingArray((3, 4, 5, 6))
    plane = select_plane(lazy, (2, 1), rgb=False)
    assert lazy.keys == [(2, 1)]
    assert isinstance(plane, np.ndarray)
    expected = np.arange(3 * 4 * 5 * 6).reshape(3, 4, 5, 6)[2, 1]
    np.testing.assert_array_equal(plane, expected)


def test_select_plane_keeps_the_colour_axis():
    """An RGB stack plane keeps rows, cols and channels."""
    data = np.arange(2 * 5 * 6 * 3).reshape(2, 5, 6, 3)
    np.testing.assert_array_equal(select_plane(data, (1,), rgb=True), data[1])


def test_select_plane_refuses_a_wrong_number_of_indices():
    """A plane with the wrong length is an InvalidInputError naming plane."""
    with pytest.raises(InvalidInputError) as info:
        select_plane(np.zeros((3, 4, 5)), (), rgb=False)
    assert info.value.field == 'plane'


def test_multiscale_uses_level_zero():
    """A list of arrays is a pyramid: level 0 is the full resolution."""
    big, small = np.zeros((8, 8)), np.zeros((4, 4))
    assert as_level0([big, small]) is big
    assert as_level0(big) is big


def test_default_contrast_limits_ignore_non_finite_values():
    """Defaults: uint8 full range, else the finite min/max, widened if flat."""
    assert default_contrast_limits(np.zeros((2, 2), np.uint8)) == (0, 255)
    floats = np.array([[np.nan, np.inf, -2.0, 3.0]])
    assert default_contrast_limits(floats) == (-2.0, 3.0)
    assert default_contrast_limits(np.full((2, 2), 7, np.uint16)) == (7, 8)
    assert default_contrast_limits(np.full((2, 2), np.nan)) == (0, 1)


def test_resample_keeps_napari_pixel_centre_convention():
    """A bright column j lands centred at column 3j+1 when upscaled by 3."""
    image = np.zeros((4, 10, 3), np.uint8)
    image[:, 6] = 255
    up = resample_rgb8(image, (12, 30))
    profile = up[5, :, 0].astype(float)
    centre = (profile * np.arange(30)).sum() / profile.sum()
    assert centre == pytest.approx(3 * 6 + 1, abs=0.05)
    assert resample_rgb8(image, (4, 10)) is image


@pytest.mark.parametrize('dtype', [np.uint16, np.float32, np.int64])
@pytest.mark.parametrize('rgb', [False, True])
def test_band_conversions_equal_whole_plane_ones(monkeypatch, dtype, rgb):
    """Converting band by band gives the same pixels as one big band."""
    rng = np.random.default_rng(4)
    shape = (37, 29, 4) if rgb else (37, 29)
    plane = rng.integers(0, 1000, shape).astype(dtype)
    limits = (10.0, 900.0)
    whole = to_rgb8(plane, rgb=rgb, contrast_limits=limits, gamma=0.7)
    back = from_rgb8(
        whole, dtype=dtype, rgb=rgb, channels=shape[-1] if rgb else 3,
        contrast_limits=limits, gamma=0.7,
    )  # fmt: skip
    monkeypatch.setattr(convert, 'BAND_PIXELS', 50)  # bands of 1-2 rows
    np.testing.assert_array_equal(
        to_rgb8(plane, rgb=rgb, contrast_limits=limits, gamma=0.7), whole
    )
    np.testing.assert_array_equal(
        from_rgb8(
            whole, dtype=dtype, rgb=rgb, channels=shape[-1] if rgb else 3,
            contrast_limits=limits, gamma=0.7,
        ),
        back,
    )  # fmt: skip


def test_default_limits_of_floats_skip_non_finite_values():
    """NaN and inf are ignored without a float copy of the plane."""
    plane = np.array([[np.nan, 2.0], [np.inf, -3.0]], np.float32)
    assert default_contrast_limits(plane) == (-3.0, 2.0)
    assert default_contrast_limits(np.full((2, 2), np.inf)) == (0.0, 1.0)
    assert default_contrast_limits(np.array([[5, 9]], np.int64)) == (5, 9)
