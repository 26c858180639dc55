"""The pipeline end to end through real engines (stand-in over TLS)."""

import json

import numpy as np
import pytest
from napari.layers import Image
from scipy import ndimage

from napari_outpaint._expand import Expand
from napari_outpaint._pipeline import outpaint_layer

EXPAND = Expand(top=10, bottom=20, left=30, right=5)


def stack(shape=(3, 40, 56)):
    """A smooth textured uint16 stack."""
    noise = np.random.default_rng(0).random(shape)
    smooth = ndimage.gaussian_filter(noise, (0, 2, 2))
    unit = (smooth - smooth.min()) / np.ptp(smooth)
    return (200 + unit * 50000).astype(np.uint16)


def assert_values_identical_in_world(original, new, plane, count=200):
    """Original pixel centres hold the same values in the new layer."""
    rng = np.random.default_rng(4)
    rows, cols = original.data.shape[-2:]
    for r, c in zip(
        rng.integers(0, rows, count), rng.integers(0, cols, count), strict=True
    ):
        at = new.world_to_data(original.data_to_world((*plane, r, c)))
        rounded = np.round(at).astype(int)
        np.testing.assert_allclose(at, rounded, atol=1e-6)
        assert new.data[tuple(rounded)] == original.data[(*plane, r, c)]


def test_runflow_stand_in_upscaled_result_is_placed_exactly():
    """Through RunflowEngine and an upscaling stand-in: exact placement."""
    from napari_outpaint.engines.runflow import RunflowEngine
    from napari_outpaint.testing import RunflowStandIn

    data = stack()
    layer = Image(
        data, scale=(4.0, 0.5, 0.8), translate=(1.0, -3.0, 2.0), name='z'
    )
    with RunflowStandIn(
        api_key='test-key',
        processing_delay=0.05,
        queue_delay=0.0,
        upscale_long_side=256,
    ) as server:
        engine = RunflowEngine(
            base_url=server.base_url, api_key='test-key', verify=server.ca_path
        )
        try:
            new = outpaint_layer(layer, EXPAND, engine=engine, plane=(1,))
        finally:
            close = getattr(engine, 'close', None)
            if callable(close):
                close()
        runs = list(server.runs)
    assert len(runs) == 1
    prov = new.metadata['outpaint']
    assert prov['engine'] == 'runflow'
    assert prov['run_id'] == runs[0].id
    assert prov['cost_usd'] == pytest.approx(0.55)
    assert max(prov['engine_output_shape']) == 256
    assert new.data.shape[1:] == EXPAND.canvas_shape(40, 56)
    assert prov['alignment']['residual_px'] < 1
    assert prov['warnings'] == []
    json.dumps(prov, allow_nan=False)
    assert_values_identical_in_world(layer, new, plane=(1,))


def test_runflow_stand_in_native_resolution_keeps_the_upscale():
    """keep_native_resolution keeps the stand-in's 256 px long side."""
    from napari_outpaint.engines.runflow import RunflowEngine
    from napari_outpaint.testing import RunflowStandIn

    layer = Image(stack()[0], scale=(0.5, 0.8))
    with RunflowStandIn(
        api_key='test-key', processing_delay=0.05, upscale_long_side=256
    ) as server:
        engine = RunflowEngine(
            base_url=server.base_url, api_key='test-key', verify=server.ca_path
        )
        try:
            new = outpaint_layer(
                layer, EXPAND, engine=engine, keep_native_resolution=True
            )
        finally:
            close = getattr(engine, 'close', None)
            if callable(close):
                close()
    assert max(new.data.shape) == 256
    canvas = EXPAND.canvas_shape(40, 56)
    np.testing.assert_allclose(
        new.scale, np.array(layer.scale) * np.array(canvas) / new.data.shape
    )
    # the original's corners land inside the original area of the result
    mask = new.metadata['outpaint_mask']
    for corner in [(0, 0), (39, 55)]:
        at = np.round(new.world_to_data(layer.data_to_world(corner)))
        assert not mask[tuple(at.astype(int))]


@pytest.mark.parametrize('method', ['patchmatch', 'reflect'])
def test_local_engine_result_is_placed_exactly_with_its_seed(method):
    """The offline engine: exact placement, seed and model in provenance."""
    from napari_outpaint.engines.local import LocalEngine

    data = stack(shape=(2, 48, 64))
    layer = Image(data, scale=(2.0, 0.5, 0.5), translate=(0.0, 1.0, 1.0))
    engine = LocalEngine(method=method, seed=11)
    try:
        new = outpaint_layer(layer, EXPAND, engine=engine, plane=(0,))
    finally:
        close = getattr(engine, 'close', None)
        if callable(close):
            close()
    prov = new.metadata['outpaint']
    assert prov['engine'] == 'local'
    assert prov['model'] == engine.model
    # reflection has no randomness, so it reports no seed
    assert prov['seed'] == (11 if engine.model == 'patchmatch' else None)
    assert prov['cost_usd'] == 0
    assert prov['alignment']['residual_px'] < 1
    assert isinstance(prov['seam_score'], float)
    assert_values_identical_in_world(layer, new, plane=(0,))
