"""The runs channels share: the local engine fills every channel of a
plane in one run through one set of source positions, whatever C."""

import numpy as np
import pytest
from napari.layers import Image
from scipy import ndimage

from napari_outpaint import Expand, outpaint_layers
from napari_outpaint._layers.channel_runs import runs_per_plane
from napari_outpaint.engines.local import LocalEngine
from napari_outpaint.engines.runflow import RunflowEngine

EXPAND = Expand(top=25, bottom=0, left=0, right=20)


class CountingLocal(LocalEngine):
    """The local engine, counting its runs and keeping what it was sent."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent = []

    def outpaint(self, image, expand, **kwargs):
        self.sent.append(image.copy())
        return super().outpaint(image, expand, **kwargs)


def _related_channels(shape=(40, 48)):
    """Five channels, each a strictly monotone transform of the first
    (increasing or decreasing), in five dtypes."""
    noise = np.random.default_rng(3).random(shape)
    base = ndimage.gaussian_filter(noise, 2)
    base = (base - base.min()) / np.ptp(base)
    values = np.round(base * 3000).astype(np.int64)
    return [
        values.astype(np.uint16),
        (3 * values + 7).astype(np.int32),
        (values.astype(np.float32) ** 2) / 7.0,
        (60000 - 20 * values).astype(np.uint16),
        (np.sqrt(values) * 1e-3).astype(np.float64),
    ]


@pytest.mark.parametrize('method', ['patchmatch', 'reflect'])
def test_five_channels_take_one_local_run_and_share_its_structure(method):
    datas = _related_channels()
    layers = [
        Image(
            d, name=f'c{k}', contrast_limits=(float(d.min()), float(d.max()))
        )
        for k, d in enumerate(datas)
    ]
    engine = CountingLocal(method)
    results = outpaint_layers(layers, EXPAND, engine=engine)
    assert len(engine.sent) == 1  # one run for five channels
    assert engine.sent[0].shape == (40, 48, 3)  # the guide, 8-bit RGB
    mask = results[0].metadata['outpaint_mask']
    assert mask.sum() > 0
    border = [r.data[mask] for r in results]
    for layer, result in zip(layers, results, strict=True):
        assert result.data.dtype == layer.data.dtype
        np.testing.assert_array_equal(
            result.data[~mask].reshape(40, 48), layer.data
        )
        # full bit depth: real values of the channel, not 256 levels
        assert np.isin(result.data[mask], layer.data).all()
    # the same source pixel in every channel: the relations hold exactly
    base = border[0].astype(np.int64)
    np.testing.assert_array_equal(border[1], 3 * base + 7)
    np.testing.assert_allclose(border[2], base.astype(np.float32) ** 2 / 7.0)
    np.testing.assert_array_equal(border[3], 60000 - 20 * base)
    np.testing.assert_allclose(border[4], np.sqrt(base) * 1e-3)
    bits = [r.metadata['outpaint']['generated_bits'] for r in results]
    assert bits == [16, 32, 32, 16, 64]  # each channel's own values
    record = results[0].metadata['outpaint']['channels']
    assert record['shared_offsets'] is True
    assert record['guide'] == 'first three principal components'
    assert 'note' not in record


def test_a_local_batch_of_channels_is_one_run_per_plane():
    datas = [np.stack([d, d[::-1]]) for d in _related_channels()[:4]]
    layers = [Image(d, name=f'c{k}') for k, d in enumerate(datas)]
    engine = CountingLocal('reflect')
    results = outpaint_layers(layers, EXPAND, engine=engine, planes='all')
    assert len(engine.sent) == 2
    for layer, result in zip(layers, results, strict=True):
        assert result.data.shape == (2, 50, 58)
        mask = result.metadata['outpaint_mask']
        np.testing.assert_array_equal(
            result.data[~mask].reshape(2, 40, 48), layer.data
        )
    base = results[0].data.astype(np.int64)
    np.testing.assert_array_equal(results[1].data, 3 * base + 7)


def test_runs_per_plane_counts_groups_of_three_for_a_paid_engine():
    paid = RunflowEngine('test-key', base_url='https://127.0.0.1:9')
    assert [runs_per_plane(c, paid) for c in (1, 3, 4, 6, 7)] == [
        1, 1, 2, 2, 3,
    ]  # fmt: skip
    assert runs_per_plane(7, LocalEngine('reflect')) == 1
