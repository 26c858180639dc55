"""outpaint_layer: a layer in, one new aligned, styled layer out."""

import numpy as np
import pytest
from napari.layers import Image

from napari_outpaint._errors import InsufficientCreditError
from napari_outpaint._expand import Expand
from napari_outpaint._layers.outpaint import outpaint_layer
from napari_outpaint.engines.runflow import RunflowEngine

EXPAND = Expand(top=20, bottom=0, left=25, right=0)
SHAPE = (2, 3, 10, 12)  # (t, z, rows, cols)


@pytest.fixture
def engine(runflow_standin):
    """A RunflowEngine talking to the stand-in."""
    return RunflowEngine(
        base_url=runflow_standin.base_url,
        api_key='test-key',
        verify=runflow_standin.ca_path,
    )


@pytest.fixture
def stack():
    """A small 4D uint16 stack with distinct planes."""
    rng = np.random.default_rng(7)
    return rng.integers(0, 4000, SHAPE, dtype=np.uint16)


def test_layer_batch_returns_one_aligned_styled_layer(stack, engine):
    """A 4D layer batch gives one layer over the original, styled alike."""
    layer = Image(
        stack,
        name='cells',
        scale=(1.0, 2.0, 0.5, 0.5),
        translate=(0.0, 0.0, 3.0, -2.0),
        contrast_limits=(0, 4000),
        colormap='magma',
        opacity=0.7,
    )
    events = []
    new = outpaint_layer(
        layer,
        EXPAND,
        planes='all',
        engine=engine,
        confirm=True,
        progress=events.append,
    )
    pad = EXPAND.padding(*SHAPE[2:])
    assert new.name == 'cells [outpainted]'
    assert new.data.shape[:2] == SHAPE[:2]
    assert new.colormap.name == 'magma'
    assert new.opacity == pytest.approx(0.7)
    assert tuple(new.contrast_limits) == (0, 4000)
    # The original's first pixel centre maps to the same world point.
    world = layer.data_to_world((1, 2, 0, 0))
    assert new.world_to_data(world) == pytest.approx((1, 2, pad.top, pad.left))
    assert new.metadata['outpaint']['batch']['estimate'].startswith('6 ')
    assert events[-1].fraction == pytest.approx(1.0)


def test_layer_batch_with_nothing_finished_raises_the_cause(
    stack, engine, runflow_standin
):
    """When no plane finishes, the reason is raised, not an empty layer."""
    runflow_standin.reject_creates(status=402, times=10)
    with pytest.raises(InsufficientCreditError, match='Top up'):
        outpaint_layer(
            Image(stack),
            EXPAND,
            planes='all',
            engine=engine,
            confirm=True,
            concurrency=1,
        )
