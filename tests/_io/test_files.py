"""Reading and writing image files for the command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_outpaint._errors import InvalidInputError
from napari_outpaint._io.files import (
    check_writable,
    format_family,
    read_image,
    write_image,
)


def _ramp(shape, dtype):
    return (np.arange(np.prod(shape)) % 251).reshape(shape).astype(dtype)


def test_png_rgb_round_trip(tmp_path):
    """An 8-bit RGB PNG reads as rgb=True and writes back unchanged."""
    data = _ramp((20, 30, 3), np.uint8)
    Image.fromarray(data).save(tmp_path / 'in.png')
    image = read_image(tmp_path / 'in.png')
    assert image.rgb
    assert image.axes == 'YXS'
    assert image.scale == (1.0, 1.0)
    np.testing.assert_array_equal(image.data, data)
    out = write_image(tmp_path / 'out.png', image.data, rgb=True)
    np.testing.assert_array_equal(np.asarray(Image.open(out)), data)


def test_png_16bit_grey_round_trip(tmp_path):
    """A 16-bit greyscale PNG keeps uint16 values on read and write."""
    data = (_ramp((20, 30), np.uint16) * 250).astype(np.uint16)
    Image.fromarray(data).save(tmp_path / 'in.png')
    image = read_image(tmp_path / 'in.png')
    assert image.data.dtype == np.uint16
    assert not image.rgb
    out = write_image(tmp_path / 'out.png', image.data, rgb=False)
    np.testing.assert_array_equal(read_image(out).data, data)


def test_palette_png_reads_as_rgb(tmp_path):
    """A palette PNG is expanded to RGB rather than read as indices."""
    data = _ramp((10, 12, 3), np.uint8)
    Image.fromarray(data).convert('P').save(tmp_path / 'p.png')
    image = read_image(tmp_path / 'p.png')
    assert image.rgb
    assert image.data.shape == (10, 12, 3)


def test_imagej_stack_pixel_size(tmp_path):
    """ImageJ unit, resolution and spacing give a z/y/x scale in µm."""
    data = _ramp((3, 20, 30), np.uint16)
    tifffile.imwrite(
        tmp_path / 'ij.tif',
        data,
        imagej=True,
        resolution=(1 / 0.5, 1 / 0.25),
        metadata={'axes': 'ZYX', 'spacing': 2.0, 'unit': 'um'},
    )
    image = read_image(tmp_path / 'ij.tif')
    assert image.axes == 'ZYX'
    assert image.unit == 'µm'
    assert image.scale == pytest.approx((2.0, 0.25, 0.5))
    np.testing.assert_array_equal(image.data, data)


def test_ome_pixel_size_in_nanometres(tmp_path):
    """OME PhysicalSize values are converted to micrometres."""
    data = _ramp((20, 30), np.float32)
    tifffile.imwrite(
        tmp_path / 'ome.tif',
        data,
        ome=True,
        metadata={
            'axes': 'YX',
            'PhysicalSizeX': 65.0,
            'PhysicalSizeXUnit': 'nm',
            'PhysicalSizeY': 130.0,
            'PhysicalSizeYUnit': 'nm',
        },
    )
    image = read_image(tmp_path / 'ome.tif')
    assert image.scale == pytest.approx((0.13, 0.065))
    assert image.unit == 'µm'


def test_centimetre_resolution_tags(tmp_path):
    """Plain TIFF resolution tags in centimetres give the pixel size."""
    data = _ramp((20, 30), np.uint8)
    tifffile.imwrite(
        tmp_path / 'cm.tif',
        data,
        resolution=(1e4 / 0.2, 1e4 / 0.4),
        resolutionunit='CENTIMETER',
    )
    image = read_image(tmp_path / 'cm.tif')
    assert image.scale == pytest.approx((0.4, 0.2))


def test_inch_dpi_is_not_a_pixel_size(tmp_path):
    """A print DPI in inches is ignored: the scale stays 1."""
    data = _ramp((20, 30), np.uint8)
    tifffile.imwrite(
        tmp_path / 'dpi.tif',
        data,
        resolution=(300, 300),
        resolutionunit='INCH',
    )
    image = read_image(tmp_path / 'dpi.tif')
    assert image.scale == (1.0, 1.0)
    assert image.unit is None


@pytest.mark.parametrize('dtype', [np.float64, np.int16, np.uint32])
def test_tiff_stack_round_trip_keeps_dtype_axes_and_scale(tmp_path, dtype):
    """A written TIFF reads back with the same dtype, axes and scale."""
    data = _ramp((2, 3, 10, 12), dtype)
    out = write_image(
        tmp_path / 'out.tif',
        data,
        rgb=False,
        axes='TZYX',
        scale=(1.0, 3.0, 0.5, 0.25),
        unit='µm',
    )
    image = read_image(out)
    assert image.data.dtype == np.dtype(dtype)
    assert image.axes == 'TZYX'
    assert image.scale == pytest.approx((1.0, 3.0, 0.5, 0.25))
    np.testing.assert_array_equal(image.data, data)


def test_rgb_tiff_round_trip(tmp_path):
    """An RGB TIFF is detected from its samples axis and written back."""
    data = _ramp((10, 12, 3), np.uint8)
    out = write_image(tmp_path / 'rgb.tif', data, rgb=True)
    image = read_image(out)
    assert image.rgb
    np.testing.assert_array_equal(image.data, data)


def test_missing_file_names_input(tmp_path):
    """A missing input raises InvalidInputError naming 'input'."""
    with pytest.raises(InvalidInputError, match='no such file') as info:
        read_image(tmp_path / 'nope.png')
    assert info.value.field == 'input'


def test_corrupt_file_is_invalid_input(tmp_path):
    """Bytes that are not an image raise InvalidInputError, not a crash."""
    (tmp_path / 'bad.tif').write_bytes(b'not a tiff at all')
    with pytest.raises(InvalidInputError, match='cannot read'):
        read_image(tmp_path / 'bad.tif')


def test_unsupported_suffix():
    """Unknown suffixes are refused with the supported list."""
    with pytest.raises(InvalidInputError, match=r'\.tif'):
        format_family('image.bmp')


@pytest.mark.parametrize(
    ('name', 'dtype', 'rgb', 'ndim', 'match'),
    [
        ('o.jpg', np.uint8, True, 2, 'lossy'),
        ('o.png', np.float32, False, 2, 'PNG cannot hold'),
        ('o.png', np.uint16, True, 2, 'PNG cannot hold'),
        ('o.png', np.uint8, False, 3, 'PNG cannot hold'),
    ],
)
def test_check_writable_refuses(tmp_path, name, dtype, rgb, ndim, match):
    """Outputs that cannot hold the result are refused naming --output."""
    with pytest.raises(InvalidInputError, match=match) as info:
        check_writable(
            tmp_path / name, dtype=np.dtype(dtype), rgb=rgb, ndim=ndim
        )
    assert info.value.field == '--output'


def test_check_writable_missing_folder(tmp_path):
    """An output in a folder that does not exist is refused up front."""
    with pytest.raises(InvalidInputError, match='does not exist'):
        check_writable(
            tmp_path / 'no' / 'o.tif', dtype=np.uint8, rgb=False, ndim=2
        )


# ----------------------------------------------- samples, dtypes, probes


def test_planar_rgb_samples_are_moved_last(tmp_path):
    """An SYX (planar) RGB TIFF reads as YXS RGB, not 3 planes."""
    data = np.random.default_rng(0).integers(0, 255, (3, 8, 9), np.uint8)
    path = tmp_path / 'planar.tif'
    tifffile.imwrite(path, data, photometric='rgb', planarconfig='separate')
    image = read_image(path)
    assert image.rgb
    assert image.axes.endswith('S')
    np.testing.assert_array_equal(image.data, np.moveaxis(data, 0, -1))


def test_two_samples_per_pixel_are_refused(tmp_path):
    """(Y, X, 2) samples are channels: refused, naming the count."""
    path = tmp_path / 'two.tif'
    tifffile.imwrite(
        path, np.zeros((30, 40, 2), np.uint8), photometric='minisblack',
        planarconfig='contig', extrasamples=[0],
    )  # fmt: skip
    with pytest.raises(InvalidInputError, match='2 samples per pixel'):
        read_image(path)


def test_complex_pixels_are_refused_clearly(tmp_path, recwarn):
    """A complex TIFF: a clear refusal, no raw ComplexWarning."""
    path = tmp_path / 'c.tif'
    tifffile.imwrite(path, np.zeros((8, 8), np.complex64))
    with pytest.raises(InvalidInputError, match='complex64 pixels'):
        read_image(path)
    assert not [w for w in recwarn if 'Complex' in type(w.message).__name__]


@pytest.mark.parametrize('dtype', ['int64', 'uint64', 'float16', 'int8'])
def test_every_numeric_dtype_round_trips_through_tiff(tmp_path, dtype):
    """Dtypes OME-XML cannot describe still keep dtype, axes, pixel size."""
    data = (np.arange(2 * 6 * 7).reshape(2, 6, 7) % 100).astype(dtype)
    path = tmp_path / 'out.tif'
    check_writable(path, dtype=data.dtype, rgb=False, ndim=3)
    write_image(path, data, rgb=False, axes='ZYX', scale=(1, 0.5, 0.5),
                unit='µm')  # fmt: skip
    back = read_image(path)
    assert back.data.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back.data, data)
    assert back.scale[-2:] == pytest.approx((0.5, 0.5))


def test_check_writable_probes_the_folder(tmp_path):
    """A folder that takes no files is found before any work."""
    with pytest.raises(InvalidInputError, match='cannot write in the folder'):
        check_writable('/proc/out.tif', dtype=np.uint8, rgb=False, ndim=2)
    check_writable(tmp_path / 'ok.png', dtype=np.uint8, rgb=True, ndim=2)
    assert list(tmp_path.iterdir()) == []  # the probe is gone


def test_an_unwritable_suffix_recommends_only_what_is_written(tmp_path):
    """``.bmp`` output: the advice names .tif/.png, never .jpg."""
    with pytest.raises(InvalidInputError) as info:
        check_writable(tmp_path / 'o.bmp', dtype=np.uint8, rgb=True, ndim=2)
    assert '.jpg' not in str(info.value)
    assert '.png' in str(info.value)


def test_a_large_valid_png_is_not_a_decompression_bomb(tmp_path):
    """182 Mpx (above Pillow's own limit): read; our limit names its flag."""
    path = tmp_path / 'big.png'
    Image.new('1', (13500, 13500)).save(path)
    assert read_image(path).data.shape == (13500, 13500)
    with pytest.raises(InvalidInputError) as info:
        read_image(path, max_pixels=100_000_000)
    assert info.value.field == '--max-pixels'
    assert 'bomb' not in str(info.value)


def test_a_tiff_above_the_limit_is_refused_before_reading(tmp_path):
    """The plane size comes from the header; the pixels are not read."""
    path = tmp_path / 'big.tif'
    tifffile.imwrite(path, np.zeros((2, 300, 400), np.uint8))
    with pytest.raises(InvalidInputError, match='nothing was read'):
        read_image(path, max_pixels=100_000)
    assert read_image(path, max_pixels=120_000).data.shape == (2, 300, 400)


_OME_NS = 'http://www.openmicroscopy.org/Schemas/OME/2016-06'


def _ome_tiff(path, *pixels_attributes, cm_per_pixel=None):
    """A 20 x 30 uint8 TIFF whose description is this OME-XML: one
    ``Image`` per string of ``Pixels`` attributes."""
    image = (
        '<Image ID="Image:{i}"><Pixels ID="Pixels:{i}" DimensionOrder="XYCZT" '
        'Type="uint8" SizeX="30" SizeY="20" SizeZ="1" SizeC="1" SizeT="1" '
        '{attributes}><Channel ID="Channel:{i}:0" '
        'SamplesPerPixel="1"/><TiffData IFD="0" PlaneCount="1"/></Pixels>'
        '</Image>'
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{_OME_NS}">'
        + ''.join(
            image.format(i=i, attributes=attributes)
            for i, attributes in enumerate(pixels_attributes)
        )
        + '</OME>'
    )
    tags = {}
    if cm_per_pixel is not None:
        tags = {
            'resolution': (1 / cm_per_pixel, 1 / cm_per_pixel),
            'resolutionunit': 'CENTIMETER',
        }
    tifffile.imwrite(
        path, _ramp((20, 30), np.uint8), description=xml, metadata=None,
        **tags,
    )  # fmt: skip
    return path


def test_ome_z_y_x_sizes_in_nanometres_micrometres_and_millimetres(tmp_path):
    """Each axis keeps its own OME unit, converted to µm."""
    path = tmp_path / 'zyx.ome.tif'
    tifffile.imwrite(
        path,
        _ramp((3, 20, 30), np.uint16),
        ome=True,
        metadata={
            'axes': 'ZYX',
            'PhysicalSizeX': 250.0,
            'PhysicalSizeXUnit': 'nm',
            'PhysicalSizeY': 0.5,
            'PhysicalSizeYUnit': 'µm',
            'PhysicalSizeZ': 0.002,
            'PhysicalSizeZUnit': 'mm',
        },
    )
    image = read_image(path)
    assert image.axes == 'ZYX'
    assert image.unit == 'µm'
    assert image.scale == pytest.approx((2.0, 0.5, 0.25))


def test_ome_sizes_without_a_unit_are_micrometres(tmp_path):
    """OME's default unit is µm; Z without a size keeps a scale of 1."""
    path = tmp_path / 'plain-units.ome.tif'
    tifffile.imwrite(
        path,
        _ramp((2, 20, 30), np.uint8),
        ome=True,
        metadata={'axes': 'ZYX', 'PhysicalSizeX': 0.3, 'PhysicalSizeY': 0.6},
    )
    assert read_image(path).scale == pytest.approx((1.0, 0.6, 0.3))


def test_non_square_ome_pixels_keep_each_axis(tmp_path):
    """A pixel twice as tall as wide is read as (Y, X) = (2a, a)."""
    path = _ome_tiff(
        tmp_path / 'tall.ome.tif',
        'PhysicalSizeX="0.1" PhysicalSizeY="200" PhysicalSizeYUnit="nm"',
    )
    image = read_image(path)
    assert image.scale == pytest.approx((0.2, 0.1))
    assert image.unit == 'µm'


def test_ome_pixel_sizes_come_from_the_first_image(tmp_path):
    """Several OME images: the first one's sizes (tifffile's series 0)."""
    path = _ome_tiff(
        tmp_path / 'two.ome.tif',
        'PhysicalSizeX="0.4" PhysicalSizeY="0.4"',
        'PhysicalSizeX="9" PhysicalSizeY="9"',
    )
    assert read_image(path).scale == pytest.approx((0.4, 0.4))


def test_ome_sizes_in_pixels_are_no_physical_size(tmp_path):
    """A size in 'pixel' units is not physical: no pixel size."""
    path = _ome_tiff(
        tmp_path / 'px.ome.tif',
        'PhysicalSizeX="1" PhysicalSizeXUnit="pixel" PhysicalSizeY="1" '
        'PhysicalSizeYUnit="pixel"',
    )
    image = read_image(path)
    assert image.scale == (1.0, 1.0)
    assert image.unit is None


@pytest.mark.parametrize(
    'attributes',
    [
        'PhysicalSizeX="abc" PhysicalSizeY="0.5"',  # not a number
        'PhysicalSizeX="-2" PhysicalSizeY="0.5"',  # not positive
        'PhysicalSizeX="0.5" PhysicalSizeXUnit="furlong"',  # no OME unit
    ],
)
def test_invalid_ome_metadata_warns_and_falls_back_to_resolution_tags(
    tmp_path, attributes
):
    """OME-XML outside the schema: a warning naming the file, and the
    pixel size of the resolution tags (as for a plain TIFF)."""
    path = _ome_tiff(tmp_path / 'bad.ome.tif', attributes, cm_per_pixel=7e-5)
    with pytest.warns(UserWarning, match='OME-XML metadata of .*bad.ome.tif'):
        image = read_image(path)
    assert image.scale == pytest.approx((0.7, 0.7))
    assert image.unit == 'µm'
    np.testing.assert_array_equal(image.data, _ramp((20, 30), np.uint8))


def test_malformed_ome_xml_warns_and_gives_no_pixel_size(tmp_path):
    """XML that does not parse: the pixels are read, with a warning and
    no pixel size (the file has no resolution tags)."""
    path = tmp_path / 'broken.ome.tif'
    tifffile.imwrite(
        path,
        _ramp((20, 30), np.uint8),
        description=f'<?xml version="1.0"?><OME xmlns="{_OME_NS}"><Image '
        'ID="Image:0"><Pixels PhysicalSizeX="0.5" </OME>',
        metadata=None,
    )
    with pytest.warns(UserWarning, match='cannot be read'):
        image = read_image(path)
    assert image.scale == (1.0, 1.0)
    assert image.unit is None
    np.testing.assert_array_equal(image.data, _ramp((20, 30), np.uint8))


def test_an_imagej_or_plain_tiff_does_not_import_ome_types(tmp_path):
    """ome-types (about a second to import) is loaded for OME-TIFFs only."""
    tifffile.imwrite(
        tmp_path / 'ij.tif',
        _ramp((20, 30), np.uint8),
        imagej=True,
        resolution=(2, 2),
        metadata={'unit': 'um'},
    )
    tifffile.imwrite(tmp_path / 'plain.tif', _ramp((20, 30), np.uint8))
    code = (
        'import sys\n'
        'from napari_outpaint._io import read_image\n'
        f'print(read_image({str(tmp_path / "ij.tif")!r}).scale)\n'
        f'print(read_image({str(tmp_path / "plain.tif")!r}).scale)\n'
        "print('ome_types' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split('\n')
    assert out[:3] == ['(0.5, 0.5)', '(1.0, 1.0)', 'False']
