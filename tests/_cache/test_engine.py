"""CachingEngine and caching_engine: one write per paid result, never two
payments for one request, nothing paid for ever dropped."""

import threading

import numpy as np
import pytest

from fakes import FakeEngine, PaidFakeEngine
from napari_outpaint._batch.outpaint import outpaint_planes
from napari_outpaint._cache import engine as caching_module
from napari_outpaint._cache.cost import SpendCap
from napari_outpaint._cache.engine import CachingEngine, caching_engine
from napari_outpaint._cache.journal import DamagedRecordError
from napari_outpaint._cache.store import DamagedEntryError, ResultCache
from napari_outpaint._errors import ConfigurationError, SubmissionUnknownError
from napari_outpaint._expand import Expand
from napari_outpaint._pipeline import array as array_module
from napari_outpaint._pipeline.array import outpaint_array
from napari_outpaint._runflow.retry import RetryPolicy
from napari_outpaint.engines.runflow import RunflowEngine

EXPAND = Expand(top=10, bottom=0, left=20, right=0)
WAIT_S = 10.0


def _image(seed=0, shape=(16, 20)):
    return np.random.default_rng(seed).integers(0, 255, shape, np.uint8)


@pytest.fixture
def puts(monkeypatch):
    """Every ResultCache.put call, as (key, provenance)."""
    calls = []
    real = ResultCache.put

    def put(self, key, raw, content_type, provenance=None):
        calls.append((key, dict(provenance or {})))
        return real(self, key, raw, content_type, provenance)

    monkeypatch.setattr(ResultCache, 'put', put)
    return calls


def test_only_paid_engines_are_wrapped():
    """Free engines are not cached; paid ones are, and only once."""
    assert caching_engine(FakeEngine()) is None
    wrapped = caching_engine(PaidFakeEngine())
    assert isinstance(wrapped, CachingEngine)
    assert caching_engine(wrapped) is wrapped


def test_a_single_paid_run_writes_its_entry_once_with_everything(puts):
    """One put, holding the pipeline's provenance and the engine's."""
    outpaint_array(
        _image(), EXPAND, engine=PaidFakeEngine(), source_name='cells'
    )
    assert len(puts) == 1
    _, provenance = puts[0]
    assert provenance['source']['layer'] == 'cells'
    assert provenance['seam_score'] is not None
    assert provenance['run_id'] == 'fake-1'
    assert provenance['cache_namespace'] == PaidFakeEngine.model
    (entry,) = ResultCache().entries()
    assert entry.provenance['generated_region']['canvas_px']


def test_a_batch_writes_each_plane_once(puts):
    """Three paid planes, three writes: no second pass over the entry."""
    stack = np.stack([_image(seed) for seed in range(3)])
    result = outpaint_planes(
        stack,
        EXPAND,
        engine=PaidFakeEngine(),
        confirm=True,
        spend_cap=SpendCap(),
    )
    assert result.complete
    assert sorted(tuple(p['plane']) for _, p in puts) == [(0,), (1,), (2,)]


def test_a_paid_result_is_kept_when_placing_it_fails(monkeypatch):
    """An error after the engine returned never drops what was paid."""
    engine = PaidFakeEngine()

    def broken(**_kwargs):
        raise RuntimeError('placement bug')

    with monkeypatch.context() as patched:
        patched.setattr(array_module, 'place_result', broken)
        with pytest.raises(RuntimeError, match='placement bug'):
            outpaint_array(_image(), EXPAND, engine=engine)
    (entry,) = ResultCache().entries()
    assert entry.provenance['run_id'] == 'fake-1'
    again = outpaint_array(_image(), EXPAND, engine=engine)
    assert again.engine_result.details['cached'] is True
    assert len(engine.calls) == 1  # answered from the cache: paid once


def test_outside_a_with_block_the_result_is_stored_before_return():
    """Used as a plain engine it stores each result at once."""
    wrapped = CachingEngine(PaidFakeEngine(), ResultCache())
    rgb = np.repeat(_image()[..., None], 3, axis=-1)
    wrapped.outpaint(rgb, EXPAND)
    assert wrapped.last_source == 'run'
    assert len(ResultCache().entries()) == 1
    assert wrapped.outpaint(rgb, EXPAND).details['cached'] is True
    assert wrapped.last_source == 'cache'


def test_an_identical_request_in_flight_waits_and_never_pays_again(
    monkeypatch,
):
    """B asks while A's result is not yet kept: B waits, then hits."""
    inner = PaidFakeEngine()
    rgb = np.repeat(_image(5)[..., None], 3, axis=-1)
    a_holds, b_waits, a_may_keep = (threading.Event() for _ in range(3))
    real_lock = caching_module._key_lock

    class Watched:
        def __init__(self, lock):
            self.lock = lock

        def acquire(self):
            if threading.current_thread().name == 'B':
                b_waits.set()
            return self.lock.acquire()

        def release(self):
            self.lock.release()

    monkeypatch.setattr(
        caching_module, '_key_lock', lambda key: Watched(real_lock(key))
    )
    results = {}

    def a():
        with CachingEngine(inner, ResultCache()) as engine:
            results['a'] = engine.outpaint(rgb, EXPAND)
            a_holds.set()
            assert a_may_keep.wait(WAIT_S)
            engine.keep({'who': 'a'})

    def b():
        with CachingEngine(inner, ResultCache()) as engine:
            results['b'] = engine.outpaint(rgb, EXPAND)

    first = threading.Thread(target=a, name='A')
    first.start()
    assert a_holds.wait(WAIT_S)  # A's result is in, not yet kept
    second = threading.Thread(target=b, name='B')
    second.start()
    assert b_waits.wait(WAIT_S)
    a_may_keep.set()
    first.join(WAIT_S)
    second.join(WAIT_S)
    assert len(inner.calls) == 1
    assert results['a'].details['cached'] is False
    assert results['b'].details['cached'] is True
    (entry,) = ResultCache().entries()
    assert entry.provenance['who'] == 'a'


def test_leaving_the_with_block_keeps_what_was_not_kept():
    """No keep() call: the block's end stores the engine's provenance."""
    rgb = np.repeat(_image(9)[..., None], 3, axis=-1)
    with CachingEngine(PaidFakeEngine(), ResultCache()) as engine:
        engine.outpaint(rgb, EXPAND)
        assert ResultCache().entries() == []  # waits for keep()
    (entry,) = ResultCache().entries()
    assert entry.provenance['engine'] == 'paid-fake'


def test_an_unwritable_cache_stops_a_paid_run_before_the_engine(tmp_path):
    """No home for the paid result: ConfigurationError, the engine unused,
    nothing reserved against the cap."""
    (tmp_path / 'file').write_text('x')
    engine = PaidFakeEngine()
    cap = SpendCap(5.0)
    cached = CachingEngine(
        engine, ResultCache(tmp_path / 'file' / 'cache'), spend_cap=cap
    )
    with pytest.raises(ConfigurationError, match='cannot be written'):
        cached.outpaint(np.zeros((8, 8, 3), np.uint8), Expand(10, 0, 0, 0))
    assert engine.calls == []
    assert cap.spent_usd == 0


def test_a_read_only_cache_stops_a_paid_run_before_the_engine(read_only_dir):
    """The cache on a read-only file system: the engine is never called."""
    engine = PaidFakeEngine()
    cap = SpendCap(5.0)
    cached = CachingEngine(engine, ResultCache(read_only_dir), spend_cap=cap)
    with pytest.raises(ConfigurationError, match='cannot be written'):
        cached.outpaint(np.zeros((8, 8, 3), np.uint8), Expand(10, 0, 0, 0))
    assert engine.calls == []
    assert cap.spent_usd == 0


def test_a_damaged_entry_is_never_paid_again_silently(tmp_path):
    """The first request after the damage is told (nothing paid); only a
    request made after that pays."""
    cache = ResultCache(tmp_path / 'cache')
    engine = PaidFakeEngine()
    cached = CachingEngine(engine, cache, spend_cap=SpendCap(None))
    image = np.zeros((8, 8, 3), np.uint8)
    cached.outpaint(image, Expand(10, 0, 0, 0))
    assert len(engine.calls) == 1
    (entry,) = cache.entries()
    entry.path.write_bytes(b'not the bytes that were stored')
    with pytest.raises(DamagedEntryError):
        cached.outpaint(image, Expand(10, 0, 0, 0))
    assert len(engine.calls) == 1
    cached.outpaint(image, Expand(10, 0, 0, 0))
    assert len(engine.calls) == 2


class _CollectingFakeEngine(PaidFakeEngine):
    """A paid fake that can also collect runs (like RunflowEngine)."""

    def __init__(self):
        super().__init__()
        self.collected = []

    def collect(self, run_id, *, progress=None, cancel=None):
        self.collected.append(run_id)
        raise AssertionError('no record names a run to collect here')


def test_a_damaged_journal_record_is_never_paid_again_silently(tmp_path):
    """A record of an earlier submission of this very request that cannot
    be read stops the request before paying; it is kept aside, and only a
    request made after being told pays."""
    cache = ResultCache(tmp_path / 'cache')
    engine = _CollectingFakeEngine()
    cached = CachingEngine(engine, cache, spend_cap=SpendCap(None))
    image = np.zeros((8, 8, 3), np.uint8)
    key = cache.key_for(image, EXPAND, cached.cache_namespace)
    cache.record_pending('run-submitted-earlier', key, {'plane': [0]})
    cache.journal._path('run-submitted-earlier').write_bytes(b'{"run_id"')
    with pytest.raises(DamagedRecordError) as caught:
        cached.outpaint(image, EXPAND)
    assert engine.calls == []
    assert engine.collected == []
    assert caught.value.aside[0].read_bytes() == b'{"run_id"'
    cached.outpaint(image, EXPAND)
    assert len(engine.calls) == 1


def test_a_submission_with_unknown_outcome_is_journaled_and_never_repaid(
    runflow_standin, tmp_path
):
    """Every create answer lost, the run search refused: the submission is
    journaled by its client_ref under the request's key, so the same
    request again collects that run instead of paying for a new one."""
    server = runflow_standin
    fast = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
    engine = RunflowEngine(
        server.api_key,
        base_url=server.base_url,
        verify=server.ca_path,
        poll_interval=0.05,
        client_options={'create_retry': fast, 'poll_retry': fast},
    )
    cache = ResultCache(tmp_path / 'cache')
    cached = CachingEngine(engine, cache, spend_cap=SpendCap(None))
    image = _image(shape=(16, 20, 3))
    server.set_run_search('refused')
    server.drop_connection_after_create(times=fast.max_attempts)
    with pytest.raises(SubmissionUnknownError) as info:
        cached.outpaint(image, EXPAND)
    (run,) = server.runs
    (pending,) = cache.pending()
    assert pending.run_id == f'client_ref:{info.value.client_ref}'
    server.set_run_search('both')
    result = cached.outpaint(image, EXPAND)
    assert result.run_id == run.id
    assert cached.last_source == 'collected'
    assert len(server.runs) == 1
    assert cache.pending() == []
