"""Where a result lands in world space: hand-computed cases and napari."""

import numpy as np
import pytest
from napari.layers import Image

from napari_outpaint._imaging.placement import (
    canvas_world_bounds,
    place_result,
)


def test_on_the_original_grid_the_canvas_starts_at_translate_minus_pad():
    """f = 1: new_translate = translate - pad * scale, scale unchanged."""
    placed = place_result(
        scale=(0.5, 2.0),
        translate=(10.0, -3.0),
        pad_before=(4, 6),
        canvas_shape=(30, 40),
        result_shape=(30, 40),
    )
    assert placed.scale == (0.5, 2.0)
    assert placed.translate == pytest.approx((10 - 4 * 0.5, -3 - 6 * 2.0))
    assert placed.pixels_per_result_pixel == (1.0, 1.0)


def test_upscaled_result_uses_half_pixel_correction():
    """Upscaled 2x: scale halves, translate shifts by (new - old) / 2."""
    placed = place_result(
        scale=(0.5, 2.0),
        translate=(10.0, -3.0),
        pad_before=(4, 6),
        canvas_shape=(30, 40),
        result_shape=(60, 80),
    )
    assert placed.scale == pytest.approx((0.25, 1.0))
    expected = (
        10 - 4 * 0.5 + (0.25 - 0.5) / 2,
        -3 - 6 * 2.0 + (1.0 - 2.0) / 2,
    )
    assert placed.translate == pytest.approx(expected)


def test_downscaled_result_uses_half_pixel_correction():
    """Half the resolution: scale doubles, translate moves by +scale/2."""
    placed = place_result(
        scale=(1.0, 1.0),
        translate=(0.0, 0.0),
        pad_before=(0, 0),
        canvas_shape=(40, 40),
        result_shape=(20, 20),
    )
    assert placed.scale == (2.0, 2.0)
    assert placed.translate == pytest.approx((0.5, 0.5))


def test_leading_axes_sit_at_the_plane():
    """A length-1 leading axis is translated to the plane's index."""
    placed = place_result(
        scale=(3.0, 2.0, 1.0, 1.0),
        translate=(1.0, 5.0, 0.0, 0.0),
        pad_before=(0, 2),
        canvas_shape=(10, 12),
        result_shape=(10, 12),
        plane=(4, 7),
    )
    assert placed.translate[:2] == pytest.approx((1 + 4 * 3, 5 + 7 * 2))
    assert placed.scale[:2] == (3.0, 2.0)


@pytest.mark.parametrize('result_shape', [(26, 35), (78, 105), (61, 87)])
def test_result_pixel_centres_land_on_the_canvas_in_world(result_shape):
    """Through napari's own transforms, with rotate, shear and affine.

    A result pixel's centre must map to the world position of the canvas
    point it samples: original index ``(i + 0.5) * f - 0.5 - pad``.
    """
    kwargs = {
        'scale': (0.7, 1.3),
        'translate': (5.0, -2.0),
        'rotate': 25.0,
        'shear': [0.3],
        'affine': np.array([[1.1, 0.2, 3.0], [0.0, 0.9, -1.0], [0, 0, 1]]),
    }
    original = Image(np.zeros((20, 30)), **kwargs)
    linear = original._transforms['data2physical'].linear_matrix
    placed = place_result(
        scale=kwargs['scale'],
        translate=kwargs['translate'],
        pad_before=(2, 3),
        canvas_shape=(26, 35),
        result_shape=result_shape,
        linear=linear,
    )
    new_kwargs = dict(kwargs, scale=placed.scale, translate=placed.translate)
    new = Image(np.zeros(result_shape), **new_kwargs)
    f = np.array((26, 35)) / np.array(result_shape)
    rng = np.random.default_rng(1)
    for i in rng.integers(0, result_shape, size=(50, 2)):
        in_original = (i + 0.5) * f - 0.5 - np.array((2, 3))
        np.testing.assert_allclose(
            new.data_to_world(i),
            original.data_to_world(in_original),
            atol=1e-9,
        )


def test_world_bounds_cover_pixel_edges():
    """Bounds of a region are its pixel-edge corners through the transform."""
    bounds = canvas_world_bounds(
        translate=(1.0, 2.0),
        linear=np.diag((2.0, 3.0)),
        affine=None,
        rows=(-0.5, 9.5),
        cols=(-0.5, 4.5),
    )
    assert bounds == {'min': [0.0, 0.5], 'max': [20.0, 15.5]}
