"""The pipeline end to end through real engines (stand-in over TLS)."""

import io
import json

import numpy as np
import pytest
from napari.layers import Image
from PIL import Image as PILImage
from scipy import ndimage

from napari_outpaint._expand import Expand
from napari_outpaint._layers.outpaint import outpaint_layer

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


# --- every layer kind, over the stand-in, with and without upscaling ---

ROWS, COLS = 40, 56
AFFINE = np.array([[1.2, 0.1, 5.0], [-0.2, 0.8, 1.0], [0.0, 0.0, 1.0]])


def texture(shape, seed=0):
    """Smooth random values in [0, 1] over the last two axes."""
    noise = np.random.default_rng(seed).random(shape)
    sigmas = (0,) * (len(shape) - 2) + (2.0, 2.0)
    smooth = ndimage.gaussian_filter(noise, sigmas)
    return (smooth - smooth.min()) / np.ptp(smooth)


def grey(dtype, shape=(ROWS, COLS)):
    """Textured grayscale spanning much of *dtype* (floats: NaN and inf)."""
    unit = texture(shape)
    dtype = np.dtype(dtype)
    if dtype.kind == 'f':
        values = (unit * 4 - 1).astype(dtype)
        values[..., 3, 5] = np.nan
        values[..., 17, 9] = np.inf
        values[..., 30, 41] = -np.inf
        return values
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -30000), min(info.max, 60000)
    return (lo + unit * (hi - lo)).astype(dtype)


def colour(channels):
    """A textured uint8 RGB or RGBA image (alpha: a ramp, never all 0)."""
    data = (texture((ROWS, COLS, channels)) * 255).astype(np.uint8)
    if channels == 4:
        data[..., 3] = np.linspace(40, 255, COLS).astype(np.uint8)
    return data


NON_SQUARE = {'scale': (0.5, 0.8), 'translate': (3.0, -2.0)}

# name -> (make the layer, plane, the plain Image whose data and
# transform hold the original pixels: level 0 for a multiscale layer)
LAYER_KINDS = {
    'uint8': lambda: Image(grey(np.uint8), **NON_SQUARE),
    'uint16': lambda: Image(grey(np.uint16), **NON_SQUARE),
    'int16': lambda: Image(grey(np.int16), **NON_SQUARE),
    'float32-nan-inf': lambda: Image(grey(np.float32), **NON_SQUARE),
    'rgb': lambda: Image(colour(3), rgb=True, **NON_SQUARE),
    'rgba': lambda: Image(colour(4), rgb=True, **NON_SQUARE),
    '3d-plane': lambda: Image(
        grey(np.uint16, (3, ROWS, COLS)),
        scale=(4.0, 0.5, 0.8),
        translate=(1.0, 3.0, -2.0),
    ),
    '4d-plane': lambda: Image(
        grey(np.uint16, (2, 3, ROWS, COLS)),
        scale=(10.0, 2.0, 0.5, 0.7),
        translate=(100.0, -5.0, 1.0, 2.0),
    ),
    'multiscale': lambda: Image(
        [grey(np.uint16), grey(np.uint16)[::2, ::2]],
        multiscale=True,
        **NON_SQUARE,
    ),
    'affine-rotate-shear': lambda: Image(
        grey(np.float32),
        scale=(0.6, 1.1),
        translate=(2.0, 3.0),
        rotate=30.0,
        shear=[0.25],
        affine=AFFINE,
    ),
}
PLANES = {'3d-plane': (2,), '4d-plane': (1, 2)}


@pytest.fixture(scope='module', params=[None, 300], ids=['canvas', 'x300'])
def standin(request):
    """A stand-in per output size: the canvas itself, or upscaled."""
    from napari_outpaint.testing import RunflowStandIn

    with RunflowStandIn(
        api_key='test-key',
        processing_delay=0.02,
        queue_delay=0.0,
        upscale_long_side=request.param,
    ) as server:
        yield server


def level0_layer(layer):
    """A plain Image of *layer*'s full-resolution pixels, same transform."""
    if not layer.multiscale:
        return layer
    return Image(
        layer.data[0],
        scale=layer.scale,
        translate=layer.translate,
        rotate=layer.rotate,
        shear=layer.shear,
        affine=layer.affine,
    )


def original_spots(original, new, plane, count=300):
    """Many original pixel indices and where their centres land in *new*.

    Asserts each lands on a pixel centre of *new*, at index 0 on the
    plane's (length-1) leading axes.
    """
    rng = np.random.default_rng(5)
    pix = np.stack(
        [rng.integers(0, ROWS, count), rng.integers(0, COLS, count)], axis=1
    )
    pix[:4] = [(0, 0), (0, COLS - 1), (ROWS - 1, 0), (ROWS - 1, COLS - 1)]
    indices, found = [], []
    for r, c in pix:
        index = (*plane, int(r), int(c))
        indices.append(index)
        found.append(new.world_to_data(original.data_to_world(index)))
    found = np.array(found)
    rounded = np.round(found).astype(int)
    np.testing.assert_allclose(found, rounded, atol=1e-6)
    assert np.all(rounded[:, : len(plane)] == 0)
    return indices, [tuple(at) for at in rounded]


def snapshot(layer):
    """Everything about *layer* the pipeline must leave alone."""
    levels = layer.data if layer.multiscale else [layer.data]
    return {
        'data': [np.array(level, copy=True) for level in levels],
        'scale': np.array(layer.scale),
        'translate': np.array(layer.translate),
        'affine': np.array(layer.affine.affine_matrix),
        'contrast_limits': tuple(layer.contrast_limits),
        'metadata': dict(layer.metadata),
        'name': layer.name,
    }


def assert_unchanged(layer, before):
    """*layer* is exactly as *snapshot* recorded it (NaN == NaN)."""
    after = snapshot(layer)
    for was, now in zip(before['data'], after['data'], strict=True):
        np.testing.assert_array_equal(now, was)
    for key in ('scale', 'translate', 'affine'):
        np.testing.assert_array_equal(after[key], before[key])
    for key in ('contrast_limits', 'metadata', 'name'):
        assert after[key] == before[key]


def seen_by_engine(original, index, new):
    """The original value at *index* as the 8-bit engine saw it, back in
    the original's units (contrast-clipped grey, premultiplied RGB)."""
    value = np.asarray(original.data[index], dtype=np.float64)
    if original.rgb:
        if value.shape[-1] == 4:
            return value[:3] * value[3] / 255.0
        return value
    lo, hi = new.contrast_limits
    return np.clip(value, lo, hi)


def reflection_error(original, new, plane):
    """Mean |error| of the generated band above the original, against the
    stand-in's mirror fill (row -k-1 mirrors row k), in 8-bit steps."""
    pad = EXPAND.padding(ROWS, COLS)
    errors = []
    for k in range(pad.top):
        for c in range(0, COLS, 3):
            index = (*plane, k, c)
            want = seen_by_engine(original, index, new)
            if not np.all(np.isfinite(want)):
                continue
            world = original.data_to_world((*plane, -k - 1, c))
            at = tuple(np.round(new.world_to_data(world)).astype(int))
            assert new.metadata['outpaint_mask'][at]
            got = np.asarray(new.data[at], dtype=np.float64)
            if original.rgb:
                got = got[:3]
            errors.append(np.abs(got - want).mean())
    step = 1.0 if original.rgb else np.ptp(new.contrast_limits) / 255
    return np.mean(errors) / step


@pytest.mark.parametrize('kind', list(LAYER_KINDS))
def test_every_layer_kind_through_the_stand_in_is_placed_exactly(
    kind, standin
):
    """Each layer kind, through RunflowEngine over real TLS: the original
    pixel centres hold identical values at the same world spots, the mask
    marks exactly the generated pixels, the generated border is the
    stand-in's mirror fill in place, and the original is untouched."""
    from napari_outpaint.engines.runflow import RunflowEngine

    layer = LAYER_KINDS[kind]()
    plane = PLANES.get(kind, ())
    original = level0_layer(layer)
    before = snapshot(layer)
    runs_before = len(standin.runs)
    engine = RunflowEngine(
        api_key='test-key', base_url=standin.base_url, verify=standin.ca_path
    )
    new = outpaint_layer(
        layer, EXPAND, engine=engine, plane=plane if plane else None
    )

    # one run on the stand-in, which fetched the plane at its own size
    runs = standin.runs[runs_before:]
    assert len(runs) == 1
    with PILImage.open(io.BytesIO(runs[0].fetched_image)) as sent:
        assert sent.size == (COLS, ROWS)
    prov = new.metadata['outpaint']
    assert prov['run_id'] == runs[0].id
    canvas = EXPAND.canvas_shape(ROWS, COLS)
    if standin.upscale_long_side is None:
        assert tuple(prov['engine_output_shape'][:2]) == canvas
    else:
        assert max(prov['engine_output_shape'][:2]) == 300
    assert prov['alignment']['residual_px'] < 1
    assert prov['warnings'] == []
    json.dumps(prov, allow_nan=False)

    # the result: the original's dtype and grid, same transform otherwise
    assert new.data.dtype == original.data.dtype
    assert new.rgb == original.rgb
    assert not new.multiscale
    spatial = new.data.shape[len(plane) : len(plane) + 2]
    assert new.data.shape[: len(plane)] == (1,) * len(plane)
    assert spatial == canvas
    np.testing.assert_allclose(new.scale, layer.scale)
    np.testing.assert_allclose(new.rotate, layer.rotate)
    np.testing.assert_allclose(new.shear, layer.shear)
    np.testing.assert_allclose(
        new.affine.affine_matrix, layer.affine.affine_matrix
    )

    # values identical at the same world spots (preserve mode)
    indices, spots = original_spots(original, new, plane)
    for index, at in zip(indices, spots, strict=True):
        np.testing.assert_array_equal(new.data[at], original.data[index])

    # the mask: False exactly over the original's footprint
    mask = new.metadata['outpaint_mask']
    assert mask.shape == new.data.shape[: new.ndim]
    (r0, c0), (r1, c1) = (
        spots[0][len(plane) :],
        spots[3][len(plane) :],
    )
    assert (r1 - r0 + 1, c1 - c0 + 1) == (ROWS, COLS)
    expected = np.ones(mask.shape, bool)
    expected[..., r0 : r1 + 1, c0 : c1 + 1] = False
    np.testing.assert_array_equal(mask, expected)
    generated = np.asarray(new.data)[mask].astype(np.float64)
    assert np.all(np.isfinite(generated))

    # the generated border is where the service put it: the mirror fill
    tolerance = 1.0 if standin.upscale_long_side is None else 4.0
    assert reflection_error(original, new, plane) < tolerance

    assert_unchanged(layer, before)
