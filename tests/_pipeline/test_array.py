"""outpaint_array / outpaint_layer with a fake engine: every layer kind."""

import copy
import json
import warnings

import numpy as np
import pytest
from napari.components import ViewerModel
from napari.layers import Image, Labels, Points, Shapes
from scipy import ndimage

from fakes import FakeEngine
from napari_outpaint._errors import (
    InvalidInputError,
    OutpaintCancelled,
    ResultError,
)
from napari_outpaint._expand import Expand
from napari_outpaint._imaging.quality import SEAM_WARN_THRESHOLD
from napari_outpaint._layers.convert import mask_layer
from napari_outpaint._layers.outpaint import outpaint_layer
from napari_outpaint._pipeline.array import OutpaintResult, outpaint_array
from napari_outpaint._progress import CancelToken, Stage
from napari_outpaint.engines import EngineResult

EXPAND = Expand(top=10, bottom=20, left=30, right=5)
PROVENANCE_KEYS = {
    'source',
    'plane',
    'expand',
    'padding_px',
    'engine',
    'model',
    'run_id',
    'seed',
    'cost_usd',
    'timings',
    'created_at',
    'generated_region',
    'seam_score',
    'alignment',
    'warnings',
    'plugin_version',
    'mode',
    'engine_output_shape',
}


def texture(shape, seed=0, sigma=2.0):
    """Smooth random values in [0, 1] over the last two axes."""
    noise = np.random.default_rng(seed).random(shape)
    sigmas = (0,) * (len(shape) - 2) + (sigma, sigma)
    smooth = ndimage.gaussian_filter(noise, sigmas)
    return (smooth - smooth.min()) / (smooth.max() - smooth.min())


def grey(dtype, shape=(48, 64), seed=0):
    """A textured grayscale image spanning a good part of *dtype*."""
    unit = texture(shape, seed)
    dtype = np.dtype(dtype)
    if dtype.kind == 'f':
        values = (unit * 4 - 1).astype(dtype)
        values[..., 3, 5] = np.nan
        values[..., 7, 9] = np.inf
        values[..., 10, 11] = -np.inf
        return values
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -30000), min(info.max, 3_000_000_000)
    return (lo + unit * (hi - lo)).astype(dtype)


def sample_through_world(original, new, plane=(), count=300, seed=3):
    """Original pixel centres -> world -> new layer's data indices.

    Returns (original indices, new fractional indices), spatial + plane.
    """
    rng = np.random.default_rng(seed)
    rows, cols = original.data.shape[len(plane) : len(plane) + 2]
    pix = np.stack(
        [rng.integers(0, rows, count), rng.integers(0, cols, count)], axis=1
    )
    found = []
    for r, c in pix:
        world = original.data_to_world((*plane, r, c))
        found.append(new.world_to_data(world))
    return [(*plane, r, c) for r, c in pix], np.array(found)


def assert_values_identical_in_world(original, new, plane=()):
    """Every sampled original pixel has the same value at its world spot."""
    lead = len(plane)
    indices, found = sample_through_world(original, new, plane)
    rounded = np.round(found).astype(int)
    np.testing.assert_allclose(found, rounded, atol=1e-6)
    assert np.all(rounded[:, :lead] == 0)
    for index, at in zip(indices, rounded, strict=True):
        np.testing.assert_array_equal(
            new.data[tuple(at)], original.data[index]
        )


def test_uint16_layer_is_a_strict_superset_at_the_right_place():
    """Scaled, translated, non-square pixels: original values bit-exact."""
    data = grey(np.uint16)
    layer = Image(data, scale=(0.5, 0.8), translate=(3.0, -2.0), name='cells')
    new = outpaint_layer(layer, EXPAND, engine=FakeEngine())
    pad = EXPAND.padding(48, 64)
    assert new.name == 'cells [outpainted]'
    assert new.data.dtype == np.uint16
    assert new.data.shape == pad.canvas_shape(48, 64)
    assert_values_identical_in_world(layer, new)
    inner = (slice(pad.top, pad.top + 48), slice(pad.left, pad.left + 64))
    np.testing.assert_array_equal(new.data[inner], data)


@pytest.mark.parametrize(
    'dtype',
    [np.uint8, np.uint16, np.uint32, np.int16, np.float32, np.float64],
)
def test_every_grayscale_dtype_round_trips(dtype):
    """Each dtype keeps its type; originals (NaN/inf too) stay bit-exact."""
    data = grey(dtype)
    layer = Image(data, scale=(1.5, 1.5), translate=(-4.0, 7.0))
    new = outpaint_layer(layer, EXPAND, engine=FakeEngine())
    assert new.data.dtype == np.dtype(dtype)
    assert_values_identical_in_world(layer, new)
    mask = new.metadata['outpaint_mask']
    generated = new.data[mask].astype(np.float64)
    assert np.all(np.isfinite(generated))
    lo, hi = layer.contrast_limits
    step = (hi - lo) / 255
    assert generated.min() >= lo - step
    assert generated.max() <= hi + step
    pad = EXPAND.padding(48, 64)
    inner = (slice(pad.top, pad.top + 48), slice(pad.left, pad.left + 64))
    if np.dtype(dtype).kind == 'f':
        np.testing.assert_array_equal(new.data[inner], data)  # NaN == NaN


def test_generated_grey_follows_the_reflection_in_value_range():
    """The fake's reflected pixels come back near their source values."""
    data = grey(np.uint16)
    layer = Image(data)
    new = outpaint_layer(layer, EXPAND, engine=FakeEngine())
    pad = EXPAND.padding(48, 64)
    # the row just above the original reflects the original's first row
    above = new.data[pad.top - 1, pad.left : pad.left + 64].astype(float)
    step = np.ptp(layer.contrast_limits) / 255
    np.testing.assert_allclose(above, data[0].astype(float), atol=step)


def test_rgb_layer_keeps_colours_and_original_pixels():
    """RGB uint8: original pixels bit-exact, colour axis kept."""
    data = (texture((40, 50, 3)) * 255).astype(np.uint8)
    layer = Image(data, rgb=True, scale=(2.0, 1.0), translate=(1.0, 1.0))
    new = outpaint_layer(layer, EXPAND, engine=FakeEngine())
    assert new.rgb
    assert new.data.shape[-1] == 3
    assert_values_identical_in_world(layer, new)


def test_rgba_layer_keeps_original_alpha_and_makes_generated_opaque():
    """RGBA: the original alpha is kept; generated pixels are opaque."""
    data = (texture((40, 50, 4)) * 255).astype(np.uint8)
    data[..., 3] = np.linspace(0, 255, 50).astype(np.uint8)
    layer = Image(data, rgb=True)
    engine = FakeEngine()
    new = outpaint_layer(layer, EXPAND, engine=engine)
    assert new.data.shape[-1] == 4
    assert_values_identical_in_world(layer, new)
    mask = new.metadata['outpaint_mask']
    np.testing.assert_array_equal(new.data[mask][:, 3], 255)
    sent = engine.calls[0][0]
    expected = np.rint(data[..., :3] * (data[..., 3:4] / 255.0))
    np.testing.assert_allclose(sent, expected, atol=1)


def test_plane_of_a_4d_stack_sits_at_that_plane():
    """A (t, z, y, x) plane: length-1 leading axes at (t, z) in world."""
    data = grey(np.uint16, shape=(3, 4, 40, 50))
    layer = Image(
        data,
        scale=(10.0, 2.0, 0.5, 0.7),
        translate=(100.0, -5.0, 1.0, 2.0),
        axis_labels=('t', 'z', 'y', 'x'),
        units=('s', 'um', 'um', 'um'),
    )
    new = outpaint_layer(layer, EXPAND, engine=FakeEngine(), plane=(2, 1))
    assert new.data.shape[:2] == (1, 1)
    assert new.axis_labels == ('t', 'z', 'y', 'x')
    assert tuple(str(u) for u in new.units) == tuple(
        str(u) for u in layer.units
    )
    assert new.metadata['outpaint']['plane'] == [2, 1]
    assert_values_identical_in_world(layer, new, plane=(2, 1))


def test_time_series_with_a_channel_axis_uses_the_named_plane():
    """(t, c, y, x): the chosen channel's plane is the one outpainted."""
    data = grey(np.float32, shape=(2, 3, 32, 40))
    layer = Image(data, axis_labels=('t', 'c', 'y', 'x'))
    engine = FakeEngine()
    new = outpaint_layer(layer, EXPAND, engine=engine, plane=(1, 2))
    assert_values_identical_in_world(layer, new, plane=(1, 2))
    pad = EXPAND.padding(32, 40)
    inner = (0, 0, slice(pad.top, pad.top + 32), slice(pad.left, None))
    np.testing.assert_array_equal(new.data[inner][:, :40], data[1, 2])


def test_3d_stack_plane_and_negative_index():
    """plane=(-1,) is the last plane of a 3D stack."""
    data = grey(np.uint8, shape=(5, 32, 40))
    layer = Image(data, scale=(3.0, 1.0, 1.0))
    new = outpaint_layer(layer, EXPAND, engine=FakeEngine(), plane=(-1,))
    assert new.metadata['outpaint']['plane'] == [4]
    assert_values_identical_in_world(layer, new, plane=(4,))


def test_multiscale_layer_uses_its_highest_resolution():
    """A pyramid is outpainted from level 0, at level 0's pixel size."""
    level0 = grey(np.uint16, shape=(64, 80))
    layer = Image(
        [level0, level0[::2, ::2]], multiscale=True, scale=(0.5, 0.5)
    )
    new = outpaint_layer(layer, EXPAND, engine=FakeEngine())
    assert not new.multiscale
    assert new.data.shape == EXPAND.canvas_shape(64, 80)
    original = Image(level0, scale=(0.5, 0.5))
    assert_values_identical_in_world(original, new)
    assert new.metadata['outpaint']['source']['multiscale'] is True


def test_dask_layer_is_read_one_plane_at_a_time():
    """A lazy dask stack works; the result is an ordinary array."""
    import dask.array as da  # a napari dependency

    data = grey(np.uint16, shape=(4, 32, 40))
    layer = Image(da.from_array(data, chunks=(1, 32, 40)))
    new = outpaint_layer(layer, EXPAND, engine=FakeEngine(), plane=(3,))
    assert isinstance(new.data, np.ndarray)
    assert_values_identical_in_world(Image(data), new, plane=(3,))


@pytest.mark.parametrize('long_side', [None, 97, 300])
def test_upscaling_or_not_the_preserved_result_is_on_the_original_grid(
    long_side,
):
    """Whatever the engine's resolution, preserve mode keeps the grid."""
    data = grey(np.uint16)
    layer = Image(data, scale=(0.5, 0.8), translate=(3.0, -2.0))
    engine = FakeEngine(upscale_long_side=long_side)
    new = outpaint_layer(layer, EXPAND, engine=engine)
    np.testing.assert_allclose(new.scale, layer.scale)
    assert_values_identical_in_world(layer, new)
    assert new.metadata['outpaint']['warnings'] == []


def test_affine_rotate_shear_layer_is_placed_exactly():
    """rotate, shear and affine are kept and values match through world."""
    data = grey(np.float64)
    affine = np.array([[1.2, 0.1, 5.0], [-0.2, 0.8, 1.0], [0.0, 0.0, 1.0]])
    layer = Image(
        data,
        scale=(0.6, 1.1),
        translate=(2.0, 3.0),
        rotate=30.0,
        shear=[0.25],
        affine=affine,
    )
    new = outpaint_layer(layer, EXPAND, engine=FakeEngine())
    np.testing.assert_allclose(new.rotate, layer.rotate)
    np.testing.assert_allclose(new.shear, layer.shear)
    np.testing.assert_allclose(new.affine.affine_matrix, affine)
    assert_values_identical_in_world(layer, new)


def mean_error(original, new, offset=(0.0, 0.0)):
    """Mean |difference| sampling *new* at the world spots of *original*."""
    indices, found = sample_through_world(original, new, count=400)
    found = found + np.array(offset) / np.array(new.scale) * np.array(
        original.scale
    )
    at = np.clip(np.round(found).astype(int), 0, np.array(new.data.shape) - 1)
    got = new.data[at[:, 0], at[:, 1]].astype(float)
    want = np.array([original.data[i] for i in indices], dtype=float)
    return np.abs(got - want).mean()


@pytest.mark.parametrize('long_side', [180, 400])
def test_native_resolution_is_placed_within_a_fraction_of_a_pixel(long_side):
    """Native mode: values at the same world spot are close, and far
    closer than with a one-pixel placement error."""
    data = (texture((60, 80), sigma=3.0) * 60000).astype(np.uint16)
    layer = Image(data, scale=(0.5, 0.8), translate=(3.0, -2.0))
    engine = FakeEngine(upscale_long_side=long_side)
    new = outpaint_layer(
        layer, EXPAND, engine=engine, keep_native_resolution=True
    )
    canvas = EXPAND.canvas_shape(60, 80)
    assert new.data.shape[0] != canvas[0]
    assert max(new.data.shape) == long_side
    assert new.metadata['outpaint']['mode'] == 'native_resolution'
    good = mean_error(layer, new)
    off_by_one = mean_error(layer, new, offset=(1.0, 1.0))
    assert good < 0.35 * off_by_one
    assert good < 0.03 * 60000


def test_native_mask_marks_pixels_outside_the_original():
    """In native mode the mask is False exactly over the original's area."""
    data = grey(np.uint8)
    layer = Image(data)
    new = outpaint_layer(
        layer,
        EXPAND,
        engine=FakeEngine(upscale_long_side=220),
        keep_native_resolution=True,
    )
    mask = new.metadata['outpaint_mask']
    for r, c in [(0, 0), (47, 63), (20, 30)]:
        at = np.round(new.world_to_data(layer.data_to_world((r, c))))
        assert not mask[tuple(at.astype(int))]
    corner = np.round(new.world_to_data(layer.data_to_world((-3, -3))))
    assert mask[tuple(corner.astype(int))]


def test_mask_marks_exactly_the_generated_pixels():
    """Preserve mode: mask is True outside the original, False inside."""
    data = grey(np.uint16, shape=(2, 30, 40))
    result = outpaint_array(
        data, EXPAND, engine=FakeEngine(), plane=(1,), scale=(1, 2, 2)
    )
    pad = EXPAND.padding(30, 40)
    expected = np.ones((1, *pad.canvas_shape(30, 40)), bool)
    expected[0, pad.top : pad.top + 30, pad.left : pad.left + 40] = False
    np.testing.assert_array_equal(result.mask, expected)
    assert result.data.shape == expected.shape


def test_mask_layer_is_aligned_with_the_result():
    """The Labels mask has the result's transform and marks label 1."""
    layer = Image(grey(np.uint16), scale=(0.5, 0.8), rotate=10.0)
    new = outpaint_layer(layer, EXPAND, engine=FakeEngine())
    labels = mask_layer(new)
    assert isinstance(labels, Labels)
    np.testing.assert_allclose(labels.scale, new.scale)
    np.testing.assert_allclose(labels.translate, new.translate)
    np.testing.assert_allclose(labels.rotate, new.rotate)
    np.testing.assert_array_equal(
        labels.data.astype(bool), new.metadata['outpaint_mask']
    )
    with pytest.raises(InvalidInputError) as info:
        mask_layer(layer)
    assert info.value.field == 'image_layer'


def test_original_layer_is_never_modified():
    """Data, scale, translate, contrast and metadata are identical after."""
    data = grey(np.float32, shape=(3, 40, 50))
    layer = Image(
        data.copy(),
        scale=(2.0, 0.5, 0.5),
        translate=(1.0, 2.0, 3.0),
        metadata={'note': 'mine'},
        name='orig',
    )
    before = {
        'scale': layer.scale.copy(),
        'translate': layer.translate.copy(),
        'metadata': copy.deepcopy(layer.metadata),
        'contrast_limits': tuple(layer.contrast_limits),
        'name': layer.name,
    }
    outpaint_layer(layer, EXPAND, engine=FakeEngine(), plane=(0,))
    np.testing.assert_array_equal(layer.data, data)
    np.testing.assert_array_equal(layer.scale, before['scale'])
    np.testing.assert_array_equal(layer.translate, before['translate'])
    assert layer.metadata == before['metadata']
    assert tuple(layer.contrast_limits) == before['contrast_limits']
    assert layer.name == before['name']


def test_result_keeps_the_look_of_the_original():
    """Colormap, contrast limits, gamma, blending and opacity are copied."""
    layer = Image(
        grey(np.uint16),
        colormap='magma',
        contrast_limits=(1000, 40000),
        gamma=0.7,
        blending='additive',
        opacity=0.6,
    )
    new = outpaint_layer(layer, EXPAND, engine=FakeEngine())
    assert new.colormap.name == 'magma'
    assert tuple(new.contrast_limits) == (1000, 40000)
    assert new.gamma == pytest.approx(0.7)
    assert new.blending == 'additive'
    assert new.opacity == pytest.approx(0.6)


def test_provenance_is_complete_and_json_serialisable():
    """metadata['outpaint'] has every field and survives strict JSON."""
    layer = Image(grey(np.float64), name='cells', scale=(0.5, 0.5))
    new = outpaint_layer(
        layer, EXPAND, engine=FakeEngine(seed=42, upscale_long_side=150)
    )
    prov = new.metadata['outpaint']
    assert set(prov) >= PROVENANCE_KEYS
    text = json.dumps(prov, allow_nan=False)
    assert json.loads(text) == prov
    assert prov['source']['layer'] == 'cells'
    assert prov['seed'] == 42
    assert prov['run_id'] == 'fake-1'
    assert prov['engine'] == 'fake'
    assert max(prov['engine_output_shape']) == 150
    assert prov['expand'] == EXPAND.as_dict()
    assert prov['created_at'].endswith('+00:00')
    region = prov['generated_region']
    pad = EXPAND.padding(48, 64)
    assert region['canvas_px']['original_rows'] == [pad.top, pad.top + 48]
    assert region['world']['original']['min'] == pytest.approx([-0.25] * 2)
    assert isinstance(prov['seam_score'], float)
    assert prov['alignment']['residual_px'] < 1
    assert prov['timings']['total'] >= prov['timings']['engine']


def test_alignment_warning_fires_for_a_shifted_result():
    """An engine that moves the content by 3 px triggers the warning."""
    layer = Image(grey(np.uint16))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        new = outpaint_layer(layer, EXPAND, engine=FakeEngine(shift=(3, 0)))
    misaligned = [w for w in caught if 'misaligned' in str(w.message)]
    assert misaligned
    assert misaligned[0].filename == __file__  # points at the caller
    prov = new.metadata['outpaint']
    assert prov['alignment']['residual_px'] == pytest.approx(3, abs=0.2)
    assert any('misaligned' in w for w in prov['warnings'])


def test_no_warning_for_a_correctly_placed_upscaled_result():
    """A correct engine (even upscaling) raises no warning at all."""
    layer = Image(grey(np.uint16))
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)
        new = outpaint_layer(
            layer, EXPAND, engine=FakeEngine(upscale_long_side=256)
        )
    assert new.metadata['outpaint']['warnings'] == []


class WhiteFill(FakeEngine):
    """Fills the new border with white: a glaring seam."""

    def outpaint(self, image, expand, *, progress=None, cancel=None):
        result = super().outpaint(image, expand)
        canvas = np.full_like(result.image, 255)
        pad = expand.padding(*image.shape[:2])
        rows, cols = image.shape[:2]
        canvas[pad.top : pad.top + rows, pad.left : pad.left + cols] = image
        return EngineResult(image=canvas, engine='fake', model='white')


def test_seam_warning_fires_for_a_poor_fill():
    """A white border around a dark texture scores above the threshold."""
    data = (grey(np.uint8) // 2).astype(np.uint8)
    with pytest.warns(UserWarning, match='seam'):
        result = outpaint_array(data, EXPAND, engine=WhiteFill())
    assert result.provenance['seam_score'] > SEAM_WARN_THRESHOLD


@pytest.mark.parametrize('make', [Labels, Points, Shapes])
def test_non_image_layers_are_refused(make):
    """Labels, Points and Shapes raise InvalidInputError naming layer."""
    layer = {
        Labels: lambda: Labels(np.zeros((10, 10), int)),
        Points: lambda: Points(np.zeros((3, 2))),
        Shapes: lambda: Shapes(
            [np.array([[0, 0], [5, 5], [0, 5]])], shape_type='polygon'
        ),
    }[make]()
    engine = FakeEngine()
    with pytest.raises(InvalidInputError) as info:
        outpaint_layer(layer, EXPAND, engine=engine)
    assert info.value.field == 'layer'
    assert 'Image' in str(info.value)
    assert engine.calls == []


def test_nd_layer_outside_a_viewer_needs_a_plane():
    """Without a viewer, an nD layer without plane= names plane."""
    engine = FakeEngine()
    layer = Image(grey(np.uint8, shape=(3, 20, 20)))
    with pytest.raises(InvalidInputError) as info:
        outpaint_layer(layer, EXPAND, engine=engine)
    assert info.value.field == 'plane'
    assert 'plane=(0,)' in str(info.value)
    assert engine.calls == []


def test_nd_layer_in_a_viewer_uses_the_plane_shown():
    """plane=None takes the plane the viewer's dims show."""
    data = grey(np.uint16, shape=(4, 3, 24, 30))
    layer = Image(data, scale=(5.0, 1.0, 1.0, 1.0))
    viewer = ViewerModel()
    viewer.add_layer(layer)
    viewer.dims.set_current_step(0, 2)
    viewer.dims.set_current_step(1, 1)
    new = outpaint_layer(layer, EXPAND, engine=FakeEngine())
    assert new.metadata['outpaint']['plane'] == [2, 1]
    assert_values_identical_in_world(layer, new, plane=(2, 1))
    viewer.dims.ndisplay = 3
    with pytest.raises(InvalidInputError) as info:
        outpaint_layer(layer, EXPAND, engine=FakeEngine())
    assert info.value.field == 'plane'


@pytest.mark.parametrize(
    ('kwargs', 'field'),
    [
        ({'plane': (5,)}, 'plane'),
        ({'plane': (0, 0)}, 'plane'),
        ({'plane': (1.5,)}, 'plane'),
        ({'scale': (1, 1)}, 'scale'),
        ({'translate': (0, 0, np.nan)}, 'translate'),
        ({'affine': np.eye(3)}, 'affine'),
        ({'contrast_limits': (5, 5)}, 'contrast_limits'),
        ({'gamma': -1}, 'gamma'),
        ({'rgb': True}, 'rgb'),
        ({'engine': 'no-such-engine'}, 'engine'),
    ],
)
def test_bad_arguments_fail_before_the_engine_runs(kwargs, field):
    """Each bad argument raises InvalidInputError naming it; no call made."""
    engine = FakeEngine()
    kwargs = {'plane': (0,), 'engine': engine, **kwargs}
    with pytest.raises(InvalidInputError) as info:
        outpaint_array(grey(np.uint16, shape=(3, 20, 24)), EXPAND, **kwargs)
    assert info.value.field == field
    assert engine.calls == []


@pytest.mark.parametrize(
    ('data', 'expand', 'field'),
    [
        (np.zeros(10), EXPAND, 'data'),
        (np.zeros((4, 4), complex), EXPAND, 'data'),
        (np.zeros((2, 2)), Expand(1, 0, 0, 0), 'expand'),
        (np.zeros((20, 20)), {'top': 10}, 'expand'),
    ],
)
def test_bad_data_or_expand_is_refused(data, expand, field):
    """1D/complex data, non-Expand or a 0-pixel expansion name the field."""
    engine = FakeEngine()
    with pytest.raises(InvalidInputError) as info:
        outpaint_array(data, expand, engine=engine)
    assert info.value.field == field
    assert engine.calls == []


def test_cancel_before_the_engine_call_sends_nothing():
    """A cancelled token stops the run before the engine is called."""
    token = CancelToken()
    token.cancel()
    engine = FakeEngine()
    with pytest.raises(OutpaintCancelled):
        outpaint_array(grey(np.uint8), EXPAND, engine=engine, cancel=token)
    assert engine.calls == []


def test_progress_reports_preparing_engine_stages_and_done():
    """Progress events run from preparing, through the engine, to done."""
    events = []
    outpaint_array(
        grey(np.uint8), EXPAND, engine=FakeEngine(), progress=events.append
    )
    stages = [e.stage for e in events]
    assert stages[0] == Stage.PREPARING
    assert Stage.RUNNING in stages
    assert stages[-1] == Stage.DONE
    assert events[-1].run_id == 'fake-1'


class Broken(FakeEngine):
    """Returns a float image instead of uint8 RGB."""

    def outpaint(self, image, expand, *, progress=None, cancel=None):
        return EngineResult(
            image=np.zeros((5, 5)), engine='fake', model='x', run_id='r-9'
        )


def test_an_unusable_engine_image_is_a_result_error():
    """A wrong dtype from the engine raises ResultError with the run id."""
    with pytest.raises(ResultError, match='r-9'):
        outpaint_array(grey(np.uint8), EXPAND, engine=Broken())


def test_layer_kwargs_place_a_plain_napari_image():
    """Image(result.data, **result.layer_kwargs()) is placed exactly."""
    data = grey(np.int16, shape=(2, 30, 36))
    result = outpaint_array(
        data,
        EXPAND,
        engine=FakeEngine(upscale_long_side=90),
        plane=(1,),
        scale=(4.0, 0.5, 0.25),
        translate=(1.0, 2.0, 3.0),
        source_name='stack',
    )
    assert isinstance(result, OutpaintResult)
    new = Image(result.data, **result.layer_kwargs())
    assert new.name == 'stack [outpainted]'
    assert result.mask.shape == result.data.shape
    original = Image(data, scale=(4.0, 0.5, 0.25), translate=(1.0, 2.0, 3.0))
    assert_values_identical_in_world(original, new, plane=(1,))
