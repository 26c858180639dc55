"""Full bit depth for a border filled by copying the source's own pixels.

An engine sees the 8-bit view of a plane, so a 16-bit or float plane's
border comes back with at most 256 levels. An engine that fills by
copying the source's pixels (PatchMatch, reflection) copied each border
pixel from some source pixel; :func:`restore_depth` finds a source pixel
whose 3 x 3 neighbourhood looks exactly the same on the 8-bit view and
takes that pixel's original value. A border pixel with no exact match
takes the value of a source pixel of the same 8-bit level. Either way
the border holds real values of the source, at its bit depth and with
its value distribution.
"""

from __future__ import annotations

import numpy as np

__all__ = ['MAX_KEYS', 'QUERY_CHUNK', 'restore_depth']

#: Source neighbourhoods kept at most (a regular subsample beyond it):
#: bounds the memory to about 24 bytes each.
MAX_KEYS = 1 << 20
#: Border pixels matched at a time.
QUERY_CHUNK = 1 << 17


def restore_depth(
    source8: np.ndarray,
    canvas8: np.ndarray,
    values: np.ndarray,
    hole: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Source values for the *hole* pixels of *canvas8*.

    Parameters
    ----------
    source8 : numpy.ndarray
        ``(rows, cols)`` uint8: the 8-bit view of the source the engine
        saw.
    canvas8 : numpy.ndarray
        ``(R, C)`` uint8: the filled canvas on the source's grid.
    values : numpy.ndarray
        ``(rows, cols)``: the source in its own dtype.
    hole : numpy.ndarray
        bool ``(R, C)``: the border pixels to give values.

    Returns
    -------
    found : numpy.ndarray
        One value of *values* per True of *hole* (C order).
    ok : numpy.ndarray
        bool, per True of *hole*: whether *found* holds a source value
        (False where no source pixel has that 8-bit level).
    exact : int
        How many were matched by their whole neighbourhood.
    """
    rows, cols = source8.shape
    step = max(1, int(np.ceil(np.sqrt(rows * cols / MAX_KEYS))))
    grid_r, grid_c = np.meshgrid(
        np.arange(0, rows, step), np.arange(0, cols, step), indexing='ij'
    )
    grid_r, grid_c = grid_r.ravel(), grid_c.ravel()
    # every level of the source has a pixel among them, sampled or not
    sampled = np.zeros(256, dtype=bool)
    sampled[source8[grid_r, grid_c]] = True
    extra_r, extra_c = _first_of_each_level(source8, skip=sampled)
    grid_r = np.concatenate([grid_r, extra_r])
    grid_c = np.concatenate([grid_c, extra_c])
    keys = _keys(np.pad(source8, 1, mode='edge'), grid_r, grid_c)
    order = np.argsort(keys, kind='stable')
    keys = keys[order]
    levels = source8[grid_r, grid_c]
    by_level = np.argsort(levels, kind='stable')
    starts = np.searchsorted(levels[by_level], np.arange(257))

    padded = np.pad(canvas8, 1, mode='edge')
    total = int(np.count_nonzero(hole))
    found = np.empty(total, dtype=values.dtype)
    ok = np.zeros(total, dtype=bool)
    exact = 0
    done = 0
    band = max(1, QUERY_CHUNK // max(1, canvas8.shape[1]))
    for top in range(0, canvas8.shape[0], band):
        hr, hc = np.nonzero(hole[top : top + band])
        if not len(hr):
            continue
        hr = hr + top
        wanted = _keys(padded, hr, hc)
        at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        hit = keys[at] == wanted
        source = order[at]  # an index into the grid, where hit
        level = canvas8[hr, hc].astype(np.intp)
        count = starts[level + 1] - starts[level]
        spread = (hr * 1_000_003 + hc * 7_919) % np.maximum(count, 1)
        same_level = by_level[
            np.minimum(starts[level] + spread, len(keys) - 1)
        ]
        source = np.where(hit, source, same_level)
        here = slice(done, done + len(hr))
        found[here] = values[grid_r[source], grid_c[source]]
        ok[here] = hit | (count > 0)
        exact += int(np.count_nonzero(hit))
        done += len(hr)
    return found, ok, exact


def _first_of_each_level(
    image: np.ndarray, skip: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of one pixel of each level of *image* that is
    not in *skip* (bool, per level), read in bands of rows."""
    rows, cols = image.shape
    first = np.full(256, rows * cols, dtype=np.int64)
    band = max(1, QUERY_CHUNK // max(1, cols))
    for top in range(0, rows, band):
        flat = image[top : top + band].ravel()
        where = np.arange(flat.size, dtype=np.int64) + top * cols
        np.minimum.at(first, flat, where)
    wanted = np.flatnonzero((first < rows * cols) & ~skip)
    return first[wanted] // cols, first[wanted] % cols


def _keys(padded: np.ndarray, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """uint64: the 3 x 3 neighbourhood of each pixel (r, c) of the image
    that *padded* pads by one pixel, its bytes packed (the last corner
    left out: eight bytes)."""
    key = np.zeros(len(r), dtype=np.uint64)
    offsets = [(dr, dc) for dr in range(3) for dc in range(3)][:8]
    for shift, (dr, dc) in enumerate(offsets):
        key |= padded[r + dr, c + dc].astype(np.uint64) << np.uint64(8 * shift)
    return key
