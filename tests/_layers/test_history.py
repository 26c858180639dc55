"""Past results re-open from the cache as layers aligned with the original."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from napari.layers import Image
from PIL import Image as PILImage

from fakes import FakeEngine, PaidFakeEngine
from napari_outpaint import Expand, outpaint_array, outpaint_layer
from napari_outpaint._cache.store import ResultCache
from napari_outpaint._cli.main import main
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._layers.history import (
    BATCH_PREFIX,
    clear_history,
    describe_entry,
    describe_item,
    describe_plane,
    entry_matches,
    history_items,
    open_batch,
    open_cached_result,
    open_item_for_viewer,
    reopen_native,
    source_matches,
)

EXPAND = Expand(10, 5, 20, 0)


def _stack(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4000, (3, 30, 40), np.uint16)


def _layer(data: np.ndarray) -> Image:
    return Image(
        data,
        name='cells',
        scale=(2.0, 0.5, 0.75),
        translate=(1.0, -3.0, 7.0),
        rotate=15,
        contrast_limits=(100, 3900),
    )


def _only_entry():
    (entry,) = ResultCache().entries()
    return entry


def _original_centres_match(original, plane, reopened):
    """Sampled original pixel centres land on reopened pixels, same value."""
    data = np.asarray(reopened.data)
    rng = np.random.default_rng(3)
    rows, cols = original.data.shape[-2:]
    for r, c in zip(
        rng.integers(0, rows, 25), rng.integers(0, cols, 25), strict=True
    ):
        world = original.data_to_world((plane, r, c))
        index = np.asarray(reopened.world_to_data(world))
        np.testing.assert_allclose(index, np.round(index), atol=1e-6)
        at = tuple(int(i) for i in np.round(index))
        assert data[at] == original.data[plane, r, c]


def test_reopen_with_source_is_what_outpaint_layer_made():
    """With its source layer, a cached result re-opens exactly as made."""
    engine = PaidFakeEngine(upscale_long_side=96)
    layer = _layer(_stack())
    layer.colormap = 'magma'
    made = outpaint_layer(layer, EXPAND, engine=engine, plane=(1,))
    entry = _only_entry()
    layer.contrast_limits = (0, 1000)  # the display changed since

    reopened = open_cached_result(entry.key[:10], source_layer=layer)

    assert len(engine.calls) == 1  # re-opening pays nothing
    assert reopened.name == 'cells [outpainted]'
    np.testing.assert_array_equal(reopened.data, made.data)
    np.testing.assert_array_equal(
        reopened.metadata['outpaint_mask'], made.metadata['outpaint_mask']
    )
    np.testing.assert_allclose(
        reopened.affine.affine_matrix, made.affine.affine_matrix
    )
    _original_centres_match(layer, 1, reopened)
    prov = reopened.metadata['outpaint']
    assert prov['reopened_from_cache'] is True
    assert prov['cache_key'] == entry.key
    assert prov['mode'] == 'preserve_original'
    assert prov['plane'] == [1]


def test_reopen_without_source_is_placed_like_native_resolution():
    """Without a source, the native image sits where native mode puts it."""
    data = _stack()
    layer = _layer(data)
    outpaint_layer(
        layer, EXPAND, engine=PaidFakeEngine(upscale_long_side=96), plane=2
    )
    reopened = open_cached_result(_only_entry())

    native = outpaint_array(
        data,
        EXPAND,
        engine=PaidFakeEngine(upscale_long_side=96),
        plane=2,
        contrast_limits=layer.contrast_limits,
        scale=layer.scale,
        translate=layer.translate,
        rotate=layer.rotate,
        keep_native_resolution=True,
    )
    expected = Image(native.data, **native.layer_kwargs())
    assert reopened.data.shape == native.data.shape
    assert native.data.shape[-1] == 96  # the engine's (upscaled) grid
    np.testing.assert_array_equal(reopened.data, native.data)
    np.testing.assert_array_equal(
        reopened.metadata['outpaint_mask'], native.mask
    )
    np.testing.assert_allclose(reopened.scale, expected.scale)
    np.testing.assert_allclose(reopened.translate, expected.translate)
    np.testing.assert_allclose(
        reopened._data_to_world.affine_matrix,
        expected._data_to_world.affine_matrix,
    )
    prov = reopened.metadata['outpaint']
    assert prov['reopened_from_cache'] is True
    assert prov['mode'] == 'native_resolution'


_OTHER_PROCESS = """
import sys
import numpy as np
sys.path[:0] = [{here!r}, {tests!r}]
from test_history import EXPAND, _stack
from fakes import FakeEngine, PaidFakeEngine
from napari_outpaint import outpaint_array
outpaint_array(
    _stack(), EXPAND, engine=PaidFakeEngine(), plane=(0,),
    scale=(2.0, 0.5, 0.75), translate=(1.0, -3.0, 7.0),
    contrast_limits=(100, 3900), source_name='cells',
)
"""


def test_entry_from_another_process_reopens():
    """A result cached by another process re-opens aligned here."""
    here = Path(__file__).parent
    code = _OTHER_PROCESS.format(here=str(here), tests=str(here.parent))
    done = subprocess.run(
        [sys.executable, '-c', code],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    entry = _only_entry()
    assert 'cells' in describe_entry(entry)

    layer = Image(
        _stack(),
        scale=(2.0, 0.5, 0.75),
        translate=(1.0, -3.0, 7.0),
        contrast_limits=(100, 3900),
    )
    assert source_matches(entry, layer)
    _original_centres_match(
        layer, 0, open_cached_result(entry, source_layer=layer)
    )
    native = open_cached_result(entry.key)
    assert native.metadata['outpaint']['mode'] == 'native_resolution'


def test_wrong_source_layer_is_refused_by_name():
    """A layer of another shape or other pixels is refused as source_layer."""
    layer = _layer(_stack())
    outpaint_layer(layer, EXPAND, engine=PaidFakeEngine(), plane=0)
    entry = _only_entry()
    other_shape = Image(np.zeros((30, 40), np.uint16))
    assert not source_matches(entry, other_shape)
    with pytest.raises(InvalidInputError) as info:
        open_cached_result(entry, source_layer=other_shape)
    assert info.value.field == 'source_layer'

    other_pixels = _layer(_stack(seed=9))
    assert source_matches(entry, other_pixels)  # same shape and dtype
    with pytest.raises(InvalidInputError) as info:
        open_cached_result(entry, source_layer=other_pixels)
    assert info.value.field == 'source_layer'


def test_unknown_key_is_refused_by_name():
    """A key that matches no cached result names entry_or_key."""
    with pytest.raises(InvalidInputError) as info:
        open_cached_result('abc123')
    assert info.value.field == 'entry_or_key'


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, stdin=io.StringIO())
    return code, out.getvalue(), err.getvalue()


def test_cli_export_sidecar_places_the_exported_image(tmp_path):
    """history --export writes a sidecar whose placement puts each
    original pixel centre of the exported image where the original is."""
    data = _stack()[1]
    scale, translate = (0.5, 0.75), (-3.0, 7.0)
    native = outpaint_array(
        data,
        EXPAND,
        engine=PaidFakeEngine(upscale_long_side=96),
        scale=scale,
        translate=translate,
        contrast_limits=(100, 3900),
        keep_native_resolution=True,
    )
    key = _only_entry().key
    out = tmp_path / 'past.png'
    code, stdout, err = _cli('history', '--export', key[:8], '-o', str(out))
    assert code == 0, err
    sidecar = json.loads(Path(str(out) + '.json').read_text())
    place = sidecar['placement']
    np.testing.assert_allclose(place['scale'], native.scale)
    np.testing.assert_allclose(place['translate'], native.translate)
    exported = np.asarray(PILImage.open(out))
    assert exported.shape[:2] == tuple(native.data.shape[:2])
    # the centre of original pixel (0, 0) is at world = translate
    offset = np.asarray(place['original_offset_px'])
    world = np.asarray(place['translate']) + np.asarray(place['scale']) * (
        offset
    )
    np.testing.assert_allclose(world, translate, atol=1e-5)
    assert sidecar['cache_key'] == key


def test_cli_open_refuses_without_a_display(monkeypatch):
    """history --open exits 2 with a clear message when headless."""
    outpaint_array(_stack()[0], EXPAND, engine=PaidFakeEngine())
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    monkeypatch.setenv('QT_QPA_PLATFORM', 'offscreen')
    key = _only_entry().key
    code, _, err = _cli('history', '--open', key[:8])
    assert code == 2
    assert 'needs a display' in err
    assert '--export' in err


def test_cli_open_adds_the_reopened_layer_to_a_viewer(monkeypatch):
    """history --open shows the re-opened layer in a (stubbed) viewer."""
    import napari

    outpaint_array(
        _stack()[0], EXPAND, engine=PaidFakeEngine(), source_name='cells'
    )
    added, ran = [], []

    class _Viewer:
        def add_layer(self, layer):
            added.append(layer)

    monkeypatch.setenv('DISPLAY', ':0')
    monkeypatch.setenv('QT_QPA_PLATFORM', 'xcb')
    monkeypatch.setattr(napari, 'Viewer', _Viewer)
    monkeypatch.setattr(napari, 'run', lambda: ran.append(True))
    key = _only_entry().key
    code, _, err = _cli('history', '--open', key[:8])
    assert code == 0, err
    (layer,) = added
    assert ran == [True]
    assert layer.name == 'cells [outpainted]'
    assert layer.metadata['outpaint']['reopened_from_cache'] is True
    assert layer.metadata['outpaint']['cache_key'] == key


def test_batch_planes_reopen_each_at_its_plane():
    """Each plane of a paid batch re-opens aligned with that plane."""
    layer = _layer(_stack())
    outpaint_layer(
        layer, EXPAND, engine=PaidFakeEngine(), planes='all', confirm=True
    )
    entries = ResultCache().entries()
    assert len(entries) == 3
    for entry in entries:
        (plane,) = entry.provenance['plane']
        reopened = open_cached_result(entry, source_layer=layer)
        _original_centres_match(layer, plane, reopened)


def test_entry_without_placement_is_refused_but_exports(tmp_path):
    """An entry stored without the pipeline's provenance cannot be placed:
    re-opening names the entry, export still writes it (placement null)."""
    from napari_outpaint._cache.engine import store_result
    from napari_outpaint.engines import EngineResult

    image = np.full((12, 16, 3), 9, np.uint8)
    cache = ResultCache()
    key = cache.key_for(image, EXPAND, 'runflow/outpaint')
    result = EngineResult(
        image=image, engine='runflow', model='runflow/outpaint'
    )
    store_result(cache, key, result, EXPAND)
    with pytest.raises(InvalidInputError) as info:
        open_cached_result(key)
    assert info.value.field == 'entry_or_key'
    assert 'placement provenance' in str(info.value)

    out = tmp_path / 'bare.png'
    code, _, err = _cli('history', '--export', key[:8], '-o', str(out))
    assert code == 0, err
    sidecar = json.loads(Path(str(out) + '.json').read_text())
    assert sidecar['placement'] is None
    assert sidecar['provenance']['expand'] == EXPAND.as_dict()


def test_runflow_result_reopens_aligned(runflow_standin):
    """A result paid on the Runflow stand-in re-opens aligned, no new run."""
    from napari_outpaint.engines.runflow import RunflowEngine

    engine = RunflowEngine(
        api_key='test-key',
        base_url=runflow_standin.base_url,
        verify=runflow_standin.ca_path,
    )
    rgb = np.random.default_rng(5).integers(0, 255, (32, 48, 3), np.uint8)
    layer = Image(rgb, name='photo', scale=(0.5, 0.5), translate=(4, -2))
    made = outpaint_layer(layer, Expand(0, 20, 10, 10), engine=engine)
    entry = _only_entry()
    assert entry.provenance['run_id'] == runflow_standin.runs[0].id

    reopened = open_cached_result(entry.key, source_layer=layer)
    np.testing.assert_array_equal(reopened.data, made.data)
    np.testing.assert_allclose(reopened.translate, made.translate)
    assert len(runflow_standin.runs) == 1
    native = open_cached_result(entry.key)
    assert native.metadata['outpaint']['original_cost_usd'] == 0.55


def test_standin_entry_reopens_by_its_recorded_namespace(runflow_standin):
    """A stand-in entry is verified with the endpoint it was paid at."""
    from napari_outpaint.engines.runflow import RunflowEngine

    engine = RunflowEngine(
        api_key='test-key',
        base_url=runflow_standin.base_url,
        verify=runflow_standin.ca_path,
    )
    rgb = np.random.default_rng(6).integers(0, 255, (24, 20, 3), np.uint8)
    layer = Image(rgb, name='photo', rgb=True)
    made = outpaint_layer(layer, Expand(10, 0, 0, 10), engine=engine)
    entry = _only_entry()
    assert entry.provenance['cache_namespace'] == engine.cache_namespace
    assert '@127.0.0.1:' in describe_entry(entry)

    reopened = open_cached_result(entry.key, source_layer=layer)
    np.testing.assert_array_equal(reopened.data, made.data)
    assert len(runflow_standin.runs) == 1

    # without its namespace the key cannot be verified from the model
    prov = dict(entry.provenance)
    del prov['cache_namespace']
    ResultCache().update_provenance(entry.key, prov)
    with pytest.raises(InvalidInputError) as info:
        open_cached_result(entry.key, source_layer=layer)
    assert info.value.field == 'source_layer'


def test_entry_without_namespace_is_verified_by_its_model():
    """Entries stored before namespaces re-open, keyed by their model."""
    layer = _layer(_stack(4))
    made = outpaint_layer(layer, EXPAND, engine=PaidFakeEngine(), plane=(0,))
    entry = _only_entry()
    prov = dict(entry.provenance)
    assert prov.pop('cache_namespace') == PaidFakeEngine.model
    ResultCache().update_provenance(entry.key, prov)

    reopened = open_cached_result(entry.key, source_layer=layer)
    np.testing.assert_array_equal(reopened.data, made.data)


def _batch_and_single():
    """A paid batch of the 3 planes of 'cells' and a single run of
    'nuclei'; returns the cells layer and the batch's nD result layer."""
    layer = _layer(_stack())
    layer.colormap = 'magma'
    made = outpaint_layer(
        layer, EXPAND, engine=PaidFakeEngine(), planes='all', confirm=True
    )
    other = _layer(_stack(seed=5))
    other.name = 'nuclei'
    outpaint_layer(other, EXPAND, engine=PaidFakeEngine(), plane=(1,))
    return layer, made


def test_a_batch_is_one_item_and_each_plane_names_its_plane():
    """History lists a batch as one item of its planes (in plane order,
    each labelled with its plane) and a single run as one item."""
    _batch_and_single()
    items = history_items()
    assert len(items) == 2
    (batch,) = [i for i in items if i.is_batch]
    (single,) = [i for i in items if not i.is_batch]
    assert [e.provenance['plane'] for e in batch.entries] == [[0], [1], [2]]
    assert batch.key == f'{BATCH_PREFIX}{batch.batch_id}'
    assert single.key == single.entries[0].key
    label = describe_item(batch)
    assert 'cells' in label
    assert 'batch: 3 planes' in label
    assert batch.batch_id[:8] in label
    for n, entry in enumerate(batch.entries):
        assert describe_plane(entry).startswith(f'plane {n}  run ')
        assert f'plane {n}' in describe_entry(entry)
    assert 'nuclei' in describe_item(single)
    assert 'plane' not in describe_item(single)


def test_entries_without_a_batch_id_are_listed_one_by_one():
    """Planes stored before batch ids (no batch_id) stay single items."""
    _batch_and_single()
    cache = ResultCache()
    for entry in cache.entries():
        prov = dict(entry.provenance)
        prov.pop('batch_id', None)
        cache.update_provenance(entry.key, prov)
    items = history_items()
    assert len(items) == 4
    assert not any(item.is_batch for item in items)
    assert sorted(i.entries[0].provenance['plane'][0] for i in items) == [
        0,
        1,
        1,
        2,
    ]


def test_a_batch_reopens_as_the_nd_layer_the_batch_made():
    """Opening a batch item with its source gives the batch's own layer:
    same data, mask and placement; one plane of it re-opens alone."""
    layer, made = _batch_and_single()
    (batch,) = [i for i in history_items() if i.is_batch]
    reopened = open_item_for_viewer(batch, layer)
    np.testing.assert_array_equal(reopened.data, made.data)
    np.testing.assert_array_equal(
        reopened.metadata['outpaint_mask'], made.metadata['outpaint_mask']
    )
    np.testing.assert_allclose(reopened.scale, made.scale)
    np.testing.assert_allclose(reopened.translate, made.translate)
    np.testing.assert_allclose(
        reopened._data_to_world.affine_matrix,
        made._data_to_world.affine_matrix,
    )
    assert reopened.colormap.name == made.colormap.name == 'magma'
    prov = reopened.metadata['outpaint']
    assert prov['reopened_from_cache'] is True
    assert prov['batch']['id'] == batch.batch_id
    assert prov['batch']['mode'] == 'aligned'
    one = open_item_for_viewer(batch, layer, plane_key=batch.entries[1].key)
    assert one.data.shape[0] == 1
    _original_centres_match(layer, 1, one)


def test_a_batch_without_its_source_reopens_at_native_resolution():
    """Without the source, each plane of the nD layer is that plane's
    native re-opening, at its place along the stack."""
    _, made = _batch_and_single()
    (batch,) = [i for i in history_items() if i.is_batch]
    reopened = open_batch(batch.entries)
    assert reopened.metadata['outpaint']['batch']['mode'] == (
        'native_resolution'
    )
    assert reopened.data.shape[0] == 3
    for n, entry in enumerate(batch.entries):
        alone = reopen_native(entry)
        np.testing.assert_array_equal(reopened.data[n], alone.data[0])
        np.testing.assert_allclose(reopened.scale[1:], alone.scale[1:])
    np.testing.assert_allclose(reopened.scale[0], made.scale[0])
    np.testing.assert_allclose(reopened.translate[0], made.translate[0])


def test_filter_matches_source_date_engine_and_run_id():
    """The filter keeps items whose source name, date, engine or run id
    contain every word; a batch is kept whole when one plane matches."""
    _batch_and_single()
    everything = history_items()
    (batch,) = [i for i in everything if i.is_batch]
    (single,) = [i for i in everything if not i.is_batch]

    def keys(text):
        return [i.key for i in history_items(text=text)]

    assert keys('') == [i.key for i in everything]
    assert keys('NUCLEI') == [single.key]
    assert keys('cells') == [batch.key]
    assert set(keys('paid-fake')) == {batch.key, single.key}
    when = time.strftime(
        '%Y-%m-%d %H:%M', time.localtime(single.entries[0].created_at)
    )
    assert single.key in keys(when)
    run_id = batch.entries[2].provenance['run_id']
    assert batch.key in keys(f'cells {run_id}')
    assert keys('nuclei cells') == []
    assert keys('no-such-thing') == []
    entry = batch.entries[0]
    assert entry_matches(entry, entry.key[:10])
    assert not entry_matches(entry, 'nuclei')


def test_local_results_are_not_cached_single_or_batch():
    """The rule: only paid results are cached. A free engine's single run
    and batch leave the cache, and History, empty."""
    layer = _layer(_stack())
    outpaint_layer(layer, EXPAND, engine=FakeEngine(), plane=(0,))
    outpaint_layer(
        layer, EXPAND, engine=FakeEngine(), planes='all', confirm=True
    )
    assert ResultCache().entries() == []
    assert history_items() == []
    outpaint_layer(layer, EXPAND, engine=PaidFakeEngine(), plane=(0,))
    assert len(history_items()) == 1  # the same path, paid: cached


def test_clear_history_deletes_results_and_keeps_pending_runs():
    """Clear (widget and CLI) deletes every result, keeps pending runs."""
    _batch_and_single()
    cache = ResultCache()
    cache.record_pending('run-kept', 'd' * 64, {'model': 'm'})
    message = clear_history(cache)
    assert message == f'deleted 4 cached result(s) from {cache.root}'
    assert cache.entries() == []
    assert [p.run_id for p in cache.pending()] == ['run-kept']
