"""The one pipeline wires the paid-result cache and batches for all."""

import numpy as np
import pytest
from napari.layers import Image

from fakes import FakeEngine
from napari_outpaint import BudgetError, Expand, outpaint_array, outpaint_layer


class PaidFakeEngine(FakeEngine):
    """A fake engine that costs money, like Runflow."""

    name = 'paid-fake'
    model = 'paid-fake/reflect'
    price_per_image_usd = 0.55


def _image(seed=0, shape=(40, 50)):
    return np.random.default_rng(seed).integers(0, 255, shape, np.uint8)


def test_identical_paid_request_is_answered_from_the_cache():
    """The second identical paid call creates no run and says so."""
    engine = PaidFakeEngine()
    data = _image()
    first = outpaint_array(data, Expand(10, 0, 0, 20), engine=engine)
    second = outpaint_array(data, Expand(10, 0, 0, 20), engine=engine)
    assert len(engine.calls) == 1
    assert first.engine_result.details['cached'] is False
    assert second.engine_result.details['cached'] is True
    assert second.engine_result.cost_usd == 0
    np.testing.assert_array_equal(first.data, second.data)


def test_free_engines_are_not_cached():
    """Local (free) engines run every time: nothing to save."""
    engine = FakeEngine()
    data = _image()
    outpaint_array(data, Expand(10, 0, 0, 20), engine=engine)
    outpaint_array(data, Expand(10, 0, 0, 20), engine=engine)
    assert len(engine.calls) == 2


def test_layer_planes_all_gives_one_nd_layer():
    """planes='all' outpaints every plane into one aligned nD layer."""
    stack = np.stack([_image(i) for i in range(3)])
    layer = Image(stack, scale=(2.0, 0.5, 0.5), translate=(1, 2, 3))
    new = outpaint_layer(
        layer, Expand(10, 10, 0, 0), engine=FakeEngine(), planes='all'
    )
    assert new.data.shape == (3, 48, 50)
    for z in range(3):
        # the original plane z sits unchanged at the same world position
        world = layer.data_to_world((z, 0, 0))
        index = np.round(new.world_to_data(world)).astype(int)
        got = np.asarray(new.data)[index[0], index[1] : index[1] + 40]
        np.testing.assert_array_equal(got, stack[z])


def test_paid_batch_needs_confirmation():
    """A paid batch refuses to spend money without confirmation."""
    stack = np.stack([_image(i) for i in range(2)])
    engine = PaidFakeEngine()
    with pytest.raises(BudgetError):
        outpaint_layer(
            Image(stack), Expand(10, 10, 0, 0), engine=engine, planes='all'
        )
    assert engine.calls == []
