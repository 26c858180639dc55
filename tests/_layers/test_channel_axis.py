"""``outpaint_layer(..., channel_axis=)``: one layer of channels in, one
layer of the same axes out, the channels outpainted together."""

import numpy as np
import pytest
from napari.layers import Image

from napari_outpaint import BudgetError, Expand, InvalidInputError
from napari_outpaint._layers.outpaint import outpaint_layer
from napari_outpaint._runflow.retry import PollSchedule
from napari_outpaint.engines.local import LocalEngine
from napari_outpaint.engines.runflow import RunflowEngine

EXPAND = Expand(top=20, bottom=0, left=0, right=25)


def _engine(server):
    return RunflowEngine(
        server.api_key,
        base_url=server.base_url,
        verify=server.ca_path,
        poll_interval=PollSchedule(initial=0.02, factor=1.5, cap=0.1),
    )


def _cyx(channels=3, lead=(), shape=(30, 40)):
    """uint16 channels of very different ranges (k up to 100 * 20**k)."""
    rng = np.random.default_rng(2)
    return np.stack(
        [
            rng.integers(0, 100 * 20**k, lead + shape).astype(np.uint16)
            for k in range(channels)
        ],
        axis=len(lead),
    )


def test_three_channels_on_an_axis_take_one_run_into_one_layer(
    runflow_standin,
):
    data = _cyx()
    layer = Image(
        data, name='cells', scale=(2.0, 0.5, 0.25), translate=(1, 3, -2)
    )
    result = outpaint_layer(
        layer, EXPAND, channel_axis=0, engine=_engine(runflow_standin)
    )
    assert len(runflow_standin.runs) == 1
    assert result.name == 'cells [outpainted]'
    assert result.data.shape == (3, 36, 50)
    assert result.data.dtype == np.uint16
    np.testing.assert_array_equal(result.data[:, 6:, :40], data)
    np.testing.assert_allclose(result.scale, layer.scale)
    for point in [(0, 4, 7), (2, 29, 39)]:
        world = layer.data_to_world(point)
        np.testing.assert_allclose(
            result.world_to_data(world), (point[0], point[1] + 6, point[2])
        )
    mask = result.metadata['outpaint_mask']
    assert mask.shape == result.data.shape
    assert mask[:, :6].all()
    assert not mask[:, 6:, :40].any()
    record = result.metadata['outpaint']['channels']
    assert record['axis'] == 0
    assert record['count'] == 3
    assert record['runs_per_plane'] == 1
    # each channel through its own range: the small channel's border is
    # not quantised to the large channel's steps, and stays in its range
    for k in range(3):
        border = result.data[k][mask[k]]
        assert border.max() <= data[k].max()
        assert len(np.unique(border)) > 40


def test_a_stack_of_channels_is_one_run_per_plane_per_group_and_cached(
    runflow_standin,
):
    data = _cyx(channels=4, lead=(2,))  # (Z, C, Y, X)
    layer = Image(data, name='zc')
    engine = _engine(runflow_standin)
    with pytest.raises(BudgetError, match='4 runs'):
        outpaint_layer(
            layer, EXPAND, channel_axis=1, engine=engine, planes='all'
        )
    assert runflow_standin.requests == []
    asked = []
    with pytest.warns(UserWarning, match='generated separately'):
        result = outpaint_layer(
            layer,
            EXPAND,
            channel_axis=1,
            engine=engine,
            planes='all',
            confirm=lambda estimate: asked.append(estimate) or True,
        )
    assert len(asked) == 1
    assert asked[0].n_paid == 4
    assert len(runflow_standin.runs) == 4  # 2 planes x ceil(4 / 3)
    assert result.data.shape == (2, 4, 36, 50)
    np.testing.assert_array_equal(result.data[:, :, 6:, :40], data)
    with pytest.warns(UserWarning, match='generated separately'):
        again = outpaint_layer(
            layer,
            EXPAND,
            channel_axis=1,
            engine=engine,
            planes='all',
            confirm=True,
        )
    assert len(runflow_standin.runs) == 4  # every plane from the cache
    np.testing.assert_array_equal(again.data, result.data)


def test_one_plane_of_a_stack_is_placed_at_that_plane():
    data = _cyx(lead=(3,))  # (Z, C, Y, X)
    layer = Image(data, scale=(5.0, 1.0, 0.5, 0.5))
    result = outpaint_layer(
        layer,
        EXPAND,
        channel_axis=1,
        plane=2,
        engine=LocalEngine(method='reflect'),
    )
    assert result.data.shape == (1, 3, 36, 50)
    np.testing.assert_array_equal(result.data[0, :, 6:, :40], data[2])
    world = layer.data_to_world((2, 1, 4, 7))
    np.testing.assert_allclose(result.world_to_data(world), (0, 1, 10, 7))


@pytest.mark.parametrize(
    ('axis', 'words'),
    [
        ('0', 'must be an int'),
        (True, 'must be an int'),
        (3, 'out of range'),
        (-4, 'out of range'),
        (-1, 'displayed axis'),
        (1, 'displayed axis'),
    ],
)
def test_a_bad_channel_axis_is_refused_before_any_request(
    runflow_standin, axis, words
):
    layer = Image(_cyx())
    with pytest.raises(InvalidInputError, match=words) as caught:
        outpaint_layer(
            layer, EXPAND, channel_axis=axis, engine=_engine(runflow_standin)
        )
    assert caught.value.field == 'channel_axis'
    assert runflow_standin.requests == []


def test_rgb_layers_and_transforms_that_mix_the_channel_axis_are_refused():
    rgb = Image(np.zeros((30, 40, 3), np.uint8), rgb=True)
    with pytest.raises(InvalidInputError, match='RGB') as caught:
        outpaint_layer(rgb, EXPAND, channel_axis=0, engine='local')
    assert caught.value.field == 'channel_axis'
    affine = np.eye(5)
    affine[0, 1] = 0.5  # z depends on the channel index
    mixed = Image(_cyx(lead=(2,)), affine=affine)
    with pytest.raises(InvalidInputError, match='mixes axis 1') as caught:
        outpaint_layer(mixed, EXPAND, channel_axis=1, plane=0, engine='local')
    assert caught.value.field == 'channel_axis'
