"""Tests for the paid-result cache and the pending-run journal."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from PIL import Image

from napari_outpaint._cache.engine import collect_run, store_result
from napari_outpaint._cache.entry import CachedResult
from napari_outpaint._cache.store import (
    CACHE_DIR_ENV,
    DEFAULT_MAX_BYTES,
    MAX_BYTES_ENV,
    DamagedEntryError,
    ResultCache,
    default_cache_dir,
)
from napari_outpaint._errors import ConfigurationError, InvalidInputError
from napari_outpaint._expand import Expand
from napari_outpaint.engines._base import EngineResult

MODEL = 'runflow/outpaint'


def _rgb(seed: int = 0, shape=(6, 5, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format='PNG')
    return buf.getvalue()


def _put(cache: ResultCache, seed: int, size: int = 0) -> CachedResult:
    key = cache.key_for(_rgb(seed), Expand(10, 0, 0, 0), MODEL)
    raw = _png(_rgb(seed)) + b'\0' * size
    return cache.put(key, raw, 'image/png', {'run_id': f'run-{seed}'})


def test_default_root_follows_env_and_platformdirs(monkeypatch, tmp_path):
    """The root is $NAPARI_OUTPAINT_CACHE_DIR, else the user cache dir."""
    import platformdirs

    assert ResultCache().root == tmp_path / 'cache'
    monkeypatch.delenv('NAPARI_OUTPAINT_CACHE_DIR')
    expected = platformdirs.user_cache_dir('napari-outpaint')
    assert str(default_cache_dir()) == expected


def test_key_depends_on_pixels_shape_expand_and_model():
    """Every part of the request changes the key; equal requests share it."""
    rgb = _rgb(1, (4, 6, 3))
    expand = Expand(10, 20, 30, 40)
    key = ResultCache.key_for(rgb, expand, MODEL)
    assert key == ResultCache.key_for(
        rgb.copy(), Expand(10, 20, 30, 40), MODEL
    )
    assert len(key) == 64
    changed = rgb.copy()
    changed[0, 0, 0] ^= 1
    others = {
        ResultCache.key_for(changed, expand, MODEL),
        ResultCache.key_for(rgb.reshape(6, 4, 3), expand, MODEL),
        ResultCache.key_for(rgb, Expand(10, 20, 30, 41), MODEL),
        ResultCache.key_for(rgb, expand, 'patchmatch'),
    }
    assert key not in others
    assert len(others) == 4


def test_key_ignores_memory_layout():
    """A non-contiguous view of the same pixels has the same key."""
    rgb = _rgb(2, (8, 8, 3))
    view = np.asfortranarray(rgb)
    expand = Expand(0, 10, 0, 0)
    assert ResultCache.key_for(view, expand, MODEL) == ResultCache.key_for(
        rgb, expand, MODEL
    )


@pytest.mark.parametrize(
    'bad', [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.uint16)]
)
def test_key_rejects_non_rgb8(bad):
    """Only (rows, cols, 3) uint8 planes can be keyed, naming the field."""
    with pytest.raises(InvalidInputError, match='rgb8'):
        ResultCache.key_for(bad, Expand(10, 0, 0, 0), MODEL)


def test_put_then_get_returns_the_exact_bytes_and_provenance():
    """A stored result comes back byte for byte with its provenance."""
    cache = ResultCache()
    rgb = _rgb(3)
    key = cache.key_for(rgb, Expand(10, 0, 0, 0), MODEL)
    assert cache.get(key) is None
    raw = _png(rgb)
    stored = cache.put(key, raw, 'image/png', {'run_id': 'r1', 'seed': 7})
    got = cache.get(key)
    assert got is not None
    assert got.raw == raw
    assert got.content_type == 'image/png'
    assert got.provenance == {'run_id': 'r1', 'seed': 7}
    assert got.created_at == stored.created_at
    assert got.size == len(raw)
    np.testing.assert_array_equal(got.image(), rgb)
    assert got.path.suffix == '.png'


def test_cached_entry_becomes_a_free_engine_result():
    """A cache hit turns into an EngineResult that costs nothing."""
    cache = ResultCache()
    rgb = _rgb(4)
    result = EngineResult(
        image=rgb,
        engine='runflow',
        model=MODEL,
        run_id='run-9',
        seed=3,
        cost_usd=0.55,
        raw=_png(rgb),
        raw_content_type='image/png',
    )
    key = cache.key_for(_rgb(5), Expand(10, 0, 0, 0), MODEL)
    store_result(cache, key, result, Expand(10, 0, 0, 0))
    again = cache.get(key).to_engine_result()
    assert again.cost_usd == 0.0
    assert again.details['cached'] is True
    assert again.details['original_cost_usd'] == 0.55
    assert (again.run_id, again.seed, again.model) == ('run-9', 3, MODEL)
    np.testing.assert_array_equal(again.image, rgb)


def test_engine_result_without_raw_is_stored_as_lossless_png():
    """A result with no downloaded bytes is kept as an exact PNG."""
    cache = ResultCache()
    rgb = _rgb(6)
    result = EngineResult(image=rgb, engine='local', model='reflect')
    key = cache.key_for(rgb, Expand(0, 0, 10, 0), 'reflect')
    entry = store_result(cache, key, result)
    assert entry.content_type == 'image/png'
    np.testing.assert_array_equal(entry.image(), rgb)


def test_failed_write_leaves_no_entry_and_no_temp_file(monkeypatch):
    """A write interrupted at the rename leaves nothing behind."""
    cache = ResultCache()
    key = cache.key_for(_rgb(7), Expand(10, 0, 0, 0), MODEL)

    def boom(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', boom)
    with pytest.raises(OSError, match='disk full'):
        cache.put(key, b'png-bytes', 'image/png', {})
    monkeypatch.undo()
    assert cache.get(key) is None
    leftovers = [p for p in cache.root.rglob('*') if p.is_file()]
    assert leftovers == []


def test_entries_are_newest_first():
    """entries() lists results newest first."""
    cache = ResultCache()
    keys = [_put(cache, seed).key for seed in range(3)]
    created = [cache.get(k).created_at for k in keys]
    assert created == sorted(created)
    listed = [e.key for e in cache.entries()]
    assert listed == [
        k for _, k in sorted(zip(created, keys, strict=True), reverse=True)
    ]


def test_prune_evicts_least_recently_used():
    """Over the limit, the entries used longest ago go first."""
    cache = ResultCache()
    a, b, c = (_put(cache, seed, size=1000) for seed in range(3))
    now = time.time()
    for age, entry in ((30, a), (20, b), (10, c)):
        meta = entry.path.with_suffix('.json')
        os.utime(meta, (now - age, now - age))
    assert cache.get(a.key) is not None  # a is now the most recently used
    per_entry = cache.total_bytes() / 3
    evicted = cache.prune(int(per_entry * 2.5))
    assert evicted == 1
    assert cache.get(b.key) is None
    assert cache.get(a.key) is not None
    assert cache.get(c.key) is not None
    assert cache.total_bytes() <= per_entry * 2.5


def test_put_enforces_the_limit_but_keeps_the_new_entry():
    """A put over the limit evicts older entries, never the one just put."""
    cache = ResultCache(max_bytes=10)
    first = _put(cache, 0)
    second = _put(cache, 1, size=50)
    assert cache.get(first.key) is None
    assert cache.get(second.key) is not None


def test_size_limit_follows_the_env_var(monkeypatch):
    """The limit is NAPARI_OUTPAINT_CACHE_MAX_BYTES, else 2 GiB; a value
    that is not a number of bytes is refused by the variable's name."""
    monkeypatch.delenv(MAX_BYTES_ENV, raising=False)
    assert ResultCache().max_bytes == DEFAULT_MAX_BYTES == 2 * 1024**3
    monkeypatch.setenv(MAX_BYTES_ENV, '12345')
    assert ResultCache().max_bytes == 12345
    assert ResultCache(max_bytes=7).max_bytes == 7
    monkeypatch.setenv(MAX_BYTES_ENV, '2GB')
    with pytest.raises(ConfigurationError, match=MAX_BYTES_ENV):
        ResultCache()


def test_a_new_entry_evicts_the_oldest_and_logs_it(monkeypatch, caplog):
    """Over the env limit, a put evicts the results used longest ago (not
    the new one), keeps pending runs and held inputs, and logs the limit
    and the evicted keys."""
    cache = ResultCache(max_bytes=10**9)
    old, mid = _put(cache, 0, size=1000), _put(cache, 1, size=1000)
    now = time.time()
    for age, entry in ((30, old), (20, mid)):
        meta = entry.path.with_suffix('.json')
        os.utime(meta, (now - age, now - age))
    cache.record_pending('run-p', 'c' * 64, {'model': MODEL})
    cache.held_inputs.hold('asset-1', 'run-p', MODEL)
    limit = int(cache.total_bytes() * 1.2)
    monkeypatch.setenv(MAX_BYTES_ENV, str(limit))
    limited = ResultCache()
    with caplog.at_level('INFO', logger='napari_outpaint._cache.store'):
        new = _put(limited, 2, size=1000)
    assert limited.get(old.key) is None
    assert limited.get(mid.key) is not None
    assert limited.get(new.key) is not None
    assert limited.total_bytes() <= limit
    assert [p.run_id for p in limited.pending()] == ['run-p']
    assert [h.asset_id for h in limited.held_inputs.held()] == ['asset-1']
    (record,) = caplog.records
    assert str(limit) in record.getMessage()
    assert MAX_BYTES_ENV in record.getMessage()
    assert old.key[:12] in record.getMessage()
    assert mid.key[:12] not in record.getMessage()


def test_clear_deletes_results_and_keeps_pending_runs():
    """clear() empties the results but never forgets a pending run."""
    cache = ResultCache()
    for seed in range(2):
        _put(cache, seed)
    key = cache.key_for(_rgb(9), Expand(10, 0, 0, 0), MODEL)
    cache.record_pending('run-x', key, {'model': MODEL})
    cache.held_inputs.hold('asset-x', 'run-x', MODEL)
    assert cache.total_bytes() > 0
    assert cache.clear() == 2
    assert [h.asset_id for h in cache.held_inputs.held()] == ['asset-x']
    assert cache.entries() == []
    assert cache.total_bytes() == 0
    assert [p.run_id for p in cache.pending()] == ['run-x']


@pytest.mark.parametrize('key', ['../../etc/passwd', 'ab' * 31, 'G' * 64])
def test_malformed_key_is_refused(key):
    """Keys that are not 64 hex digits never reach the file system."""
    with pytest.raises(InvalidInputError, match='key'):
        ResultCache().get(key)


def test_no_secret_or_presigned_query_is_written(monkeypatch):
    """Provenance and journal files hold no API key nor presigned query."""
    monkeypatch.setenv('RUNFLOW_API_KEY', 'sk-very-secret-123')
    cache = ResultCache()
    key = cache.key_for(_rgb(10), Expand(10, 0, 0, 0), MODEL)
    url = 'https://s3.example/out.png?X-Amz-Signature=abcdef&X-Amz-Cred=k'
    cache.put(
        key,
        b'not-really-png',
        'image/png',
        {
            'output_url': url,
            'api_key': 'sk-other',
            'note': 'sent with sk-very-secret-123',
            'nested': [{'Authorization': 'Bearer x', 'url': url}],
        },
    )
    cache.record_pending('run-1', key, {'image_url': url, 'token': 't0k3n'})
    text = ''.join(
        p.read_text(errors='replace') for p in cache.root.rglob('*.json')
    )
    for secret in ('sk-very-secret', 'X-Amz-Signature', 'sk-other', 't0k3n'):
        assert secret not in text
    assert 'Bearer' not in text
    prov = cache.get(key).provenance
    assert prov['output_url'] == 'https://s3.example/out.png?<redacted>'
    assert prov['nested'][0] == {
        'url': 'https://s3.example/out.png?<redacted>'
    }


class _CollectingEngine:
    """A narrow stand-in for RunflowEngine.collect (unit test only)."""

    def __init__(self, image):
        self.image = image
        self.collected = []

    def collect(self, run_id, *, progress=None, cancel=None):
        self.collected.append(run_id)
        return EngineResult(
            image=self.image,
            engine='runflow',
            model=MODEL,
            run_id=run_id,
            seed=42,
            cost_usd=0.55,
            raw=_png(self.image),
            raw_content_type='image/png',
        )


def test_collect_run_stores_under_the_pending_key_and_resolves():
    """Collecting a journalled run caches it under the request's key."""
    cache = ResultCache()
    rgb = _rgb(12)
    expand = Expand(0, 0, 20, 0)
    key = cache.key_for(rgb, expand, MODEL)
    cache.record_pending(
        'run-late', key, {'expand': expand.as_dict(), 'plane': [1]}
    )
    out = _rgb(13, (6, 6, 3))
    engine = _CollectingEngine(out)
    entry = collect_run('run-late', engine=engine, cache=cache)
    assert engine.collected == ['run-late']
    assert entry.key == key
    assert entry.provenance['collected'] is True
    assert entry.provenance['expand'] == expand.as_dict()
    assert entry.provenance['plane'] == [1]
    np.testing.assert_array_equal(cache.get(key).image(), out)
    assert cache.pending() == []


def test_collect_run_without_journal_entry_still_keeps_the_result():
    """A run id unknown to the journal is still collected and listed."""
    cache = ResultCache()
    entry = collect_run(
        'run-unknown', engine=_CollectingEngine(_rgb(14)), cache=cache
    )
    assert [e.key for e in cache.entries()] == [entry.key]
    assert entry.provenance['run_id'] == 'run-unknown'


def test_cache_survives_a_process_restart(tmp_path):
    """A result written by another process is read back here, same key."""
    rgb = _rgb(15, (5, 7, 3))
    np.save(tmp_path / 'plane.npy', rgb)
    script = textwrap.dedent(
        f"""
        import io, json, sys
        import numpy as np
        from PIL import Image
        from napari_outpaint._cache.store import ResultCache
        from napari_outpaint._expand import Expand
        rgb = np.load({str(tmp_path / 'plane.npy')!r})
        cache = ResultCache()
        key = cache.key_for(rgb, Expand(5, 10, 15, 20), {MODEL!r})
        buf = io.BytesIO()
        Image.fromarray(rgb[::-1]).save(buf, format='PNG')
        cache.put(key, buf.getvalue(), 'image/png', {{'run_id': 'run-p'}})
        cache.record_pending('run-q', key, {{'plane': [4]}})
        print(json.dumps({{'key': key, 'root': str(cache.root)}}))
        """
    )
    done = subprocess.run(
        [sys.executable, '-c', script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    child = json.loads(done.stdout)
    cache = ResultCache()
    assert child['root'] == str(cache.root)
    key = cache.key_for(rgb, Expand(5, 10, 15, 20), MODEL)
    assert key == child['key']
    hit = cache.get(key)
    assert hit is not None
    assert hit.provenance == {'run_id': 'run-p'}
    np.testing.assert_array_equal(hit.image(), rgb[::-1])
    assert [p.run_id for p in cache.pending()] == ['run-q']


# -- endpoint namespaces -------------------------------------------------
def _old_formula_key(rgb8: np.ndarray, expand: Expand, model: str) -> str:
    """The key formula of releases before endpoint namespaces."""
    import hashlib

    head = json.dumps(
        {
            'shape': list(rgb8.shape),
            'dtype': 'uint8',
            'expand': expand.as_dict(),
            'model': model,
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(b'napari-outpaint/result-cache/v1\0')
    digest.update(head.encode() + b'\0')
    digest.update(np.ascontiguousarray(rgb8).tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize(
    'base_url',
    [None, 'https://api.runflow.io', 'https://API.runflow.io:443/'],
)
def test_default_endpoint_key_is_the_old_key(monkeypatch, base_url):
    """Real Runflow results keep the key they had before namespaces."""
    from napari_outpaint._cache.engine import CachingEngine
    from napari_outpaint._cache.key import cache_model_id
    from napari_outpaint.engines.runflow import RunflowEngine

    monkeypatch.delenv('RUNFLOW_BASE_URL', raising=False)
    engine = RunflowEngine(api_key='k', base_url=base_url)
    rgb, expand = _rgb(3), Expand(10, 0, 5, 0)
    wrapped = CachingEngine(engine, ResultCache())
    assert cache_model_id(engine) == cache_model_id(wrapped) == MODEL
    key = ResultCache.key_for(rgb, expand, cache_model_id(wrapped))
    assert key == _old_formula_key(rgb, expand, MODEL)


@pytest.mark.parametrize(
    ('base_url', 'namespace'),
    [
        ('https://127.0.0.1:8443', f'{MODEL}@127.0.0.1:8443'),
        (
            'https://proxy.example.org/runflow/',
            f'{MODEL}@proxy.example.org/runflow',
        ),
        (
            'https://user:secret@api.runflow.io:8443',
            f'{MODEL}@api.runflow.io:8443',
        ),
    ],
)
def test_other_endpoints_have_their_own_namespace(base_url, namespace):
    """Another base URL names host, port and path, never user info."""
    from napari_outpaint._cache.key import cache_model_id
    from napari_outpaint.engines.runflow import RunflowEngine

    engine = RunflowEngine(api_key='k', base_url=base_url)
    assert cache_model_id(engine) == namespace
    assert 'secret' not in cache_model_id(engine)


def test_engines_without_a_namespace_are_keyed_by_model():
    """An engine with no (or an empty) namespace keys by its model."""
    from napari_outpaint._cache.key import (
        cache_model_id,
        provenance_model_id,
    )

    class Plain:
        model = 'paid-fake/reflect'

    class Empty(Plain):
        cache_namespace = ''

    assert cache_model_id(Plain()) == cache_model_id(Empty()) == Plain.model
    assert provenance_model_id({'model': 'm'}) == 'm'
    assert provenance_model_id({'model': 'm', 'cache_namespace': 'm@h'}) == (
        'm@h'
    )


def _standin_engine(server):
    from napari_outpaint.engines.runflow import RunflowEngine

    return RunflowEngine(
        api_key='test-key', base_url=server.base_url, verify=server.ca_path
    )


def test_standin_result_is_not_answered_for_another_endpoint(
    runflow_standin,
):
    """A result of one endpoint is never a cache hit for another one."""
    from napari_outpaint._cache.engine import CachingEngine
    from napari_outpaint._cache.key import cache_model_id
    from napari_outpaint.engines.runflow import RunflowEngine
    from napari_outpaint.testing import RunflowStandIn

    cache = ResultCache()
    rgb, expand = _rgb(4, (12, 10, 3)), Expand(10, 0, 20, 0)
    first = CachingEngine(_standin_engine(runflow_standin), cache)
    first.outpaint(rgb, expand)
    assert first.last_source == 'run'
    (entry,) = cache.entries()
    assert entry.provenance['cache_namespace'] == cache_model_id(first)
    assert '@127.0.0.1:' in entry.provenance['cache_namespace']

    # the real service's key for the same request finds nothing
    real = RunflowEngine(api_key='k', base_url='https://api.runflow.io')
    assert cache.get(cache.key_for(rgb, expand, cache_model_id(real))) is None

    with RunflowStandIn(
        api_key='test-key', processing_delay=0.05, queue_delay=0.0
    ) as other:
        second = CachingEngine(_standin_engine(other), cache)
        result = second.outpaint(rgb, expand)
        assert second.last_source == 'run'
        assert result.details['cached'] is False
        assert len(other.runs) == 1  # paid its own run
        assert result.run_id == other.runs[0].id

    again = CachingEngine(_standin_engine(runflow_standin), cache)
    assert again.outpaint(rgb, expand).details['cached'] is True
    assert len(runflow_standin.runs) == 1
    assert len(cache.entries()) == 2


def test_pending_run_records_the_namespace_and_is_collected(
    runflow_standin,
):
    """A journalled stand-in run keeps its namespace when collected."""
    from napari_outpaint._cache.engine import CachingEngine
    from napari_outpaint._cache.key import cache_model_id

    cache = ResultCache()
    rgb, expand = _rgb(5, (12, 10, 3)), Expand(0, 10, 0, 10)
    engine = _standin_engine(runflow_standin)
    result = engine.outpaint(rgb, expand)  # as if paid, then crashed
    key = cache.key_for(rgb, expand, cache_model_id(engine))
    cache.record_pending(
        result.run_id,
        key,
        {'model': MODEL, 'cache_namespace': cache_model_id(engine)},
    )

    entry = collect_run(result.run_id, engine=engine, cache=cache)
    assert entry.key == key
    assert entry.provenance['cache_namespace'] == cache_model_id(engine)
    assert cache.pending() == []
    wrapped = CachingEngine(engine, cache)
    assert wrapped.outpaint(rgb, expand).details['cached'] is True
    assert len(runflow_standin.runs) == 1


def test_check_writable_creates_the_folders(tmp_path):
    """A fresh location is created and probed; no probe file is left."""
    cache = ResultCache(tmp_path / 'new')
    cache.check_writable()
    assert sorted(p.name for p in (tmp_path / 'new').iterdir()) == [
        'pending',
        'results',
    ]
    assert not list((tmp_path / 'new').rglob('.tmp-*'))


@pytest.mark.parametrize('where', ['file-as-folder', 'proc'])
def test_check_writable_names_the_setting(tmp_path, where):
    """A location that takes no files: ConfigurationError naming the env."""
    if where == 'proc':
        root = '/proc/napari-outpaint-cache'
    else:
        (tmp_path / 'file').write_text('x')
        root = tmp_path / 'file' / 'cache'
    with pytest.raises(ConfigurationError, match=CACHE_DIR_ENV):
        ResultCache(root).check_writable()


def _png_bytes():
    buf = io.BytesIO()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(buf, format='PNG')
    return buf.getvalue()


@pytest.mark.parametrize(
    'damage', ['metadata', 'data-truncated', 'data-altered', 'data-missing']
)
def test_a_damaged_entry_is_reported_and_kept_aside(tmp_path, damage):
    """Damage is never 'absent': an error naming where the files went;
    the files are kept; the next lookup finds nothing (the user knows)."""
    cache = ResultCache(tmp_path / 'c')
    key = 'ab' * 32
    entry = cache.put(key, _png_bytes(), 'image/png', {'run_id': 'run-7'})
    meta = entry.path.with_suffix('.json')
    if damage == 'metadata':
        meta.write_text(meta.read_text()[:20])
    elif damage == 'data-truncated':
        entry.path.write_bytes(entry.raw[:10])
    elif damage == 'data-altered':
        raw = bytearray(entry.raw)
        raw[-5] ^= 0xFF
        entry.path.write_bytes(bytes(raw))
    else:
        entry.path.unlink()
    with pytest.raises(DamagedEntryError) as info:
        cache.get(key)
    error = info.value
    assert error.aside.is_dir()
    assert str(error.aside) in str(error)
    assert 'Nothing was paid' in str(error)
    kept = sorted(p.name for p in error.aside.iterdir())
    assert f'{key}.json' in kept
    if damage != 'metadata':
        assert error.run_id == 'run-7'
    assert cache.get(key) is None
