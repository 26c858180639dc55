"""The npe2 writer: an outpainted layer saved as image, mask and sidecar.

What this file checks
---------------------
- ``layer.save('x.outpainted.tif')`` in a real viewer writes the image,
  its mask and its sidecar, and the reader opens them back as the same
  layer: pixels, world transform (rotated too), units, name, mask and
  provenance.
- Only ``.outpainted.*`` names come to this writer: a plain ``.tif``
  stays with napari's own writer (no sidecar).
- An RGB result saved as PNG reads back the same.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from napari.layers import Image
from npe2 import PluginManager

from napari_outpaint._expand import Expand
from napari_outpaint._layers.outpaint import outpaint_layer
from napari_outpaint._layers.reader import read_results
from napari_outpaint._layers.writer import write_result

PLUGIN = 'napari-outpaint'
EXPAND = Expand(top=10, bottom=0, left=20, right=5)


def result_of(data, **kwargs):
    """The reflect engine's outpainted layer of an Image of *data*."""
    return outpaint_layer(Image(data, **kwargs), EXPAND, engine='reflect')


def smooth(shape):
    """A smooth uint16 ramp of *shape*."""
    rows, cols = np.indices(shape)
    return (1000 + 20 * rows + 30 * cols).astype(np.uint16)


@pytest.mark.gui
def test_saved_result_reopens_as_the_same_layer(make_napari_viewer, tmp_path):
    """Saved through napari, re-opened through napari: the same layer."""
    viewer = make_napari_viewer()
    result = result_of(
        smooth((24, 32)),
        name='cells',
        scale=(0.5, 0.5),
        translate=(3.0, -2.0),
        rotate=20,
        units=('nm', 'nm'),
    )
    viewer.add_layer(result)
    path = tmp_path / 'x.outpainted.tif'
    written = result.save(str(path))
    assert written == [
        str(path),
        str(tmp_path / 'x.outpainted.mask.tif'),
        str(tmp_path / 'x.outpainted.tif.json'),
    ]
    viewer.layers.clear()
    image, mask = viewer.open(str(path), plugin=PLUGIN)
    assert image.name == 'cells [outpainted]'
    assert mask.name == 'cells [generated]'
    np.testing.assert_array_equal(image.data, result.data)
    np.testing.assert_array_equal(
        mask.data, result.metadata['outpaint_mask'].astype(np.uint8)
    )
    for layer in (image, mask):
        assert layer.units == result.units
        for point in ((0, 0), (5, 40), (30, 7)):
            np.testing.assert_allclose(
                layer.data_to_world(point), result.data_to_world(point)
            )
    np.testing.assert_allclose(image.contrast_limits, result.contrast_limits)
    assert image.metadata['outpaint'] == json.loads(
        json.dumps(result.metadata['outpaint'])
    )


@pytest.mark.gui
def test_plain_tif_stays_with_napari_writer(make_napari_viewer, tmp_path):
    """Only ``.outpainted.*`` names come to us: a ``.tif`` is napari's."""
    viewer = make_napari_viewer()
    result = viewer.add_layer(result_of(smooth((16, 16)), name='a'))
    pm = PluginManager.instance()
    plain = [
        w.command
        for w in pm.iter_compatible_writers(['image'])
        if any('plain.tif'.endswith(e) for e in w.filename_extensions)
    ]
    assert plain
    assert not [c for c in plain if c.startswith(f'{PLUGIN}.')]
    ours, _ = pm.get_writer('x.outpainted.tif', ['image'])
    assert ours.command == f'{PLUGIN}.write_result'
    path = tmp_path / 'plain.tif'
    assert result.save(str(path)) == [str(path)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['plain.tif']


def test_rgb_result_as_png_reads_back(tmp_path):
    """An RGB result: PNG image and mask, and the same data read back."""
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0] = np.linspace(0, 250, 30).astype(np.uint8)
    result = result_of(rgb, name='photo', rgb=True, translate=(1.0, 2.0))
    data, meta, _ = result.as_layer_data_tuple()
    path = tmp_path / 'p.outpainted.png'
    written = write_result(str(path), data, meta)
    assert [p.rsplit('/', 1)[-1] for p in written] == [
        'p.outpainted.png', 'p.outpainted.mask.png', 'p.outpainted.png.json',
    ]  # fmt: skip
    (image, kwargs, _), (mask, mask_kwargs, _) = read_results(str(path))
    np.testing.assert_array_equal(image, result.data)
    np.testing.assert_array_equal(mask, result.metadata['outpaint_mask'])
    assert kwargs['rgb'] is True
    assert 'contrast_limits' not in kwargs
    np.testing.assert_allclose(kwargs['translate'], result.translate)
    np.testing.assert_allclose(mask_kwargs['translate'], result.translate)
