"""Image bytes <-> 8-bit RGB arrays: lossless PNG out, any image in.

Uploads are always lossless 8-bit RGB PNG at a fast zlib level (never
JPEG: it changes pixel values). Results may come back as PNG, WebP or
JPEG in any Pillow mode; :func:`decode_image` turns them into
``(rows, cols, 3)`` uint8 and refuses anything that is not an image or is
too large, before decompressing it.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from napari_outpaint._errors import InvalidInputError, ResultError

__all__ = ['PNG_COMPRESS_LEVEL', 'decode_image', 'encode_png']

#: zlib level 1: the fastest level still compresses well; Pillow's default
#: (6) is several times slower for ~10-15% smaller files, and the upload,
#: not the size, is what a user waits for.
PNG_COMPRESS_LEVEL = 1


def encode_png(rgb8: np.ndarray) -> bytes:
    """Encode a ``(rows, cols, 3)`` uint8 array as a lossless RGB PNG.

    Parameters
    ----------
    rgb8 : numpy.ndarray
        ``(rows, cols, 3)`` uint8 RGB pixels.

    Returns
    -------
    bytes
        The PNG file, zlib level :data:`PNG_COMPRESS_LEVEL`.

    Raises
    ------
    InvalidInputError
        When *rgb8* is not a ``(rows, cols, 3)`` uint8 array.
    """
    if not isinstance(rgb8, np.ndarray):
        raise InvalidInputError(
            'image',
            f'expected a numpy array, got {type(rgb8).__name__}.',
        )
    if rgb8.dtype != np.uint8 or rgb8.ndim != 3 or rgb8.shape[2] != 3:
        raise InvalidInputError(
            'image',
            'expected (rows, cols, 3) uint8 RGB, got shape '
            f'{rgb8.shape} {rgb8.dtype}; convert the plane to 8-bit RGB '
            'first.',
        )
    if rgb8.shape[0] == 0 or rgb8.shape[1] == 0:
        raise InvalidInputError(
            'image', f'the image is empty (shape {rgb8.shape}).'
        )
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb8)).save(
        buffer, format='PNG', compress_level=PNG_COMPRESS_LEVEL
    )
    return buffer.getvalue()


def decode_image(data: bytes, *, max_pixels: int) -> np.ndarray:
    """Decode PNG, WebP or JPEG bytes to ``(rows, cols, 3)`` uint8 RGB.

    Alpha is dropped (the colour values are kept), palettes and grey
    levels are expanded, 16-bit and 32-bit grey are scaled to 8 bits.
    Only the first frame of an animated file is read.

    Parameters
    ----------
    data : bytes
        The encoded image.
    max_pixels : int
        Refuse images with more pixels than this, before decompressing.

    Raises
    ------
    ResultError
        When *data* is not a readable image or has too many pixels.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('error', Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            rows, cols = image.height, image.width
            if rows * cols > max_pixels:
                raise ResultError(
                    f'The result is {cols}x{rows} pixels, more than the '
                    f'limit of {max_pixels} pixels; raise max_pixels if '
                    'this size is expected.'
                )
            image.load()
    except ResultError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        preview = bytes(data[:16])
        raise ResultError(
            f'The result is not a readable image ({type(exc).__name__}; '
            f'{len(data)} bytes starting {preview!r}). Try collecting it '
            'again; if it persists, report it to Runflow.'
        ) from exc
    return _to_rgb8(image)


def _to_rgb8(image: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to a ``(rows, cols, 3)`` uint8 array."""
    if image.mode in ('I', 'I;16', 'I;16B', 'I;16L', 'I;16N', 'F'):
        grey = np.asarray(image, dtype=np.float64)
        if image.mode.startswith('I;16'):
            top = 65535.0
        elif image.mode == 'F':
            top = 1.0 if grey.size and np.nanmax(grey) <= 1.0 else 255.0
        else:  # 'I': 16-bit PNGs open as 'I' in some Pillow versions
            top = 65535.0 if grey.size and grey.max() > 255 else 255.0
        scaled = np.clip(np.nan_to_num(grey) * (255.0 / top), 0, 255)
        grey8 = np.rint(scaled).astype(np.uint8)
        return np.repeat(grey8[:, :, np.newaxis], 3, axis=2)
    if image.mode != 'RGB':
        image = image.convert('RGB')
    return np.array(image, dtype=np.uint8)
