"""A Canvas wish, planned and run on the Runflow stand-in: exact sizes,
the original bit-identical at its offset, aligned in world, every pass
paid once and confirmed."""

import numpy as np
import pytest
from napari.layers import Image

from napari_outpaint import (
    BudgetError,
    Canvas,
    Expand,
    outpaint_array,
    outpaint_layer,
)
from napari_outpaint._runflow.retry import PollSchedule
from napari_outpaint.engines.runflow import RunflowEngine

SCALE = (0.5, 0.25)
TRANSLATE = (3.0, -2.0)


def _engine(server):
    return RunflowEngine(
        server.api_key,
        base_url=server.base_url,
        verify=server.ca_path,
        poll_interval=PollSchedule(initial=0.02, factor=1.5, cap=0.1),
    )


def _plane(shape=(30, 40)):
    rng = np.random.default_rng(3)
    return rng.integers(0, 65535, shape, dtype=np.uint16)


def _check_placed(result, data, shape, offset):
    """Exact shape, the original bit-identical at *offset*, and every
    original pixel at the same world position in both layers."""
    assert result.data.shape == shape
    top, left = offset
    rows, cols = data.shape
    np.testing.assert_array_equal(
        result.data[top : top + rows, left : left + cols], data
    )
    assert not result.mask[top : top + rows, left : left + cols].any()
    assert result.mask.sum() == result.mask.size - data.size
    source = Image(data, scale=SCALE, translate=TRANSLATE)
    placed = Image(result.data, **result.layer_kwargs())
    for r, c in [(0, 0), (rows - 1, cols - 1), (7, 11)]:
        world = source.data_to_world((r, c))
        np.testing.assert_allclose(
            placed.world_to_data(world), (r + top, c + left), atol=0.05
        )


@pytest.mark.parametrize(
    ('wish', 'shape', 'offset'),
    [
        (Canvas.pixels(top=7, left=3), (37, 43), (7, 3)),
        (Canvas.world(bottom=2.0, right=2.0), (34, 48), (0, 0)),
        (Canvas.shape(45, 64, anchor=(0, 1)), (45, 64), (0, 24)),
        (Canvas.aspect(16 / 9), (30, 53), (0, 7)),
        (Canvas.percent(top=10, bottom=10), (36, 40), (3, 0)),
    ],
)
def test_each_kind_of_wish_gives_exactly_that_canvas(
    runflow_standin, wish, shape, offset
):
    data = _plane()
    result = outpaint_array(
        data,
        wish,
        engine=_engine(runflow_standin),
        scale=SCALE,
        translate=TRANSLATE,
    )
    _check_placed(result, data, shape, offset)
    assert len(runflow_standin.runs) == 1
    canvas = result.provenance['canvas']
    assert canvas['wish'] == wish.describe()
    assert [p['run_id'] for p in canvas['passes']] == [
        runflow_standin.runs[0].id
    ]


def test_a_two_pass_canvas_is_confirmed_paid_twice_and_free_again(
    runflow_standin,
):
    """+200 % rows needs two passes: refused unconfirmed before any byte
    leaves, two runs when confirmed (the second on the first's canvas),
    none when run again; the provenance lists both passes."""
    server = runflow_standin
    data = _plane()
    wish = Canvas.shape(90, 40, anchor=(0.5, 0.5))
    engine = _engine(server)
    with pytest.raises(BudgetError, match=r'2 passes x \$0\.55 = \$1\.10'):
        outpaint_array(data, wish, engine=engine, scale=SCALE)
    assert server.requests == []

    seen = []
    result = outpaint_array(
        data,
        wish,
        engine=engine,
        scale=SCALE,
        translate=TRANSLATE,
        confirm=lambda estimate: seen.append(estimate.text) or True,
    )
    assert seen == ['1 plane x 2 passes x $0.55 = $1.10']
    _check_placed(result, data, (90, 40), (30, 0))
    assert len(server.runs) == 2
    first, second = server.runs
    assert first.input['expand_top'] == first.input['expand_bottom'] == 80
    passes = result.provenance['canvas']['passes']
    assert [p['run_id'] for p in passes] == [first.id, second.id]
    assert passes[1]['canvas_in_px'] == [78, 40]  # 30 + 2 x 24
    assert result.provenance['cost_usd'] == pytest.approx(1.10)

    again = outpaint_array(
        data, wish, engine=engine, scale=SCALE, translate=TRANSLATE,
        confirm=True,
    )  # fmt: skip
    assert len(server.runs) == 2
    np.testing.assert_array_equal(again.data, result.data)


def test_world_units_without_a_scale_are_refused_before_any_request(
    runflow_standin,
):
    with pytest.raises(Exception, match='scale') as caught:
        outpaint_array(
            _plane(),
            Canvas.world(left=5.0),
            engine=_engine(runflow_standin),
        )
    assert caught.value.field == 'scale'
    assert runflow_standin.requests == []


def test_native_resolution_refuses_a_canvas_of_several_passes(
    runflow_standin,
):
    with pytest.raises(Exception, match='keep_native_resolution'):
        outpaint_array(
            _plane(),
            Canvas.shape(90, 40),
            engine=_engine(runflow_standin),
            keep_native_resolution=True,
            confirm=True,
        )
    assert runflow_standin.requests == []


def test_an_expand_stays_one_plain_request(runflow_standin):
    result = outpaint_array(
        _plane(), Expand(top=20), engine=_engine(runflow_standin)
    )
    assert result.provenance['canvas'] is None
    assert len(runflow_standin.runs) == 1


def test_a_layer_takes_a_world_canvas_in_its_own_units(runflow_standin):
    """8 world units at 0.25 per column pixel is 32 px on the left."""
    data = _plane()
    layer = Image(data, scale=SCALE, translate=TRANSLATE)
    new = outpaint_layer(
        layer, Canvas.world(left=8.0), engine=_engine(runflow_standin)
    )
    assert new.data.shape == (30, 72)
    np.testing.assert_array_equal(np.asarray(new.data)[:, 32:], data)
    world = layer.data_to_world((5, 0))
    np.testing.assert_allclose(new.world_to_data(world), (5, 32), atol=0.05)
