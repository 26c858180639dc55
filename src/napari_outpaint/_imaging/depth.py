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

:func:`source_positions` does the same for a guide of up to three 8-bit
channels (the channels of one image, or their principal components) and
returns the source pixel of every border pixel instead of one value: the
one set of offsets through which every channel's own values are copied.
"""

from __future__ import annotations

import numpy as np

__all__ = ['MAX_KEYS', 'QUERY_CHUNK', 'restore_depth', 'source_positions']

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


def source_positions(
    source8: np.ndarray, canvas8: np.ndarray, hole: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """The source pixel each *hole* pixel of *canvas8* was copied from.

    Parameters
    ----------
    source8 : numpy.ndarray
        ``(rows, cols)`` or ``(rows, cols, K)`` uint8, K <= 3: the guide
        the engine filled from.
    canvas8 : numpy.ndarray
        ``(R, C)`` or ``(R, C, K)`` uint8: the filled canvas on the
        source's grid.
    hole : numpy.ndarray
        bool ``(R, C)``: the border pixels.

    Returns
    -------
    rows, cols : numpy.ndarray
        Per True of *hole* (C order), a source pixel: one whose 3 x 3
        neighbourhood on the guide is the same (hashed over all K
        channels), else one of the same guide colour, else one of the
        nearest level of the first guide channel. Always a source pixel.
    exact : int
        How many were matched by their whole neighbourhood.
    """
    source8 = _as_guide(source8)
    canvas8 = _as_guide(canvas8)
    rows, cols, depth = source8.shape
    table = np.random.default_rng(0x5EED).integers(
        0, np.iinfo(np.uint64).max, (9 * depth, 256), np.uint64, endpoint=True
    )
    step = max(1, int(np.ceil(np.sqrt(rows * cols / MAX_KEYS))))
    grid_r, grid_c = np.meshgrid(
        np.arange(0, rows, step), np.arange(0, cols, step), indexing='ij'
    )
    grid_r, grid_c = grid_r.ravel(), grid_c.ravel()
    padded_source = np.pad(source8, ((1, 1), (1, 1), (0, 0)), mode='edge')
    keys = _hashed_keys(padded_source, grid_r, grid_c, table)
    order = np.argsort(keys, kind='stable')
    keys = keys[order]
    codes, first_of_code = np.unique(
        _codes(source8).ravel(), return_index=True
    )
    level_pixel = _nearest_level_pixel(source8[..., 0])

    padded = np.pad(canvas8, ((1, 1), (1, 1), (0, 0)), mode='edge')
    total = int(np.count_nonzero(hole))
    out_r = np.empty(total, dtype=np.intp)
    out_c = np.empty(total, dtype=np.intp)
    exact = done = 0
    band = max(1, QUERY_CHUNK // max(1, canvas8.shape[1]))
    for top in range(0, canvas8.shape[0], band):
        hr, hc = np.nonzero(hole[top : top + band])
        if not len(hr):
            continue
        hr = hr + top
        wanted = _hashed_keys(padded, hr, hc, table)
        at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        hit = keys[at] == wanted
        code = _codes(canvas8[hr, hc][:, None])[:, 0]
        where = np.minimum(np.searchsorted(codes, code), len(codes) - 1)
        same_colour = codes[where] == code
        flat = np.where(
            same_colour,
            first_of_code[where],
            level_pixel[canvas8[hr, hc, 0]],
        )
        pick_r = np.where(hit, grid_r[order[at]], flat // cols)
        pick_c = np.where(hit, grid_c[order[at]], flat % cols)
        here = slice(done, done + len(hr))
        out_r[here], out_c[here] = pick_r, pick_c
        exact += int(np.count_nonzero(hit))
        done += len(hr)
    return out_r, out_c, exact


def _as_guide(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.uint8)
    return image[..., None] if image.ndim == 2 else image


def _codes(guide: np.ndarray) -> np.ndarray:
    """int64: the K bytes of each pixel of *guide* as one number."""
    code = np.zeros(guide.shape[:-1], dtype=np.int64)
    for k in range(guide.shape[-1]):
        code |= guide[..., k].astype(np.int64) << (8 * k)
    return code


def _nearest_level_pixel(levels: np.ndarray) -> np.ndarray:
    """``(256,)`` flat index of a pixel of *levels* at each level, or at
    the nearest level present."""
    present, first = np.unique(levels.ravel(), return_index=True)
    wanted = np.arange(256)
    at = np.clip(np.searchsorted(present, wanted), 1, max(1, len(present) - 1))
    if len(present) == 1:
        return np.full(256, first[0])
    below, above = present[at - 1], present[at]
    nearer = np.where(wanted - below <= above - wanted, at - 1, at)
    return first[nearer]


def _hashed_keys(
    padded: np.ndarray, r: np.ndarray, c: np.ndarray, table: np.ndarray
) -> np.ndarray:
    """uint64: a tabulation hash of the 3 x 3 x K neighbourhood of each
    pixel (r, c) of the image *padded* pads by one pixel."""
    key = np.zeros(len(r), dtype=np.uint64)
    depth = padded.shape[-1]
    position = 0
    for dr in range(3):
        for dc in range(3):
            for k in range(depth):
                key ^= table[position][padded[r + dr, c + dc, k]]
                position += 1
    return key
