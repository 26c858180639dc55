"""Quality metrics of an outpainted canvas, with and without ground truth.

:func:`seam_score` needs no reference and runs on every result: it
compares the luminance jump across the original's border with the image's
own gradients just inside that border. About 1 means the border is as
smooth as the image itself; well above 1 is a visible seam.

The reference metrics compare a regenerated border with the truth (crop a
real image, outpaint it back): :func:`masked_psnr`, :func:`masked_ssim`,
:func:`sharpness_ratio` (texture energy; blur scores far below 1) and
:func:`reference_seam_ratio`. PSNR and SSIM alone reward blur, so report
all four. Pure numpy and scipy.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    'SEAM_WARN_THRESHOLD',
    'luminance',
    'masked_psnr',
    'masked_ssim',
    'reference_seam_ratio',
    'seam_score',
    'sharpness_ratio',
]

# Above this a result's seam is reported as poor. Calibrated on real
# images (bench/quality.py, bench/local_speed.py) and generated ones
# (tests/test_quality.py): uncut images score 0.95-1.12 and good fills at
# most 1.44 (PatchMatch on grass), while a flat border scored 1.58-9.5.
SEAM_WARN_THRESHOLD = 1.6

_LUMA = np.array([0.299, 0.587, 0.114])
_INSIDE_OFFSET = 3  # the reference gradient is taken k px inside the edge


def luminance(image: np.ndarray) -> np.ndarray:
    """Rec. 601 luminance of an RGB(A) or grayscale image, as float64."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3:
        return image[..., :3] @ _LUMA
    return image


def _line_luminance(pixels: np.ndarray, *, colour: bool) -> np.ndarray:
    """Luminance of one row or column of pixels (``(n, C)`` or ``(n,)``)."""
    line = np.asarray(pixels, dtype=np.float64)
    return line[..., :3] @ _LUMA if colour else line


def seam_score(
    canvas: np.ndarray,
    inner: tuple[slice, slice],
    original: np.ndarray | None = None,
) -> float | None:
    """Seam score of an outpainted *canvas* around the region *inner*.

    Parameters
    ----------
    canvas : numpy.ndarray
        The outpainted image, ``(rows, cols)`` or ``(rows, cols, C)``.
    inner : tuple of slice
        Where the original sits in *canvas* (row slice, column slice).
    original : numpy.ndarray, optional
        The pixels that sit at *inner* once pasted back, when *canvas*
        still holds the engine's version there: scored as if pasted,
        without copying the canvas.

    Returns
    -------
    float or None
        Mean |jump| across every expanded edge divided by the mean
        |difference| between the rows/columns ``k`` and ``k + 1`` pixels
        inside it (``k = 3``); None when no edge was expanded or the
        original is too small to measure.
    """
    rows, cols = canvas.shape[:2]
    r0, r1 = inner[0].start or 0, inner[0].stop or rows
    c0, c1 = inner[1].start or 0, inner[1].stop or cols
    k = _INSIDE_OFFSET
    if r1 - r0 < 2 * k + 2 or c1 - c0 < 2 * k + 2:
        return None

    # only the lines on both sides of each edge are read: a big canvas is
    # never converted to float as a whole
    colour = canvas.ndim == 3

    def row(r: int) -> np.ndarray:
        inside = original is not None and r0 <= r < r1
        line = original[r - r0] if inside else canvas[r, c0:c1]
        return _line_luminance(line, colour=colour)

    def col(c: int) -> np.ndarray:
        inside = original is not None and c0 <= c < c1
        line = original[:, c - c0] if inside else canvas[r0:r1, c]
        return _line_luminance(line, colour=colour)

    jumps: list[np.ndarray] = []
    refs: list[np.ndarray] = []
    if r0 > 0:  # top edge
        jumps.append(row(r0 - 1) - row(r0))
        refs.append(row(r0 + k) - row(r0 + k + 1))
    if r1 < rows:  # bottom edge
        jumps.append(row(r1) - row(r1 - 1))
        refs.append(row(r1 - 1 - k) - row(r1 - 2 - k))
    if c0 > 0:  # left edge
        jumps.append(col(c0 - 1) - col(c0))
        refs.append(col(c0 + k) - col(c0 + k + 1))
    if c1 < cols:  # right edge
        jumps.append(col(c1) - col(c1 - 1))
        refs.append(col(c1 - 1 - k) - col(c1 - 2 - k))
    if not jumps:
        return None
    jump = float(np.mean(np.abs(np.concatenate(jumps))))
    ref = float(np.mean(np.abs(np.concatenate(refs))))
    if ref < 1e-9:
        return 0.0 if jump < 1e-9 else float('inf')
    return jump / ref


def _inner_bounds(shape, inner):
    rows, cols = shape
    r0, r1 = inner[0].start or 0, inner[0].stop or rows
    c0, c1 = inner[1].start or 0, inner[1].stop or cols
    return r0, r1, c0, c1


def _edge_jumps(lum: np.ndarray, bounds) -> np.ndarray:
    """|Luminance jump| across every expanded edge of the original."""
    r0, r1, c0, c1 = bounds
    rows, cols = lum.shape
    jumps = []
    if r0 > 0:
        jumps.append(lum[r0 - 1, c0:c1] - lum[r0, c0:c1])
    if r1 < rows:
        jumps.append(lum[r1, c0:c1] - lum[r1 - 1, c0:c1])
    if c0 > 0:
        jumps.append(lum[r0:r1, c0 - 1] - lum[r0:r1, c0])
    if c1 < cols:
        jumps.append(lum[r0:r1, c1] - lum[r0:r1, c1 - 1])
    if not jumps:
        return np.zeros(0)
    return np.abs(np.concatenate(jumps))


def masked_psnr(
    output: np.ndarray, truth: np.ndarray, mask: np.ndarray
) -> float:
    """PSNR (dB, 8-bit peak) of *output* against *truth* over *mask*."""
    diff = output.astype(np.float64) - truth.astype(np.float64)
    mse = float(np.mean(np.square(diff[mask])))
    if mse == 0:
        return float('inf')
    return 10.0 * np.log10(255.0**2 / mse)


def masked_ssim(
    output: np.ndarray, truth: np.ndarray, mask: np.ndarray
) -> float:
    """Mean luminance SSIM over *mask* (Gaussian window, sigma 1.5).

    The SSIM map of Wang et al. (2004), K1 = 0.01, K2 = 0.03, L = 255,
    computed on the whole image and averaged over the masked pixels.
    """
    # scipy is heavy: loaded by the benchmarks' metrics only
    from scipy.ndimage import gaussian_filter

    x, y = luminance(output), luminance(truth)

    def blur(a):
        return gaussian_filter(a, 1.5, truncate=3.5)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ssim = ((2 * mx * my + c1) * (2 * cxy + c2)) / (
        (mx * mx + my * my + c1) * (vx + vy + c2)
    )
    return float(np.mean(ssim[mask]))


def _sobel_magnitude(lum: np.ndarray) -> np.ndarray:
    from scipy.ndimage import sobel  # heavy: the benchmarks' metrics only

    return np.hypot(sobel(lum, axis=0), sobel(lum, axis=1))


def sharpness_ratio(
    output: np.ndarray, truth: np.ndarray, mask: np.ndarray
) -> float:
    """Mean Sobel magnitude over *mask*: *output* divided by *truth*.

    1 is the texture energy of the truth; a blurred fill scores far below
    1 (smearing fills measured 0.05-0.25), a noisy one above.
    """
    out = _sobel_magnitude(luminance(output))[mask].mean()
    ref = _sobel_magnitude(luminance(truth))[mask].mean()
    return float(out / ref) if ref > 0 else float('inf')


def reference_seam_ratio(
    output: np.ndarray, truth: np.ndarray, inner: tuple[slice, slice]
) -> float:
    """Mean |jump| across the original's edges: *output* over *truth*.

    1 is as smooth as reality; well above 1 is a visible seam.
    """
    bounds = _inner_bounds(output.shape[:2], inner)
    out = _edge_jumps(luminance(output), bounds)
    ref = _edge_jumps(luminance(truth), bounds)
    if out.size == 0 or ref.mean() == 0:
        return float('nan')
    return float(out.mean() / ref.mean())
