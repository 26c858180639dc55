"""Channels of one image outpainted together: one run per three
channels, the same generated structure in each, every channel back in
its own dtype, range and style."""

import numpy as np
import pytest
from napari.layers import Image

from napari_outpaint import (
    BudgetError,
    Canvas,
    Expand,
    InvalidInputError,
    outpaint_layers,
)
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


def _channels(n, shape=(30, 40), lead=()):
    rng = np.random.default_rng(5)
    dtypes = [np.uint16, np.float32, np.uint8, np.uint16, np.int16]
    layers = []
    for k in range(n):
        dtype = dtypes[k % len(dtypes)]
        top = 4000 if dtype != np.uint8 else 255
        data = rng.integers(0, top, lead + shape).astype(dtype)
        layers.append(
            Image(
                data,
                name=f'c{k}',
                scale=(1.0,) * len(lead) + (0.5, 0.25),
                translate=(0.0,) * len(lead) + (3.0, -2.0),
                colormap=['green', 'magenta', 'cyan', 'gray', 'red'][k],
                contrast_limits=(0, top),
                blending='additive',
                units=('um', 'um')[: len(shape)] if not lead else None,
            )
        )
    return layers


def test_three_channels_take_one_run_and_come_back_each_as_it_was(
    runflow_standin,
):
    layers = _channels(3)
    results = outpaint_layers(layers, EXPAND, engine=_engine(runflow_standin))
    assert len(runflow_standin.runs) == 1
    assert [r.name for r in results] == [
        'c0 [outpainted]', 'c1 [outpainted]', 'c2 [outpainted]',
    ]  # fmt: skip
    masks = [r.metadata['outpaint_mask'] for r in results]
    for layer, result, mask in zip(layers, results, masks, strict=True):
        assert result.data.dtype == layer.data.dtype
        assert result.data.shape == (36, 50)
        np.testing.assert_array_equal(result.data[6:, :40], layer.data)
        assert not mask[6:, :40].any()
        assert mask[:6].all()
        assert result.colormap.name == layer.colormap.name
        assert tuple(result.contrast_limits) == tuple(layer.contrast_limits)
        assert result.blending == layer.blending
        world = layer.data_to_world((4, 7))
        np.testing.assert_allclose(result.world_to_data(world), (10, 7))
        channels = result.metadata['outpaint']['channels']
        assert channels['layers'] == ['c0', 'c1', 'c2']
    np.testing.assert_array_equal(masks[0], masks[1])


def test_more_than_three_channels_are_groups_each_a_run_confirmed(
    runflow_standin,
):
    layers = _channels(5)
    with pytest.raises(BudgetError, match=r'2 groups x \$0\.55'):
        outpaint_layers(layers, EXPAND, engine=_engine(runflow_standin))
    assert runflow_standin.requests == []
    results = outpaint_layers(
        layers, EXPAND, engine=_engine(runflow_standin), confirm=True
    )
    assert len(runflow_standin.runs) == 2
    assert len(results) == 5
    assert results[4].metadata['outpaint']['channels']['layers'] == [
        'c3', 'c4',
    ]  # fmt: skip


def test_the_same_structure_in_every_channel_of_a_group():
    """The local engine fills the composed image once: where one channel
    copies a region, the others copy the same one (equal channels stay
    equal)."""
    layers = _channels(2)
    layers[1] = Image(
        layers[0].data.copy(),
        name='twin',
        scale=layers[0].scale,
        translate=layers[0].translate,
        contrast_limits=layers[0].contrast_limits,
    )
    a, b = outpaint_layers(
        layers, EXPAND, engine=LocalEngine(method='reflect')
    )
    np.testing.assert_array_equal(a.data, b.data)


def test_a_plane_of_a_stack_is_placed_at_that_plane(runflow_standin):
    layers = _channels(2, lead=(4,))
    results = outpaint_layers(
        layers, EXPAND, engine=_engine(runflow_standin), plane=2
    )
    for layer, result in zip(layers, results, strict=True):
        assert result.data.shape == (1, 36, 50)
        np.testing.assert_array_equal(result.data[0, 6:, :40], layer.data[2])
        world = layer.data_to_world((2, 4, 7))
        np.testing.assert_allclose(result.world_to_data(world), (0, 10, 7))


def test_a_canvas_works_for_channels_too(runflow_standin):
    layers = _channels(2)
    a, _ = outpaint_layers(
        layers, Canvas.pixels(left=9), engine=_engine(runflow_standin)
    )
    assert a.data.shape == (30, 49)
    np.testing.assert_array_equal(a.data[:, 9:], layers[0].data)


@pytest.mark.parametrize('case', ['empty', 'shape', 'placement', 'rgb'])
def test_layers_that_are_not_channels_of_one_image_are_refused(
    runflow_standin, case
):
    layers = _channels(2)
    if case == 'empty':
        layers = []
    elif case == 'shape':
        layers[1] = Image(np.zeros((30, 41), np.uint16))
    elif case == 'placement':
        layers[1].translate = (5.0, 5.0)
    else:
        layers[1] = Image(np.zeros((30, 40, 3), np.uint8), rgb=True)
    with pytest.raises(InvalidInputError) as caught:
        outpaint_layers(layers, EXPAND, engine=_engine(runflow_standin))
    assert caught.value.field == 'layers'
    assert runflow_standin.requests == []


def test_each_channel_gets_the_border_of_its_own_pixels():
    """Reflection of the composed image: the 8-bit channel's border is the
    mirror of its own pixels, exactly (not another channel's)."""
    layers = _channels(3)
    results = outpaint_layers(
        layers, EXPAND, engine=LocalEngine(method='reflect')
    )
    eight_bit = layers[2].data
    assert eight_bit.dtype == np.uint8
    mirrored = np.pad(eight_bit, ((6, 0), (0, 10)), mode='reflect')
    np.testing.assert_array_equal(results[2].data, mirrored)


def test_a_batch_of_channel_layers_is_one_run_per_plane_and_cached(
    runflow_standin,
):
    layers = _channels(3, lead=(4,))
    engine = _engine(runflow_standin)
    with pytest.raises(BudgetError):
        outpaint_layers(layers, EXPAND, engine=engine, planes='all')
    assert runflow_standin.requests == []
    results = outpaint_layers(
        layers, EXPAND, engine=engine, planes='all', confirm=True
    )
    assert len(runflow_standin.runs) == 4  # one per plane, not 12
    run_ids = set()
    for layer, result in zip(layers, results, strict=True):
        assert result.data.shape == (4, 36, 50)
        assert result.data.dtype == layer.data.dtype
        np.testing.assert_array_equal(result.data[:, 6:, :40], layer.data)
        outcomes = result.metadata['outpaint']['batch']['outcomes']
        run_ids.add(tuple(o['run_id'] for o in outcomes))
    assert len(run_ids) == 1  # every channel's plane from the same run
    again = outpaint_layers(
        layers, EXPAND, engine=engine, planes='all', confirm=True
    )
    assert len(runflow_standin.runs) == 4  # all from the cache
    for a, b in zip(results, again, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_a_batch_of_five_channels_asks_one_price_for_both_groups(
    runflow_standin,
):
    layers = _channels(5, lead=(3,))
    asked = []
    with pytest.warns(UserWarning, match='generated separately'):
        results = outpaint_layers(
            layers,
            EXPAND,
            engine=_engine(runflow_standin),
            planes=[0, 2],
            confirm=lambda estimate: asked.append(estimate) or True,
        )
    assert [e.n_paid for e in asked] == [4]  # 2 planes x 2 groups, once
    assert len(runflow_standin.runs) == 4
    assert results[3].data.shape == (3, 36, 50)
    note = results[3].metadata['outpaint']['channels']['note']
    assert 'generated separately' in note


def test_the_border_of_each_channel_comes_from_the_same_run(runflow_standin):
    """The stand-in mirrors the composed image (numpy's symmetric
    padding): each channel's border is the mirror of its own pixels
    (exactly for the 8-bit channel, to its 8-bit step for the others),
    all from one run id."""
    layers = _channels(3)
    results = outpaint_layers(layers, EXPAND, engine=_engine(runflow_standin))
    run_ids = {r.metadata['outpaint']['run_id'] for r in results}
    assert run_ids == {runflow_standin.runs[0].id}
    for layer, result in zip(layers, results, strict=True):
        mirrored = np.pad(layer.data, ((6, 0), (0, 10)), mode='symmetric')
        step = np.ptp(layer.contrast_limits) / 255
        np.testing.assert_allclose(
            result.data.astype(float),
            mirrored,
            atol=step / 2 + 1,  # + integer rounding
        )
    mirrored = np.pad(layers[2].data, ((6, 0), (0, 10)), mode='symmetric')
    np.testing.assert_array_equal(results[2].data, mirrored)


def test_a_canvas_of_two_passes_is_asked_once_for_one_group(runflow_standin):
    layers = _channels(3)
    asked = []
    results = outpaint_layers(
        layers,
        Canvas.pixels(left=60),  # more than 80 % of 40 columns: two passes
        engine=_engine(runflow_standin),
        confirm=lambda estimate: asked.append(estimate) or True,
    )
    assert len(asked) == 1
    assert asked[0].n_passes == 2
    assert len(runflow_standin.runs) == 2
    assert results[0].data.shape == (30, 100)
    np.testing.assert_array_equal(results[1].data[:, 60:], layers[1].data)
