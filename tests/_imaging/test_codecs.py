"""Lossless PNG encoding and tolerant, bounded image decoding."""

import io

import numpy as np
import pytest
from PIL import Image

from napari_outpaint import InvalidInputError, ResultError
from napari_outpaint._imaging.codecs import decode_image, encode_png


def _rgb(rows=17, cols=23, seed=0):
    return np.random.default_rng(seed).integers(
        0, 256, (rows, cols, 3), dtype=np.uint8
    )


def _encode(image, fmt, **kw):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def test_png_round_trip_is_lossless():
    """Encoding then decoding gives back exactly the same pixels."""
    rgb = _rgb()
    data = encode_png(rgb)
    assert data.startswith(b'\x89PNG\r\n\x1a\n')
    np.testing.assert_array_equal(decode_image(data, max_pixels=10**6), rgb)


def test_png_is_8bit_rgb_at_fast_level():
    """The upload is an 8-bit RGB PNG, bigger than level 9 (fast zlib)."""
    yy, xx = np.mgrid[0:128, 0:256]
    rgb = np.dstack([xx, yy * 2, (xx + yy) // 2]).astype(np.uint8)
    data = encode_png(rgb)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == 'PNG'
        assert image.mode == 'RGB'
    best = _encode(Image.fromarray(rgb), 'PNG', compress_level=9)
    assert len(data) > len(best)


@pytest.mark.parametrize(
    'bad',
    [
        np.zeros((4, 4), np.uint8),
        np.zeros((4, 4, 4), np.uint8),
        np.zeros((4, 4, 3), np.uint16),
        np.zeros((0, 4, 3), np.uint8),
        [[0, 0, 0]],
    ],
)
def test_encode_rejects_anything_but_rgb8(bad):
    """Non-(rows, cols, 3) uint8 input fails naming the image field."""
    with pytest.raises(InvalidInputError, match='image'):
        encode_png(bad)


def test_encode_accepts_non_contiguous_views():
    """A strided view encodes to the same pixels as its copy."""
    rgb = _rgb(20, 30)[::2, ::3]
    data = encode_png(rgb)
    np.testing.assert_array_equal(decode_image(data, max_pixels=10**6), rgb)


def test_decode_webp_lossless_and_jpeg():
    """WebP (lossless: exact) and JPEG (approximately) decode to RGB."""
    rgb = _rgb()
    webp = _encode(Image.fromarray(rgb), 'WEBP', lossless=True)
    np.testing.assert_array_equal(decode_image(webp, max_pixels=10**6), rgb)
    flat = np.full((16, 16, 3), (200, 40, 90), np.uint8)
    jpeg = _encode(Image.fromarray(flat), 'JPEG', quality=95)
    out = decode_image(jpeg, max_pixels=10**6)
    assert out.shape == (16, 16, 3)
    assert out.dtype == np.uint8
    assert np.abs(out.astype(int) - flat).max() <= 4


def test_decode_rgba_drops_alpha_keeping_colours():
    """RGBA becomes RGB with the colour values unchanged."""
    rgba = np.dstack([_rgb(), np.full((17, 23), 7, np.uint8)])
    data = _encode(Image.fromarray(rgba), 'PNG')
    np.testing.assert_array_equal(
        decode_image(data, max_pixels=10**6), rgba[..., :3]
    )


def test_decode_grey_and_palette_to_rgb():
    """L and P images become three equal / looked-up channels."""
    grey = _rgb()[..., 0]
    out = decode_image(_encode(Image.fromarray(grey), 'PNG'), max_pixels=999)
    np.testing.assert_array_equal(out, np.dstack([grey] * 3))
    pal = Image.fromarray(_rgb()).convert('P')
    out = decode_image(_encode(pal, 'PNG'), max_pixels=999)
    np.testing.assert_array_equal(out, np.asarray(pal.convert('RGB')))


def test_decode_16bit_grey_scales_to_8bit():
    """A 16-bit grey PNG maps 0..65535 onto 0..255."""
    grey16 = np.array([[0, 257 * 128, 65535]], dtype=np.uint16)
    data = _encode(Image.fromarray(grey16), 'PNG')
    out = decode_image(data, max_pixels=999)
    np.testing.assert_array_equal(out[0, :, 0], [0, 128, 255])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


@pytest.mark.parametrize(
    'data', [b'', b'not an image at all', b'\x89PNG\r\n\x1a\n' + b'\0' * 40]
)
def test_decode_refuses_non_images(data):
    """Bytes that are not an image raise ResultError, not a Pillow error."""
    with pytest.raises(ResultError, match='not a readable image'):
        decode_image(data, max_pixels=10**6)


def test_decode_refuses_too_many_pixels_before_decompressing():
    """An image over max_pixels raises ResultError naming the size."""
    data = encode_png(_rgb(40, 50))
    with pytest.raises(ResultError, match='50x40'):
        decode_image(data, max_pixels=40 * 50 - 1)
