"""Batches over planes against the Runflow stand-in: one aligned nD result,
cost guard, cache reuse, resume, and finished planes kept on every stop."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from napari_outpaint._batch.outpaint import outpaint_planes
from napari_outpaint._batch.selection import planes_along, select_planes
from napari_outpaint._batch.state import RateGate
from napari_outpaint._cache.cost import SpendCap
from napari_outpaint._cache.key import cache_model_id
from napari_outpaint._cache.store import ResultCache
from napari_outpaint._errors import (
    BudgetError,
    InsufficientCreditError,
    InvalidInputError,
    OutpaintCancelled,
    RunFailedError,
)
from napari_outpaint._expand import Expand
from napari_outpaint._pipeline.array import outpaint_array
from napari_outpaint._progress import CancelToken, Stage
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


def _batch(stack, engine, **kw):
    kw.setdefault('confirm', True)
    kw.setdefault('cache', ResultCache())
    kw.setdefault('spend_cap', SpendCap())
    return outpaint_planes(stack, EXPAND, engine=engine, **kw)


def _statuses(result):
    return {o.plane: o.status for o in result.outcomes}


def test_4d_stack_is_assembled_into_one_aligned_result(
    stack, engine, runflow_standin
):
    """All planes of a 4D stack land in one array placed like one plane."""
    scale, translate = (2.0, 3.0, 0.5, 0.25), (10.0, -4.0, 7.0, 1.5)
    events = []
    result = _batch(
        stack,
        engine,
        scale=scale,
        translate=translate,
        contrast_limits=(0, 4000),
        progress=events.append,
    )
    pad = EXPAND.padding(*SHAPE[2:])
    rows, cols = EXPAND.canvas_shape(*SHAPE[2:])
    assert result.complete
    assert len(runflow_standin.runs) == 6
    assert result.data.shape == (2, 3, rows, cols)
    assert result.data.dtype == np.uint16
    assert result.filled.all()
    # Original pixels are back, unchanged, at the padded offset, per plane.
    inner = result.data[:, :, pad.top :, pad.left :]
    np.testing.assert_array_equal(inner, stack)
    # Placement: non-spatial axes as the original, spatial like one plane.
    single = outpaint_array(
        stack,
        EXPAND,
        engine=engine,
        plane=(1, 2),
        scale=scale,
        translate=translate,
        contrast_limits=(0, 4000),
    )
    assert result.scale == pytest.approx(scale)
    assert result.translate[:2] == pytest.approx(translate[:2])
    assert result.translate[2:] == pytest.approx(single.translate[2:])
    assert result.translate[2] == pytest.approx(7.0 - pad.top * 0.5)
    assert result.mask.shape == result.data.shape
    assert result.mask.strides[:2] == (0, 0)  # one shared mask, no copies
    assert result.mask[0, 0, 0, 0]
    assert not result.mask[1, 2, -1, -1]
    # Progress: per plane and overall, ending at 1.
    assert {e.plane for e in events if e.plane} == set(
        select_planes(SHAPE[:2])
    )
    assert events[-1].fraction == pytest.approx(1.0)
    assert events[-1].finished == 6
    kwargs = result.layer_kwargs()
    assert kwargs['metadata']['outpaint']['batch']['cost_usd'] == 3.3
    json.dumps(kwargs['metadata']['outpaint'])


def test_explicit_planes_cover_their_bounding_box(stack, engine):
    """A plane list gives the smallest box of planes, placed at its start."""
    result = _batch(
        stack,
        engine,
        planes=[(1, 0), (1, 2)],
        translate=(5.0, 1.0, 0.0, 0.0),
        scale=(2.0, 3.0, 1.0, 1.0),
    )
    assert result.data.shape[:2] == (1, 3)
    assert result.filled.tolist() == [[True, False, True]]
    assert result.translate[:2] == pytest.approx((5.0 + 2.0, 1.0))
    assert not result.data[0, 1].any()
    assert result.complete


def test_plane_selection_is_validated():
    """Bad plane lists are refused naming the field; helpers enumerate."""
    with pytest.raises(InvalidInputError, match='planes'):
        select_planes((2, 3), [(0, 3)])
    with pytest.raises(InvalidInputError, match='planes'):
        select_planes((2, 3), 'some')
    assert select_planes((3,), [2, 0, 2]) == [(2,), (0,)]
    assert planes_along((2, 3), 1, (1, 0)) == [(1, 0), (1, 1), (1, 2)]


def test_paid_batch_needs_confirmation_before_any_request(
    stack, engine, runflow_standin
):
    """Without approval nothing is sent and BudgetError shows the price."""
    asked = []
    with pytest.raises(BudgetError, match=r'6 planes x \$0.55 = \$3.30'):
        _batch(stack, engine, confirm=None)
    with pytest.raises(BudgetError, match='Not confirmed'):
        _batch(stack, engine, confirm=lambda est: asked.append(est) or False)
    assert asked[0].text == '6 planes x $0.55 = $3.30'
    assert runflow_standin.requests == []


def test_bad_input_raises_before_any_request(engine, runflow_standin):
    """Percentages that add no pixel are refused; nothing is sent."""
    data = np.zeros((2, 4, 5), np.uint8)
    with pytest.raises(InvalidInputError, match='expand'):
        outpaint_planes(data, Expand(1, 0, 0, 0), engine=engine, confirm=True)
    assert runflow_standin.requests == []


def test_resumed_batch_creates_no_run_for_cached_planes(
    stack, engine, runflow_standin
):
    """Planes finished earlier come from the cache: no new run, no cost."""
    _batch(stack, engine, planes=[(0, 0), (1, 1)])
    assert len(runflow_standin.runs) == 2
    estimates = []
    result = _batch(
        stack, engine, confirm=lambda e: estimates.append(e) or True
    )
    assert len(runflow_standin.runs) == 6
    assert estimates[0].n_cached == 2
    status = _statuses(result)
    assert status[(0, 0)] == status[(1, 1)] == 'cached'
    assert list(status.values()).count('done') == 4
    assert result.cost_usd == pytest.approx(4 * 0.55)
    assert result.provenance['planes']['0,0']['cached'] is True
    stored = [e.provenance for e in ResultCache().entries()]
    assert all('seam_score' in p for p in stored)  # the full record
    # the resumed batch is one batch: its cached planes joined it
    assert {p['batch_id'] for p in stored} == {
        result.provenance['batch']['id']
    }


def test_every_plane_of_a_batch_records_one_batch_id(
    stack, engine, runflow_standin
):
    """Each plane's cache entry (and the batch's provenance) names the
    batch's one id and its number of planes; another batch has another."""
    first = _batch(stack[:1], engine)
    batch_id = first.provenance['batch']['id']
    assert isinstance(batch_id, str)
    assert len(batch_id) == 16
    stored = [e.provenance for e in ResultCache().entries()]
    assert len(stored) == 3
    assert {p['batch_id'] for p in stored} == {batch_id}
    assert {p['batch_planes'] for p in stored} == {3}
    assert sorted(tuple(p['plane']) for p in stored) == [
        (0, 0),
        (0, 1),
        (0, 2),
    ]
    second = _batch(stack[1:], engine)
    assert second.provenance['batch']['id'] != batch_id


def test_identical_planes_are_paid_once(engine, runflow_standin):
    """Two planes with the same pixels make one run, even concurrently."""
    plane = np.random.default_rng(1).integers(0, 255, (8, 8), np.uint8)
    data = np.stack([plane, plane, plane])
    result = _batch(data, engine, concurrency=3)
    assert len(runflow_standin.runs) == 1
    assert sorted(_statuses(result).values()) == ['cached', 'cached', 'done']


def test_mid_batch_402_stops_new_runs_and_keeps_finished_planes(
    stack, engine, runflow_standin
):
    """After a 402 no run is created; finished planes stay, with advice."""

    def on_progress(event):
        if event.plane and event.finished == 2:
            runflow_standin.reject_creates(
                status=402, code='INSUFFICIENT_CREDIT', times=10
            )

    result = _batch(stack, engine, concurrency=1, progress=on_progress)
    assert len(runflow_standin.runs) == 2
    assert isinstance(result.stopped_by, InsufficientCreditError)
    assert 'Top up' in result.summary()
    assert [o.status for o in result.outcomes] == ['done'] * 2 + [
        'not run'
    ] * 4
    assert result.filled.sum() == 2
    assert result.data[0, 0].any()
    assert result.data[0, 1].any()
    assert not result.data[1].any()


def test_mid_batch_failure_is_reported_and_the_rest_finishes(
    stack, engine, runflow_standin
):
    """One failed run fails one plane; the others finish and are kept."""
    runflow_standin.fail_next_run(failure_code='PROVIDER_ERROR')
    cache = ResultCache()
    result = _batch(stack, engine, concurrency=1, cache=cache)
    failed = [o for o in result.outcomes if o.status == 'failed']
    assert len(failed) == 1
    assert isinstance(failed[0].error, RunFailedError)
    assert failed[0].run_id == runflow_standin.runs[0].id
    assert result.filled.sum() == 5
    assert result.stopped_by is None
    assert 'PROVIDER_ERROR' in result.summary()
    assert cache.pending() == []  # failed runs are not billed: forgotten
    assert result.cost_usd == pytest.approx(5 * 0.55)


def test_cancel_keeps_finished_planes_and_leaves_no_worker(stack, engine):
    """A cancel stops the batch; finished planes and no threads remain."""
    cancel = CancelToken()

    def on_progress(event):
        if event.plane and event.finished == 2:
            cancel.cancel()

    result = _batch(
        stack, engine, concurrency=1, cancel=cancel, progress=on_progress
    )
    assert isinstance(result.stopped_by, OutpaintCancelled)
    assert result.filled.sum() == 2
    assert [o.status for o in result.outcomes][2:] == ['not run'] * 4
    assert not [
        t for t in threading.enumerate() if t.name.startswith('outpaint')
    ]


def test_interrupt_stops_every_worker_and_releases_every_upload(
    stack, engine, runflow_standin
):
    """A KeyboardInterrupt ends the batch; no thread stays, and each
    upload is deleted or held (recorded) until its run has read it."""
    interrupted = []

    def interrupt(report):
        ev = report.event
        if ev is not None and ev.stage == Stage.QUEUED:
            interrupted.append(ev.run_id)
            raise KeyboardInterrupt

    cache = ResultCache()
    with pytest.raises(KeyboardInterrupt):
        _batch(stack, engine, cache=cache, concurrency=3, progress=interrupt)
    assert not [
        t for t in threading.enumerate() if t.name.startswith('outpaint')
    ]
    assets = list(runflow_standin.assets.values())
    assert assets
    run_ids = {r.id for r in runflow_standin.runs}
    assert {p.run_id for p in cache.pending()} == run_ids  # collectable
    assert len(run_ids) < 6
    # a stored upload is deleted, or kept (recorded) for its run; one
    # stopped before its confirmation was never stored as an asset
    held = {h.asset_id: h.run_id for h in cache.held_inputs.held()}
    assert interrupted  # a run was queued when the interrupt came
    assert set(held.values()) <= run_ids
    stored = [a for a in assets if a.confirmed]
    assert all(a.deleted or a.id in held for a in stored), [
        (a.deleted, a.id in held) for a in stored
    ]
    for run in runflow_standin.runs:  # no input went before its run read it
        assert run.wait_terminal(10)
        assert run.status == 'succeeded', run.failure_code


def test_run_of_a_crashed_process_is_collected_on_resume(
    stack, engine, runflow_standin, tmp_path
):
    """A process that dies after submitting loses nothing and pays once."""
    np.save(tmp_path / 'stack.npy', stack)
    script = textwrap.dedent(
        f"""
        import os
        import numpy as np
        from napari_outpaint._batch.outpaint import outpaint_planes
        from napari_outpaint._expand import Expand
        from napari_outpaint.engines.runflow import RunflowEngine

        def crash(report):
            ev = report.event
            if ev is not None and ev.run_id:
                os._exit(3)  # no cleanup at all, like a power cut

        engine = RunflowEngine(base_url={runflow_standin.base_url!r},
                               api_key='test-key',
                               verify={runflow_standin.ca_path!r})
        data = np.load({str(tmp_path / 'stack.npy')!r})
        outpaint_planes(data, Expand(**{EXPAND.as_dict()!r}),
                        engine=engine, planes=[(0, 0)], confirm=True,
                        progress=crash)
        """
    )
    child = subprocess.run([sys.executable, '-c', script], timeout=120)
    assert child.returncode == 3
    cache = ResultCache()
    assert [p.run_id for p in cache.pending()] == [runflow_standin.runs[0].id]
    estimates = []
    again = _batch(
        stack,
        engine,
        planes=[(0, 0)],
        cache=cache,
        confirm=lambda e: estimates.append(e) or True,
    )
    assert estimates == []  # nothing new to pay: no question asked
    assert again.outcomes[0].status == 'collected'
    assert len(runflow_standin.runs) == 1
    assert cache.pending() == []
    assert again.data.any()


def test_spend_cap_stops_new_runs_once_reached(stack, engine, runflow_standin):
    """A $1.10 cap allows two $0.55 runs, then stops with BudgetError."""
    cap = SpendCap(limit_usd=1.10)
    result = _batch(stack, engine, concurrency=1, spend_cap=cap)
    assert len(runflow_standin.runs) == 2
    assert isinstance(result.stopped_by, BudgetError)
    assert cap.spent_usd == pytest.approx(1.10)
    assert result.filled.sum() == 2


def test_rate_limit_closes_the_gate_for_every_worker(stack, runflow_standin):
    """A 429 with Retry-After holds back all workers, then all finish."""
    from napari_outpaint._runflow.retry import RetryPolicy

    engine = RunflowEngine(
        base_url=runflow_standin.base_url,
        api_key='test-key',
        verify=runflow_standin.ca_path,
        client_options={'create_retry': RetryPolicy(max_attempts=1)},
    )
    runflow_standin.reject_creates(status=429, times=2, retry_after=0.3)
    started = time.monotonic()
    result = _batch(stack, engine, planes=[(0, 0), (0, 1)], concurrency=2)
    assert result.complete
    first_run = min(r.created_monotonic for r in runflow_standin.runs)
    assert first_run - started >= 0.3


def test_rate_gate_waits_and_honours_cancel():
    """The gate blocks until its deadline and a cancel ends the wait."""
    gate = RateGate()
    cancel = CancelToken()
    gate.close_for(0.05)
    t0 = time.monotonic()
    gate.wait(cancel)
    assert time.monotonic() - t0 >= 0.05
    gate.close_for(30)
    cancel.cancel()
    with pytest.raises(OutpaintCancelled):
        gate.wait(cancel)


def test_batch_results_survive_a_process_restart(
    stack, engine, runflow_standin, tmp_path
):
    """A batch run by another process is answered here from the cache."""
    np.save(tmp_path / 'stack.npy', stack)
    script = textwrap.dedent(
        f"""
        import numpy as np
        from napari_outpaint._batch.outpaint import outpaint_planes
        from napari_outpaint._expand import Expand
        from napari_outpaint.engines.runflow import RunflowEngine
        engine = RunflowEngine(base_url={runflow_standin.base_url!r},
                               api_key='test-key',
                               verify={runflow_standin.ca_path!r})
        data = np.load({str(tmp_path / 'stack.npy')!r})
        r = outpaint_planes(data, Expand(**{EXPAND.as_dict()!r}),
                            engine=engine, planes=[(0, 1), (1, 2)],
                            confirm=True)
        assert r.complete, r.summary()
        """
    )
    subprocess.run([sys.executable, '-c', script], check=True, timeout=120)
    assert len(runflow_standin.runs) == 2
    result = _batch(stack, engine, planes=[(0, 1), (1, 2)], confirm=None)
    assert len(runflow_standin.runs) == 2
    assert {o.status for o in result.outcomes} == {'cached'}
    assert result.estimate.n_cached == 2


def test_caching_engine_journals_before_polling_and_stores_before_return(
    engine, runflow_standin
):
    """The run id is journalled at QUEUED; the result is on disk on return."""
    from napari_outpaint._cache.engine import CachingEngine

    cache = ResultCache()
    wrapped = CachingEngine(engine, cache, info={'plane': [3]})
    rgb = np.random.default_rng(3).integers(0, 255, (8, 9, 3), np.uint8)
    seen_pending = []

    def on_progress(event):
        if event.stage == Stage.QUEUED and event.run_id:
            seen_pending.append([p.run_id for p in cache.pending()])

    result = wrapped.outpaint(rgb, EXPAND, progress=on_progress)
    run_id = runflow_standin.runs[0].id
    assert seen_pending[0] == [run_id]
    entry = cache.get(cache.key_for(rgb, EXPAND, cache_model_id(engine)))
    assert entry is not None
    assert entry.raw == result.raw
    assert entry.provenance['plane'] == [3]
    assert entry.provenance['run_id'] == run_id
    assert cache.pending() == []
    again = wrapped.outpaint(rgb, EXPAND)
    assert again.details['cached'] is True
    assert again.cost_usd == 0.0
    assert len(runflow_standin.runs) == 1


def test_planes_of_another_size_are_resampled_to_the_first_grid():
    """A plane returned at another resolution joins the first's grid."""
    from types import SimpleNamespace

    from napari_outpaint._batch.assembly import Assembly as _Assembly

    def fake(data):
        mask = np.zeros(data.shape, bool)
        mask[:, 0] = True
        return SimpleNamespace(
            data=data[None],
            mask=mask[None],
            scale=(1.0, 0.5, 0.5),
            translate=(0.0, -1.0, -1.0),
            affine=None,
            layer_kwargs=dict,
        )

    assembly = _Assembly(origin=(0,), lead_shape=(2,))
    small = np.full((4, 6), 1000, np.uint16)
    big = np.full((8, 12), 3000, np.uint16)
    assembly.add((0,), fake(small), 1)
    assembly.add((1,), fake(big), 1)
    assert assembly.data.shape == (2, 4, 6)
    assert (assembly.data[1] == 3000).all()
    assert assembly.mask().shape == (2, 4, 6)
    assert assembly.first[0] == (1.0, 0.5, 0.5)


# -- one spend cap for single runs and batches; the concurrency setting ------


@pytest.fixture
def fresh_session_cap(monkeypatch):
    """A new session spend cap for this test; the previous one comes back."""
    from napari_outpaint._cache import cost as _cost

    monkeypatch.delenv(_cost.SPEND_CAP_ENV, raising=False)
    monkeypatch.setattr(_cost, '_SESSION_CAP', None)
    return monkeypatch


def test_single_runs_and_batches_share_the_session_cap(
    stack, engine, runflow_standin, fresh_session_cap
):
    """A single run's spend counts against the cap a later batch obeys."""
    from napari_outpaint._cache.cost import session_spend_cap

    session_spend_cap().limit_usd = 1.10
    limits = (0, 4000)
    outpaint_array(stack, EXPAND, engine=engine, plane=(0, 0),
                   contrast_limits=limits)  # fmt: skip
    assert session_spend_cap().spent_usd == pytest.approx(0.55)
    result = outpaint_planes(
        stack, EXPAND, engine=engine, confirm=True, concurrency=1,
        contrast_limits=limits,
    )  # fmt: skip
    assert len(runflow_standin.runs) == 2  # the single run + one plane
    assert _statuses(result)[(0, 0)] == 'cached'  # free under the cap
    assert isinstance(result.stopped_by, BudgetError)
    assert '--spend-cap' in str(result.stopped_by)
    assert result.filled.sum() == 2
    assert session_spend_cap().spent_usd == pytest.approx(1.10)


def test_concurrency_env_sets_the_default(monkeypatch):
    """NAPARI_OUTPAINT_CONCURRENCY sets the workers of a batch."""
    from fakes import FakeEngine
    from napari_outpaint._batch import outpaint as _batch

    sizes = []

    class Pool(_batch.ThreadPoolExecutor):
        def __init__(self, workers, **kw):
            sizes.append(workers)
            super().__init__(workers, **kw)

    monkeypatch.setattr(_batch, 'ThreadPoolExecutor', Pool)
    monkeypatch.delenv(_batch.CONCURRENCY_ENV, raising=False)
    assert _batch.default_concurrency() == _batch.DEFAULT_CONCURRENCY
    monkeypatch.setenv(_batch.CONCURRENCY_ENV, '2')
    data = np.random.default_rng(1).integers(0, 255, (3, 10, 12), np.uint8)
    result = outpaint_planes(data, EXPAND, engine=FakeEngine())
    assert result.complete
    assert sizes == [2]
    outpaint_planes(data, EXPAND, engine=FakeEngine(), concurrency=32)
    assert sizes == [2, 32]


@pytest.mark.parametrize(
    ('in_flight', 'env', 'expected'),
    [(None, '', 4), (2, '', 4), (10, '', 10), (100, '', 32), (10, '3', 3)],
)
def test_an_engine_on_a_cluster_raises_the_default_concurrency(
    monkeypatch, in_flight, env, expected
):
    """An engine that can use more planes at once (the local engine on a
    Dask cluster: its threads) gets them, up to 32, unless the variable
    says otherwise; the batch's pool has that many workers."""
    from fakes import FakeEngine
    from napari_outpaint._batch import outpaint as _batch

    class ClusterEngine(FakeEngine):
        def planes_in_flight(self):
            return in_flight

    sizes = []

    class Pool(_batch.ThreadPoolExecutor):
        def __init__(self, workers, **kw):
            sizes.append(workers)
            super().__init__(workers, **kw)

    monkeypatch.setattr(_batch, 'ThreadPoolExecutor', Pool)
    monkeypatch.setenv(_batch.CONCURRENCY_ENV, env)
    data = np.zeros((2, 8, 8), np.uint8)
    assert outpaint_planes(data, EXPAND, engine=ClusterEngine()).complete
    assert sizes == [expected]


@pytest.mark.parametrize('value', ['0', '33', 'four'])
def test_bad_concurrency_env_is_refused_naming_it(monkeypatch, value):
    """A bad NAPARI_OUTPAINT_CONCURRENCY is a ConfigurationError, unsent."""
    from fakes import FakeEngine
    from napari_outpaint._batch.outpaint import CONCURRENCY_ENV
    from napari_outpaint._errors import ConfigurationError

    monkeypatch.setenv(CONCURRENCY_ENV, value)
    engine = FakeEngine()
    with pytest.raises(ConfigurationError, match=CONCURRENCY_ENV):
        outpaint_planes(np.zeros((2, 8, 8), np.uint8), EXPAND, engine=engine)
    assert engine.calls == []
    with pytest.raises(InvalidInputError, match='concurrency'):
        outpaint_planes(np.zeros((2, 8, 8), np.uint8), EXPAND,
                        engine=engine, concurrency=33)  # fmt: skip


def test_planes_cached_at_another_endpoint_are_not_free(
    stack, engine, runflow_standin
):
    """A batch at another endpoint counts and pays every plane itself."""
    from napari_outpaint.testing import RunflowStandIn

    planes = [(0, 0), (1, 2)]
    _batch(stack, engine, planes=planes)
    assert len(runflow_standin.runs) == 2
    with RunflowStandIn(
        api_key='test-key', processing_delay=0.05, queue_delay=0.0
    ) as other:
        elsewhere = RunflowEngine(
            base_url=other.base_url, api_key='test-key', verify=other.ca_path
        )
        estimates = []
        result = _batch(
            stack,
            elsewhere,
            planes=planes,
            confirm=lambda e: estimates.append(e) or True,
        )
        assert estimates[0].n_cached == 0
        assert len(other.runs) == 2
    assert set(_statuses(result).values()) == {'done'}
    assert len(runflow_standin.runs) == 2
    again = _batch(stack, engine, planes=planes)
    assert set(_statuses(again).values()) == {'cached'}


# -- a batch validates and converts its source once ----------------------


def test_a_batch_validates_its_source_once_and_converts_each_plane_once(
    monkeypatch,
):
    """One validation for the whole batch; one 8-bit view per plane."""
    from fakes import PaidFakeEngine
    from napari_outpaint._batch import price as price_module
    from napari_outpaint._pipeline import plane as plane_module
    from napari_outpaint._pipeline import source as source_module

    counts = {'check_data': 0, 'to_rgb8': 0}

    def counting(name, real):
        def wrapper(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        source_module,
        'check_data',
        counting('check_data', source_module.check_data),
    )
    for module in (plane_module, price_module):
        monkeypatch.setattr(
            module, 'to_rgb8', counting('to_rgb8', module.to_rgb8)
        )
    stack = np.random.default_rng(1).integers(0, 4000, (4, 10, 12), np.uint16)
    result = outpaint_planes(
        stack,
        EXPAND,
        engine=PaidFakeEngine(),
        confirm=True,
        cache=ResultCache(),
        spend_cap=SpendCap(),
    )
    assert result.complete
    assert counts == {'check_data': 1, 'to_rgb8': 4}  # empty cache: no count
