"""Verify, not assume: is the original where the placement says it is?

The image that was sent and the engine's result, resampled onto the
original's pixel grid, should agree over the original region. Phase
correlation of a few tiles of that region (centre and corners, so that a
scale error shows up as corner shifts) measures the residual shift in
original pixels. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_outpaint._imaging.quality import luminance

__all__ = ['ALIGNMENT_WARN_PX', 'Alignment', 'measure_alignment']

# Above this residual (original pixels) the result is reported as
# misaligned.
ALIGNMENT_WARN_PX = 1.0

_TILE = 128  # px; tiles at the original resolution keep sub-pixel accuracy
_MIN_STD = 1.0  # 8-bit grey levels: flatter tiles cannot be registered
_MIN_MATCH = 0.5  # Pearson r of the realigned tiles needed to trust them
# Partial whitening of the cross-power spectrum: a broader peak than pure
# phase correlation (exponent 1), so its parabolic sub-pixel fit is better
# (bias < 0.1 px instead of 0.15 px in our tests).
_WHITEN = 0.5


@dataclass(frozen=True)
class Alignment:
    """The outcome of :func:`measure_alignment`.

    Attributes
    ----------
    residual_px : float or None
        Largest shift of any tile, in original pixels; None when the
        region has too little texture, or the content no longer matches.
    shift_px : (float, float) or None
        Median ``(rows, cols)`` shift of the result's content relative to
        where the placement puts it.
    tiles : int
        Tiles that could be registered.
    note : str
        Why the residual is None, else ``''``.
    """

    residual_px: float | None
    shift_px: tuple[float, float] | None
    tiles: int
    note: str = ''

    def as_dict(self) -> dict:
        """JSON-serialisable form, for provenance."""
        return {
            'residual_px': self.residual_px,
            'shift_px': list(self.shift_px) if self.shift_px else None,
            'tiles': self.tiles,
            'method': 'phase correlation of the original region',
            'note': self.note,
        }


def measure_alignment(
    sent: np.ndarray, placed: np.ndarray, inner: tuple[slice, slice]
) -> Alignment:
    """Residual misplacement of the original inside an engine's result.

    Parameters
    ----------
    sent : numpy.ndarray
        The uint8 RGB image the engine received, ``(rows, cols, 3)``.
    placed : numpy.ndarray
        The engine's result resampled onto the canvas grid (original
        pixel size), ``(R, C, 3)``.
    inner : (slice, slice)
        Where the placement puts *sent* inside *placed*.

    Returns
    -------
    Alignment
    """
    region = placed[inner]
    shifts = []
    for rows, cols in _tiles(sent.shape[:2]):
        a = luminance(sent[rows, cols])
        b = luminance(region[rows, cols])
        if a.std() < _MIN_STD or min(a.shape) < 8:
            continue
        shift = _phase_correlation(a, b)
        if _match(a, b, shift) >= _MIN_MATCH:
            shifts.append(shift)
    if not shifts:
        ref = luminance(sent[:: _stride(sent), :: _stride(sent)])
        textured = ref.std() >= _MIN_STD and min(sent.shape[:2]) >= 8
        note = (
            'the original region of the result does not match what was sent'
            if textured
            else 'too little texture (or too small) to register'
        )
        return Alignment(None, None, 0, note)
    stacked = np.array(shifts)
    residual = float(np.max(np.hypot(stacked[:, 0], stacked[:, 1])))
    median = np.median(stacked, axis=0)
    return Alignment(
        residual, (float(median[0]), float(median[1])), len(shifts)
    )


def _stride(image: np.ndarray) -> int:
    """A subsampling step that keeps about 512 px on the long side."""
    return max(1, max(image.shape[:2]) // 512)


def _tiles(shape: tuple[int, int]) -> list[tuple[slice, slice]]:
    """Centre and corner tiles (one tile when the region is small)."""
    rows, cols = shape
    th, tw = min(_TILE, rows), min(_TILE, cols)
    r_starts = sorted({0, (rows - th) // 2, rows - th})
    c_starts = sorted({0, (cols - tw) // 2, cols - tw})
    picks = {(r_starts[len(r_starts) // 2], c_starts[len(c_starts) // 2])}
    picks |= {(r, c) for r in (0, rows - th) for c in (0, cols - tw)}
    return [(slice(r, r + th), slice(c, c + tw)) for r, c in sorted(picks)]


def _match(a: np.ndarray, b: np.ndarray, shift: tuple[float, float]) -> float:
    """Pearson r of *a* and *b* once *b* is moved back by *shift*."""
    dr, dc = (round(s) for s in shift)
    rows, cols = a.shape
    if abs(dr) >= rows - 4 or abs(dc) >= cols - 4:
        return 0.0
    a_part = a[
        max(0, -dr) : rows - max(0, dr), max(0, -dc) : cols - max(0, dc)
    ]
    b_part = b[max(0, dr) : rows + min(0, dr), max(0, dc) : cols + min(0, dc)]
    if a_part.std() < 1e-9 or b_part.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(a_part.ravel(), b_part.ravel())[0, 1])


def _phase_correlation(
    ref: np.ndarray, moving: np.ndarray
) -> tuple[float, float]:
    """Sub-pixel shift of *moving*'s content relative to *ref*."""
    window = np.outer(np.hanning(ref.shape[0]), np.hanning(ref.shape[1]))
    fa = np.fft.fft2((ref - ref.mean()) * window)
    fb = np.fft.fft2((moving - moving.mean()) * window)
    cross = fb * np.conj(fa)
    cross /= np.abs(cross) ** _WHITEN + 1e-9
    corr = np.fft.ifft2(cross).real
    peak = np.unravel_index(int(np.argmax(corr)), corr.shape)
    shift = []
    for axis, p in enumerate(peak):
        n = corr.shape[axis]
        before = list(peak)
        after = list(peak)
        before[axis] = (p - 1) % n
        after[axis] = (p + 1) % n
        y0, y1, y2 = corr[tuple(before)], corr[peak], corr[tuple(after)]
        denom = y0 - 2 * y1 + y2
        sub = 0.5 * (y0 - y2) / denom if abs(denom) > 1e-12 else 0.0
        value = p + float(np.clip(sub, -0.5, 0.5))
        if value > n / 2:
            value -= n
        shift.append(value)
    return shift[0], shift[1]
