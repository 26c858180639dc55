"""The stand-in's "model": decode, pad by reflection, upscale, encode."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from napari_outpaint._expand import Expand, Padding

__all__ = [
    'CONTENT_TYPES',
    'MAX_LONG_SIDE',
    'decode_rgb',
    'encode',
    'outpaint_bytes',
    'reflect_fill',
    'upscale',
]

#: The service returns at most this many pixels on the long side.
MAX_LONG_SIDE = 4096
CONTENT_TYPES = {
    'png': 'image/png',
    'webp': 'image/webp',
    'jpg': 'image/jpeg',
}


def decode_rgb(data: bytes) -> np.ndarray:
    """Decode image bytes to a ``(rows, cols, 3)`` uint8 array."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert('RGB'))


def padding_for(input_: dict, height: int, width: int) -> Padding:
    """The padding a validated run input asks for (all zeros allowed)."""
    sides = ('top', 'bottom', 'left', 'right')
    percents = {side: input_[f'expand_{side}'] for side in sides}
    if not any(percents.values()):
        return Padding(0, 0, 0, 0)
    return Expand(**percents).padding(height, width)


def reflect_fill(image: np.ndarray, padding: Padding) -> np.ndarray:
    """Pad a ``(rows, cols, 3)`` image by mirror reflection.

    Pads wider than the image keep mirroring (``np.pad`` symmetric mode
    loops), so any padding of any non-empty image works.
    """
    widths = (
        (padding.top, padding.bottom),
        (padding.left, padding.right),
        (0, 0),
    )
    return np.pad(image, widths, mode='symmetric')


def upscale(image: np.ndarray, long_side: int | None) -> np.ndarray:
    """Resize so the long side is *long_side* (capped at 4096).

    ``None`` keeps the image as it is.
    """
    if long_side is None:
        return image
    target = min(int(long_side), MAX_LONG_SIDE)
    rows, cols = image.shape[:2]
    if max(rows, cols) == target:
        return image
    factor = target / max(rows, cols)
    if rows >= cols:
        size = (max(1, round(cols * factor)), target)
    else:
        size = (target, max(1, round(rows * factor)))
    resized = Image.fromarray(image).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(resized)


def encode(image: np.ndarray, output_format: str) -> bytes:
    """Encode an RGB image as ``'png'`` or (lossy) ``'webp'`` / ``'jpg'``."""
    buffer = io.BytesIO()
    pil = Image.fromarray(image)
    if output_format == 'png':
        pil.save(buffer, format='PNG', compress_level=1)
    elif output_format == 'jpg':
        pil.save(buffer, format='JPEG', quality=92)
    else:
        pil.save(buffer, format='WEBP', quality=90)
    return buffer.getvalue()


def outpaint_bytes(
    data: bytes,
    input_: dict,
    *,
    upscale_long_side: int | None,
    output_format: str,
) -> tuple[bytes, tuple[int, int]]:
    """Outpaint encoded input bytes; return the encoded output and shape."""
    image = decode_rgb(data)
    padding = padding_for(input_, *image.shape[:2])
    canvas = upscale(reflect_fill(image, padding), upscale_long_side)
    return encode(canvas, output_format), canvas.shape[:2]
