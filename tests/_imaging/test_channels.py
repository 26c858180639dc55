"""Channels of one image as the 8-bit image an engine sees."""

import numpy as np
import pytest

from napari_outpaint._imaging import ChannelComposite, guide_basis, to_rgb8


def test_up_to_three_channels_are_the_r_g_b_each_through_its_window():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4000, (2, 10, 12)).astype(np.uint16)
    b = rng.random((2, 10, 12)).astype(np.float32)
    composite = ChannelComposite([a, b], [(0, 4000), (0, 1)], [1.0, 0.5])
    assert composite.shape == (2, 10, 12, 3)
    assert composite.dtype == np.uint8
    plane = composite[1]
    want_a = to_rgb8(a[1], rgb=False, contrast_limits=(0, 4000))[..., 0]
    want_b = to_rgb8(b[1], rgb=False, contrast_limits=(0, 1), gamma=0.5)
    np.testing.assert_array_equal(plane[..., 0], want_a)
    np.testing.assert_array_equal(plane[..., 1], want_b[..., 0])
    assert not plane[..., 2].any()  # no third channel
    np.testing.assert_array_equal(np.asarray(composite)[1], plane)
    with pytest.raises(IndexError):
        composite[0, 1]


def test_more_channels_need_a_guide():
    channels = [np.zeros((8, 8), np.uint8)] * 4
    with pytest.raises(ValueError, match='at most 3'):
        ChannelComposite(channels, [(0, 255)] * 4, [1.0] * 4)


def test_the_guide_is_the_principal_components_stretched_to_8_bits():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 256, (20, 30)).astype(np.uint8)
    channels = [base, 255 - base, base // 2, base, base]
    composite = ChannelComposite(
        channels, [(0, 255)] * 5, [1.0] * 5, guide=True
    )
    guide = composite[()]
    assert guide.shape == (20, 30, 3)
    # one direction of variation: the first component orders the pixels
    # as the base channel does, over the full 0-255 range
    assert guide[..., 0].min() == 0
    assert guide[..., 0].max() == 255
    order = np.argsort(base.ravel(), kind='stable')
    assert np.all(np.diff(guide[..., 0].ravel()[order].astype(int)) >= 0)


def test_guide_basis_signs_and_padding_are_fixed():
    views = np.random.default_rng(2).integers(0, 256, (500, 2)).astype(float)
    basis = guide_basis(views)
    assert basis.components.shape == (2, 3)
    assert not basis.components[:, 2].any()  # two channels: no third
    for k in range(2):
        assert basis.components[:, k].sum() > 0
