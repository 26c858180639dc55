"""The npe2 reader: a command-line result opens placed by its sidecar.

What this file checks
---------------------
- ``napari-outpaint IN -o out.tif`` then the reader gives the result
  with the sidecar's scale, translate, affine and units, named after
  its source, and its mask as an aligned Labels layer (1 = generated).
- Every file without our sidecar is declined (napari's reader takes it).
- In a real viewer, ``viewer.open(out, plugin='napari-outpaint')`` puts
  the original pixels of the result where the original's are in world
  coordinates, and the mask marks only the generated ones.
- What README says of napari's reader choice: with no plugin named (as
  ``napari out.tif``), napari finds two readers for a ``.tif``; ours
  declines a plain one, which napari's own reader still opens.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from napari.errors import MultipleReaderError
from napari.layers import Image, Labels

from cli_runner import SIDES, run
from napari_outpaint._layers.reader import (
    get_reader,
    read_results,
    result_layer_data,
)

PLUGIN = 'napari-outpaint'
PIXEL_UM = 0.5


@pytest.fixture
def micro_tif(tmp_path):
    """A 30 x 40 uint16 TIFF of 0.5 um pixels, ``cells.tif``: (path, data)."""
    rng = np.random.default_rng(1)
    data = rng.integers(100, 4000, (30, 40), dtype=np.uint16)
    path = tmp_path / 'cells.tif'
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(1 / PIXEL_UM, 1 / PIXEL_UM),
        metadata={'axes': 'YX', 'unit': 'um'},
    )
    return path, data


@pytest.fixture
def cli_result(micro_tif, tmp_path):
    """``napari-outpaint cells.tif -o out.tif`` (reflect): the out path."""
    path, _ = micro_tif
    out = tmp_path / 'out.tif'
    ran = run(str(path), '-o', str(out), *SIDES, '--engine', 'reflect')
    assert ran.code == 0, ran.err
    return out


def test_cli_result_reads_as_placed_image_and_mask(cli_result, micro_tif):
    """Image and mask layer data carry the sidecar's placement and units."""
    _, original = micro_tif
    reader = get_reader(str(cli_result))
    assert reader is not None
    (image, kwargs, kind), (mask, mask_kwargs, mask_kind) = reader(
        str(cli_result)
    )
    placement = json.loads(cli_result.with_name('out.tif.json').read_text())[
        'placement'
    ]
    assert (kind, mask_kind) == ('image', 'labels')
    assert kwargs['name'] == 'cells [outpainted]'
    assert mask_kwargs['name'] == 'cells [generated]'
    np.testing.assert_array_equal(image, tifffile.imread(cli_result))
    for layer in (kwargs, mask_kwargs):
        np.testing.assert_allclose(layer['scale'], placement['scale'])
        np.testing.assert_allclose(layer['translate'], placement['translate'])
        np.testing.assert_allclose(layer['affine'], placement['affine'])
        assert layer['units'] == ('µm', 'µm')
    np.testing.assert_allclose(kwargs['scale'], (PIXEL_UM, PIXEL_UM))
    # the original's pixel (0, 0) sits at world 0: its offset times scale
    offset = np.asarray(placement['original_offset_px'])
    np.testing.assert_allclose(kwargs['translate'], -offset * PIXEL_UM)

    row, col = offset.astype(int)
    rows, cols = original.shape
    np.testing.assert_array_equal(
        image[row : row + rows, col : col + cols], original
    )
    written = tifffile.imread(cli_result.with_name('out.mask.tif'))
    np.testing.assert_array_equal(mask, (written > 0).astype(np.uint8))
    assert mask[row : row + rows, col : col + cols].max() == 0
    assert mask.sum() == mask.size - original.size
    np.testing.assert_array_equal(kwargs['metadata']['outpaint_mask'], mask)
    assert kwargs['metadata']['outpaint']['engine'] == 'local'


def test_no_mask_result_reads_as_image_only(micro_tif, tmp_path):
    """``--no-mask``: one image layer, no mask."""
    path, _ = micro_tif
    out = tmp_path / 'bare.tif'
    ran = run(
        str(path), '-o', str(out), *SIDES, '--engine', 'reflect', '--no-mask'
    )
    assert ran.code == 0, ran.err
    ((_, kwargs, kind),) = read_results(str(out))
    assert kind == 'image'
    assert kwargs['metadata']['outpaint_mask'] is None


def test_stack_result_gives_units_to_spatial_axes_only(tmp_path):
    """A T x Y x X stack: micrometres on Y and X, pixels on T."""
    ramp = np.linspace(20, 200, 24).astype(np.uint8)
    data = np.broadcast_to(ramp, (2, 20, 24)).copy()
    path = tmp_path / 'movie.tif'
    tifffile.imwrite(
        path,
        data,
        ome=True,
        metadata={
            'axes': 'TYX',
            'PhysicalSizeX': 0.25,
            'PhysicalSizeY': 0.25,
        },
    )
    out = tmp_path / 'movie-out.tif'
    ran = run(
        str(path), '-o', str(out), *SIDES, '--engine', 'reflect', '--plane',
        'all',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    (image, kwargs, _), (mask, mask_kwargs, _) = read_results(str(out))
    assert image.shape[0] == mask.shape[0] == 2
    assert kwargs['units'] == mask_kwargs['units'] == ('pixel', 'µm', 'µm')
    np.testing.assert_allclose(kwargs['scale'][-2:], (0.25, 0.25))


def test_files_without_our_sidecar_are_declined(cli_result, micro_tif):
    """Plain images, our masks, foreign sidecars and folders: None."""
    plain, _ = micro_tif
    assert get_reader(str(plain)) is None
    assert get_reader(str(cli_result.with_name('out.mask.tif'))) is None
    assert get_reader(str(cli_result.parent)) is None
    foreign = plain.with_name('cells.tif.json')
    foreign.write_text(json.dumps({'placement': {'scale': [1, 1]}}))
    assert get_reader(str(plain)) is None
    assert get_reader([str(cli_result), str(plain)]) is None
    assert get_reader([str(cli_result)]) is not None
    assert get_reader(None) is None


@pytest.mark.gui
def test_viewer_opens_result_aligned_with_its_original(
    make_napari_viewer, cli_result, micro_tif
):
    """Through napari: the result's original pixels sit on the original's."""
    path, original = micro_tif
    viewer = make_napari_viewer()
    source = viewer.add_image(
        original, scale=(PIXEL_UM, PIXEL_UM), units=('um', 'um'), name='in'
    )
    layers = viewer.open(str(cli_result), plugin=PLUGIN)
    result, mask = layers
    assert isinstance(result, Image)
    assert isinstance(mask, Labels)
    assert [layer.name for layer in viewer.layers] == [
        'in', 'cells [outpainted]', 'cells [generated]',
    ]  # fmt: skip
    assert {str(u) for u in result.units} == {'micrometer'}
    assert mask.units == result.units
    rng = np.random.default_rng(2)
    rows, cols = original.shape
    for r, c in zip(
        rng.integers(0, rows, 50), rng.integers(0, cols, 50), strict=True
    ):
        world = source.data_to_world((r, c))
        at = np.round(result.world_to_data(world)).astype(int)
        np.testing.assert_allclose(result.world_to_data(world), at, atol=1e-6)
        assert result.data[tuple(at)] == original[r, c]
        in_mask = np.round(mask.world_to_data(world)).astype(int)
        assert mask.data[tuple(in_mask)] == 0
    corner = result.data_to_world((0, 0))  # generated: top-left of canvas
    assert mask.data[tuple(np.round(mask.world_to_data(corner)).astype(int))]


@pytest.mark.gui
def test_viewer_reader_choice_for_plain_and_our_files(
    make_napari_viewer, cli_result, micro_tif
):
    """Two readers match a .tif; ours refuses a plain one; napari opens it."""
    plain, original = micro_tif
    viewer = make_napari_viewer()
    with pytest.raises(MultipleReaderError):  # `napari out.tif`: a dialog
        viewer.open(str(cli_result), plugin=None)
    with pytest.raises(ValueError, match='refused the file'):
        viewer.open(str(plain), plugin=PLUGIN)
    (layer,) = viewer.open(str(plain), plugin='napari')
    np.testing.assert_array_equal(layer.data, original)


@pytest.mark.gui
def test_the_sidecar_opens_the_result_with_no_reader_choice(
    make_napari_viewer, cli_result
):
    """`napari out.tif.json`: only ours matches, the result and its mask
    come placed as from out.tif; a JSON file of anyone else is declined."""
    viewer = make_napari_viewer()
    sidecar = f'{cli_result}.json'
    result, mask = viewer.open(sidecar, plugin=None)  # as `napari FILE`
    by_image = result_layer_data(cli_result)
    np.testing.assert_array_equal(result.data, by_image[0][0])
    np.testing.assert_allclose(result.scale, by_image[0][1]['scale'])
    assert isinstance(mask, Labels)
    other = cli_result.parent / 'notes.tif.json'
    other.write_text('{"a": 1}')
    assert get_reader(str(other)) is None
