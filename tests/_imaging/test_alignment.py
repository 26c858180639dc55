"""The alignment self-check: residual of the original inside the result."""

import numpy as np
import pytest
from scipy import ndimage

from napari_outpaint._imaging.alignment import measure_alignment

INNER = (slice(20, 170), slice(30, 230))


def textured(shape=(150, 200), seed=0):
    """A smooth random texture, uint8 RGB."""
    noise = np.random.default_rng(seed).random(shape)
    smooth = ndimage.gaussian_filter(noise, 2)
    grey = ((smooth - smooth.mean()) * 2000 + 128).clip(0, 255)
    return np.repeat(grey.astype(np.uint8)[..., None], 3, axis=-1)


def canvas_of(image):
    """The image padded by reflection, with the original at INNER."""
    return np.pad(image, ((20, 10), (30, 5), (0, 0)), mode='reflect')


def test_correct_placement_has_zero_residual():
    """The original exactly where expected gives a residual of ~0."""
    image = textured()
    found = measure_alignment(image, canvas_of(image), INNER)
    assert found.residual_px == pytest.approx(0, abs=0.01)
    assert found.tiles == 5


@pytest.mark.parametrize('shift', [(3, -2), (-1, 0), (0, 7)])
def test_integer_shift_is_measured_with_its_sign(shift):
    """Content moved by (dr, dc) pixels is reported as that shift."""
    image = textured()
    moved = np.roll(canvas_of(image), shift, axis=(0, 1))
    found = measure_alignment(image, moved, INNER)
    assert found.shift_px == pytest.approx(shift, abs=0.05)
    assert found.residual_px == pytest.approx(np.hypot(*shift), abs=0.1)


def test_sub_pixel_shift_is_measured_within_a_tenth_of_a_pixel():
    """A 0.6 / -0.9 px shift is measured to within 0.1 px."""
    image = textured()
    canvas = canvas_of(image).astype(float)
    moved = ndimage.shift(canvas, (0.6, -0.9, 0), order=3, mode='nearest')
    found = measure_alignment(
        image, moved.clip(0, 255).astype(np.uint8), INNER
    )
    assert found.shift_px == pytest.approx((0.6, -0.9), abs=0.1)


def test_a_scale_error_shows_up_as_a_large_residual():
    """A 3 % zoom about the corner moves the far tiles by several pixels."""
    image = textured()
    canvas = canvas_of(image)
    zoomed = ndimage.zoom(canvas, (1.03, 1.03, 1), order=1)
    found = measure_alignment(image, zoomed[:180, :235], INNER)
    assert found.residual_px > 3


def test_flat_original_cannot_be_registered():
    """A uniform image gives no residual and says why."""
    image = np.full((150, 200, 3), 90, np.uint8)
    found = measure_alignment(image, canvas_of(image), INNER)
    assert found.residual_px is None
    assert 'texture' in found.note


def test_unrelated_content_is_reported_as_not_matching():
    """When the result's original region is something else, no residual."""
    image = textured(seed=0)
    other = canvas_of(textured(seed=5))
    found = measure_alignment(image, other, INNER)
    assert found.residual_px is None
    assert 'does not match' in found.note
    assert found.as_dict()['residual_px'] is None
