"""How much memory one plane's path needs, and refusing what cannot fit.

One plane goes through: the plane (its dtype), the 8-bit RGB sent to the
engine (3 bytes per plane pixel), the engine's RGB canvas and its working
copy (about 6 bytes per canvas pixel), and the result in the plane's dtype
with its mask. Conversions run in bands of rows (see
``napari_outpaint._imaging.convert``), so no whole-canvas float copy is
made. Measured by ``bench/bench_memory.py``: a uint8 greyscale plane peaks
at about 11x its size at +10 % per side, RGB at about 8x.

:func:`check_plane_fits` refuses, before any work or request, a canvas
above the pixel limit (``NAPARI_OUTPAINT_MAX_PIXELS``, the CLI's
``--max-pixels``) or one whose estimated peak exceeds the memory
available, instead of letting the operating system kill the process.

:func:`return_freed_memory` hands the memory a finished plane freed back
to the operating system (glibc keeps it in per-thread arenas otherwise,
so a batch's peak grew with its threads, not with its live arrays).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

import numpy as np

from napari_outpaint._errors import ConfigurationError, InvalidInputError
from napari_outpaint._expand import Expand
from napari_outpaint._imaging import BAND_PIXELS
from napari_outpaint._imaging.depth import MAX_KEYS, QUERY_CHUNK

__all__ = [
    'DEFAULT_MAX_PIXELS',
    'MAX_PIXELS_ENV',
    'available_memory_bytes',
    'check_plane_fits',
    'max_pixels_setting',
    'plane_peak_bytes',
    'return_freed_memory',
]

MAX_PIXELS_ENV = 'NAPARI_OUTPAINT_MAX_PIXELS'
#: the default largest canvas of one plane: 2**28 pixels (16384 x 16384)
DEFAULT_MAX_PIXELS = 2**28
#: the float temporaries of a band conversion: up to 12 copies of a band
#: of 4 float64 channels, whatever the plane's size
BAND_WORK_BYTES = 12 * 4 * 8 * BAND_PIXELS


def max_pixels_setting(given: int | None = None) -> int:
    """*given*, else ``$NAPARI_OUTPAINT_MAX_PIXELS``, else the default.

    Raises
    ------
    ConfigurationError
        When the environment variable is not a positive integer.
    """
    if given is not None:
        return int(given)
    text = os.environ.get(MAX_PIXELS_ENV, '').strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(text.replace('_', ''))
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigurationError(
            f'{MAX_PIXELS_ENV}={text!r} is not a positive number of pixels; '
            f'e.g. {MAX_PIXELS_ENV}={DEFAULT_MAX_PIXELS}, or unset it.'
        )
    return value


def plane_peak_bytes(
    plane_shape: tuple[int, int],
    canvas_shape: tuple[int, int],
    *,
    dtype: np.dtype,
    channels: int,
) -> int:
    """An upper estimate of the peak memory of one plane's path.

    The plane and the 8-bit RGB sent (3 bytes per pixel); the engine's
    RGB canvas and a working copy (6 bytes per canvas pixel); the result
    in the plane's dtype and its mask; the band conversions' floats; for
    a deeper-than-8-bit greyscale plane, the matching that gives its
    border the source's values.

    Parameters
    ----------
    plane_shape, canvas_shape : (int, int)
        Rows and columns of the plane and of its expanded canvas.
    dtype : numpy.dtype
        The plane's dtype.
    channels : int
        1 for greyscale, 3 or 4 for RGB(A).
    """
    plane = plane_shape[0] * plane_shape[1]
    canvas = canvas_shape[0] * canvas_shape[1]
    pixel = np.dtype(dtype).itemsize * channels
    peak = plane * (pixel + 3) + canvas * (6 + pixel + 1) + BAND_WORK_BYTES
    kind = np.dtype(dtype)
    if channels == 1 and (kind.kind == 'f' or kind.itemsize > 1):
        # the border's source values (_imaging.depth): the neighbourhood
        # keys, one chunk of matching, the border's values twice
        peak += (
            min(plane, MAX_KEYS) * 40
            + QUERY_CHUNK * 120
            + canvas * (2 * kind.itemsize + 2)
        )
    return peak


def available_memory_bytes() -> int | None:
    """Memory available to new allocations (Linux ``MemAvailable``), or
    None where the system does not say."""
    try:
        with open('/proc/meminfo', encoding='ascii') as meminfo:
            for line in meminfo:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_plane_fits(
    plane_shape: tuple[int, int],
    expand: Expand,
    *,
    dtype: np.dtype,
    channels: int,
    max_pixels: int | None = None,
    field: str = 'max_pixels',
) -> None:
    """Refuse, before any work, a plane whose path cannot fit.

    Parameters
    ----------
    plane_shape : (int, int)
    expand : Expand
    dtype, channels
        As for :func:`plane_peak_bytes`.
    max_pixels : int, optional
        The canvas limit; default :func:`max_pixels_setting`.
    field : str
        The field the error names.

    Raises
    ------
    InvalidInputError
        Naming *field*: the canvas exceeds the limit (raise it there), or
        the estimated peak exceeds the memory available.
    """
    limit = max_pixels_setting(max_pixels)
    rows, cols = plane_shape
    canvas = expand.canvas_shape(rows, cols)
    pixels = canvas[0] * canvas[1]
    need = plane_peak_bytes(
        plane_shape, canvas, dtype=dtype, channels=channels
    )
    if pixels > limit:
        raise InvalidInputError(
            field,
            f'the expanded canvas of this {rows} x {cols} plane would be '
            f'{canvas[0]} x {canvas[1]} = {pixels / 1e6:.0f} Mpx, above the '
            f'limit of {limit / 1e6:.0f} Mpx (about {_gb(need)} of memory '
            f'for this plane). Raise the limit ({MAX_PIXELS_ENV}, or '
            '--max-pixels on the command line) if this machine has the '
            'memory, or outpaint a smaller region.',
        )
    available = available_memory_bytes()
    if available is not None and need > available:
        raise InvalidInputError(
            field,
            f'outpainting this {rows} x {cols} plane needs about '
            f'{_gb(need)} of memory, and {_gb(available)} is available. '
            'Free memory, or outpaint a smaller region.',
        )


def _gb(n: int) -> str:
    if n < 1024**3:
        return f'{n / 1024**2:.0f} MB'
    return f'{n / 1024**3:.1f} GB'


def return_freed_memory() -> None:
    """Give memory freed by this process back to the operating system.

    glibc's ``malloc_trim(0)``: a batch's threads each allocate from their
    own arena, and glibc keeps what they free there for reuse, so without
    this the resident set of a batch grows with the planes in flight even
    when only one plane's arrays are alive (``bench/bench_batch_memory.py``;
    Dask's workers trim for the same reason). A no-op on other C
    libraries (macOS, Windows, musl).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    name = ctypes.util.find_library('c')
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
