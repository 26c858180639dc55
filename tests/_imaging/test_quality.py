"""Quality metrics, and the local fills' quality on generated images.

The bands below were calibrated on these generated images, 160 px (crop
the centre, outpaint 30 % per side back, compare with the truth):

==================  ===============  ==============  ============
fill                sharpness ratio  reference seam  seam_score
==================  ===============  ==============  ============
PatchMatch (ps=3)   0.87 - 1.11      0.81 - 1.35     0.86 - 1.37
fast fill (1/2)     0.88 - 1.11      0.87 - 1.23     0.87 - 1.26
reflection          1.01 - 1.29      1.00 - 1.05     1.01 - 1.09
sigma-2 blur        0.32 (texture)
flat colour                          1.83 - 7.28     1.76 - 7.71
the truth itself    1                1               0.96 - 1.06
==================  ===============  ==============  ============

Each band leaves a margin of at least 0.15 around what was measured.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from napari_outpaint._expand import Expand
from napari_outpaint._imaging.quality import (
    SEAM_WARN_THRESHOLD,
    masked_psnr,
    masked_ssim,
    reference_seam_ratio,
    seam_score,
    sharpness_ratio,
)
from napari_outpaint.engines.local import LocalEngine

SHARP_BAND = (0.6, 1.45)
SEAM_BAND = (0.6, 1.6)


def _fractal(size: int, beta: float, rng) -> np.ndarray:
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1.0
    spectrum = rng.normal(size=radius.shape) + 1j * rng.normal(
        size=radius.shape
    )
    field = np.fft.irfft2(spectrum / radius ** (beta / 2), s=(size, size))
    return (field - field.min()) / np.ptp(field)


def texture(size: int, seed: int) -> np.ndarray:
    """Coloured 1/f noise, like a rough natural surface."""
    rng = np.random.default_rng(seed)
    rgb = np.stack([_fractal(size, 2.2, rng) for _ in range(3)], axis=-1)
    return (rgb * 255).astype(np.uint8)


def blobs(size: int, seed: int) -> np.ndarray:
    """Bright Gaussian 'cells' on a dim fractal background, with noise."""
    rng = np.random.default_rng(seed)
    image = 0.2 * _fractal(size, 2.5, rng)[..., None] * np.ones(3)
    yy, xx = np.mgrid[:size, :size]
    for _ in range(size // 6):
        cy, cx = rng.uniform(0, size, 2)
        radius = rng.uniform(4, 10)
        colour = rng.uniform(0.3, 1, 3)
        spot = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
        image += spot[..., None] * colour
    image += rng.normal(0, 0.03, image.shape)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def crop_case(truth: np.ndarray, percent: int = 30):
    """Crop the centre so that *percent* per side restores *truth*."""
    size = truth.shape[0]
    expand = Expand(percent, percent, percent, percent)
    crop = int(size / (1 + 2 * percent / 100))
    while expand.canvas_shape(crop, crop)[0] > size:
        crop -= 1
    pad = expand.padding(crop, crop)
    canvas = pad.canvas_shape(crop, crop)[0]
    start = (size - canvas) // 2
    truth = truth[start : start + canvas, start : start + canvas]
    inner = (slice(pad.top, pad.top + crop), slice(pad.left, pad.left + crop))
    hole = np.ones(truth.shape[:2], bool)
    hole[inner] = False
    return truth, np.ascontiguousarray(truth[inner]), expand, inner, hole


CASES = [(texture, 1), (texture, 2), (blobs, 1), (blobs, 2)]
CASE_IDS = ['texture-1', 'texture-2', 'blobs-1', 'blobs-2']
ENGINES = {
    'patchmatch': {'scale': 1, 'workers': 0},
    'fast': {'scale': 2, 'workers': 0},
    'reflect': {'method': 'reflect'},
}


@pytest.mark.parametrize('engine', ENGINES)
@pytest.mark.parametrize(('make', 'seed'), CASES, ids=CASE_IDS)
def test_fills_are_sharp_and_seamless_within_calibrated_bands(
    make, seed, engine
):
    """Every local fill keeps real texture energy and a seam like reality,
    and its no-reference seam score stays below the warning threshold."""
    truth, crop, expand, inner, hole = crop_case(make(160, seed))
    out = LocalEngine(seed=0, **ENGINES[engine]).outpaint(crop, expand).image
    assert SHARP_BAND[0] <= sharpness_ratio(out, truth, hole) <= SHARP_BAND[1]
    assert SEAM_BAND[0] <= reference_seam_ratio(out, truth, inner)
    assert reference_seam_ratio(out, truth, inner) <= SEAM_BAND[1]
    assert seam_score(out, inner) < SEAM_WARN_THRESHOLD


@pytest.mark.parametrize('seed', [1, 2])
def test_a_blurred_fill_fails_the_sharpness_band(seed):
    """A fill smoothed like the diffusion/Telea engines falls below the
    sharpness band, although its seam looks fine."""
    truth, crop, expand, inner, hole = crop_case(texture(160, seed))
    out = LocalEngine(seed=0, scale=1, workers=0).outpaint(crop, expand).image
    blurred = gaussian_filter(out.astype(float), (2, 2, 0))
    smooth = out.copy()
    smooth[hole] = np.clip(blurred[hole] + 0.5, 0, 255).astype(np.uint8)
    assert sharpness_ratio(smooth, truth, hole) < SHARP_BAND[0]
    assert sharpness_ratio(out, truth, hole) >= SHARP_BAND[0]


@pytest.mark.parametrize('seed', [1, 2])
def test_a_flat_border_is_a_seam_worth_a_warning(seed):
    """A border painted in the image's mean colour scores above the seam
    warning threshold, with and without the reference."""
    truth, crop, expand, inner, hole = crop_case(blobs(160, seed))
    flat = truth.copy()
    flat[hole] = crop.reshape(-1, 3).mean(axis=0).astype(np.uint8)
    assert seam_score(flat, inner) > SEAM_WARN_THRESHOLD
    assert reference_seam_ratio(flat, truth, inner) > SEAM_BAND[1]


@pytest.mark.parametrize(('make', 'seed'), CASES, ids=CASE_IDS)
def test_seam_score_of_the_truth_is_about_one(make, seed):
    """An uncut image has no seam: its score is close to 1."""
    truth, _, _, inner, _ = crop_case(make(160, seed))
    assert 0.75 <= seam_score(truth, inner) <= 1.3


def test_seam_score_needs_an_expanded_edge():
    """Without an expanded edge, or with a tiny original, there is no
    score."""
    image = texture(64, 3)
    assert seam_score(image, (slice(0, 64), slice(0, 64))) is None
    assert seam_score(image, (slice(30, 34), slice(30, 34))) is None
    assert seam_score(image, (slice(8, 64), slice(0, 64))) is not None


def test_reference_metrics_of_the_truth_itself():
    """Comparing the truth with itself gives the ideal values."""
    truth, _, _, inner, hole = crop_case(blobs(96, 4))
    assert masked_psnr(truth, truth, hole) == float('inf')
    assert masked_ssim(truth, truth, hole) == pytest.approx(1.0)
    assert sharpness_ratio(truth, truth, hole) == pytest.approx(1.0)
    assert reference_seam_ratio(truth, truth, inner) == pytest.approx(1.0)


def test_masked_psnr_and_ssim_only_look_at_the_mask():
    """Errors outside the mask do not count; a known error gives the
    textbook PSNR, and noise lowers SSIM."""
    truth = texture(64, 5)
    mask = np.zeros((64, 64), bool)
    mask[:, :16] = True
    out = truth.astype(np.int16)
    out[:, 16:] = 0  # outside the mask: ignored
    out[:, :16] += 10
    out = np.clip(out, 0, 255).astype(np.uint8)
    exact = (out[mask].astype(float) - truth[mask]) ** 2
    expected = 10 * np.log10(255**2 / exact.mean())
    assert masked_psnr(out, truth, mask) == pytest.approx(expected)
    noisy = truth.astype(float) + np.random.default_rng(0).normal(
        0, 40, truth.shape
    )
    noisy = np.clip(noisy, 0, 255).astype(np.uint8)
    assert masked_ssim(noisy, truth, mask) < 0.8


@pytest.mark.parametrize('channels', [None, 3])
def test_seam_score_with_the_original_equals_the_pasted_canvas(channels):
    """Scoring with original= is scoring the pasted canvas, with no copy."""
    rng = np.random.default_rng(3)
    shape = (50, 60) if channels is None else (50, 60, channels)
    canvas = rng.integers(0, 255, shape).astype(np.uint8)
    inner = (slice(6, 41), slice(9, 52))
    original = rng.integers(0, 255, (35, 43, *shape[2:])).astype(np.uint8)
    pasted = canvas.copy()
    pasted[inner] = original
    assert seam_score(canvas, inner, original=original) == seam_score(
        pasted, inner
    )
    assert seam_score(canvas, inner) != seam_score(pasted, inner)
