"""A zarr-backed 4D layer outpainted into a zarr store: a lazy result
layer, and the store re-opened (our reader, a real viewer) with the same
world placement as the result and its original."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import zarr
from napari.layers import Image, Labels

from napari_outpaint import Expand
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._layers import mask_layer, outpaint_layer
from napari_outpaint._layers.reader import get_reader, read_results
from napari_outpaint._layers.zarr_result import store_layer_data
from napari_outpaint.engines.local import LocalEngine

PLUGIN = 'napari-outpaint'
EXPAND = Expand(top=20, bottom=10, left=0, right=25)
SCALE = (5.0, 2.0, 0.5, 0.25)
TRANSLATE = (100.0, -3.0, 7.0, 1.5)


@pytest.fixture
def zarr_layer(tmp_path):
    """A (t=2, z=3, 16, 20) uint16 Image layer over a zarr array on disk."""
    rng = np.random.default_rng(3)
    values = rng.integers(50, 3000, (2, 3, 16, 20), dtype=np.uint16)
    array = zarr.create_array(
        str(tmp_path / 'source.zarr'),
        shape=values.shape,
        chunks=(1, 1, 16, 20),
        dtype=values.dtype,
    )
    array[...] = values
    layer = Image(
        array,
        name='cells',
        scale=SCALE,
        translate=TRANSLATE,
        units=('s', 'um', 'um', 'um'),
        axis_labels=('t', 'z', 'y', 'x'),
        contrast_limits=(0, 3000),
    )
    return layer, values


def _outpaint(layer, path):
    return outpaint_layer(
        layer,
        EXPAND,
        engine=LocalEngine(method='reflect'),
        planes='all',
        output=path,
    )


def test_result_layer_is_lazy_over_the_store(zarr_layer, tmp_path):
    """The result layer's data is a dask array over the store, styled and
    placed like an in-memory batch; its mask layer stays lazy too."""
    layer, values = zarr_layer
    path = tmp_path / 'result.zarr'
    result = _outpaint(layer, path)
    in_memory = outpaint_layer(
        layer, EXPAND, engine=LocalEngine(method='reflect'), planes='all'
    )
    assert isinstance(result.data, da.Array)
    np.testing.assert_array_equal(result.data.compute(), in_memory.data)
    np.testing.assert_allclose(result.scale, in_memory.scale)
    np.testing.assert_allclose(result.translate, in_memory.translate)
    assert result.contrast_limits == in_memory.contrast_limits
    mask = mask_layer(result)
    assert isinstance(mask.data, da.Array)
    np.testing.assert_array_equal(
        mask.data.compute(), np.asarray(in_memory.metadata['outpaint_mask'])
    )
    assert np.array_equal(layer.data[...], values)  # the original is intact


def test_store_reopens_with_the_same_world_placement(zarr_layer, tmp_path):
    """Our reader gives the store's image and mask placed exactly as the
    result layer: scale, translate, units and axis labels from its OME
    metadata; the original pixels sit where the original's are."""
    layer, values = zarr_layer
    path = tmp_path / 'result.zarr'
    result = _outpaint(layer, path)
    assert get_reader(str(path / 'zarr.json')) is not None
    assert get_reader(str(path / '0' / 'zarr.json')) is None
    (image, kwargs, kind), (mask, mask_kwargs, mask_kind) = read_results(
        str(path / 'zarr.json')
    )
    assert (kind, mask_kind) == ('image', 'labels')
    assert kwargs['name'] == 'cells [outpainted]'
    assert kwargs['axis_labels'] == ('t', 'z', 'y', 'x')
    assert kwargs['units'] == ('second',) + ('micrometer',) * 3
    np.testing.assert_allclose(kwargs['scale'], result.scale)
    np.testing.assert_allclose(kwargs['translate'], result.translate)
    np.testing.assert_allclose(mask_kwargs['translate'], result.translate)
    assert isinstance(image, da.Array)
    reopened = Image(image, **kwargs)
    rng = np.random.default_rng(4)
    for t, z, r, c in zip(
        rng.integers(0, 2, 20),
        rng.integers(0, 3, 20),
        rng.integers(0, 16, 20),
        rng.integers(0, 20, 20),
        strict=True,
    ):
        world = layer.data_to_world((t, z, r, c))
        at = np.round(reopened.world_to_data(world)).astype(int)
        np.testing.assert_allclose(reopened.world_to_data(world), at)
        assert image[tuple(at)].compute() == values[t, z, r, c]
        assert mask[tuple(at)].compute() == 0
    assert mask[0, 0, 0, 0].compute() == 1  # a generated corner


def test_only_our_stores_are_read(tmp_path):
    plain = tmp_path / 'plain.zarr'
    zarr.open_group(str(plain), mode='w')
    assert get_reader(str(plain / 'zarr.json')) is None
    with pytest.raises(InvalidInputError, match='not a result store'):
        store_layer_data(plain)


def test_zarr_output_needs_planes(zarr_layer, tmp_path):
    """output= holds a batch; one plane without planes= is refused."""
    layer, _ = zarr_layer
    with pytest.raises(InvalidInputError, match='^output: .*planes='):
        outpaint_layer(
            layer,
            EXPAND,
            engine=LocalEngine(method='reflect'),
            plane=(0, 0),
            output=tmp_path / 'r.zarr',
        )
    assert not (tmp_path / 'r.zarr').exists()
    with pytest.raises(InvalidInputError, match='^output: channels'):
        outpaint_layer(
            layer,
            EXPAND,
            engine=LocalEngine(method='reflect'),
            channel_axis=1,
            planes='all',
            output=tmp_path / 'r.zarr',
        )
    assert not (tmp_path / 'r.zarr').exists()


@pytest.mark.gui
def test_viewer_opens_the_store_aligned_with_its_original(
    make_napari_viewer, zarr_layer, tmp_path
):
    """`napari result.zarr/zarr.json`: only our reader matches; the result
    and its [generated] mask come in lazy, over the original's world."""
    layer, values = zarr_layer
    path = tmp_path / 'result.zarr'
    result = _outpaint(layer, path)
    viewer = make_napari_viewer()
    viewer.add_layer(layer)
    opened, generated = viewer.open(str(path / 'zarr.json'), plugin=None)
    assert isinstance(opened, Image)
    assert isinstance(generated, Labels)
    assert generated.name == 'cells [generated]'
    assert viewer.layers.extent.units is not None  # one set of units
    np.testing.assert_allclose(opened.scale, result.scale)
    np.testing.assert_allclose(opened.translate, result.translate)
    world = layer.data_to_world((1, 2, 5, 6))
    at = tuple(np.round(opened.world_to_data(world)).astype(int))
    assert opened.data[at].compute() == values[1, 2, 5, 6]
