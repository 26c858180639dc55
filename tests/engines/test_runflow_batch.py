"""Runflow's batch route against the stand-in: one batch create for a
batch of planes, one id polled, and the cost guard, cache, journal and
resume exactly as for single runs."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter

import numpy as np
import pytest

from napari_outpaint._batch.outpaint import (
    DEFAULT_CONCURRENCY,
    outpaint_planes,
)
from napari_outpaint._cache.cost import SpendCap
from napari_outpaint._cache.engine import collect_run
from napari_outpaint._cache.store import ResultCache
from napari_outpaint._errors import (
    BudgetError,
    ConfigurationError,
    InvalidInputError,
    OutpaintCancelled,
    RunFailedError,
)
from napari_outpaint._expand import Expand
from napari_outpaint._pipeline.array import outpaint_array
from napari_outpaint._progress import CancelToken, Stage
from napari_outpaint.engines.runflow import RunflowEngine
from napari_outpaint.engines.runflow_batch import (
    BATCH_ROUTE_ENV,
    BATCH_ROUTE_IN_FLIGHT,
)

EXPAND = Expand(top=20, bottom=0, left=25, right=0)
BATCHES = '/v1/models/runflow/outpaint/batches'
RUNS = '/v1/models/runflow/outpaint/runs'
LIMITS = (0, 4000)


def _engine(standin, route='auto', linger=5.0):
    engine = RunflowEngine(
        base_url=standin.base_url,
        api_key='test-key',
        verify=standin.ca_path,
        batch_route=route,
    )
    # a group is sent as soon as every expected plane joined it; a long
    # linger only keeps a slow machine from splitting it in two
    engine.batch_route.linger = linger
    return engine


@pytest.fixture
def stack():
    """Four distinct 12 x 10 uint16 planes."""
    rng = np.random.default_rng(11)
    return rng.integers(0, 4000, (4, 12, 10), dtype=np.uint16)


def _batch(stack, engine, **kw):
    kw.setdefault('confirm', True)
    kw.setdefault('cache', ResultCache())
    kw.setdefault('spend_cap', SpendCap())
    kw.setdefault('contrast_limits', LIMITS)
    return outpaint_planes(stack, EXPAND, engine=engine, **kw)


def _requests(standin) -> Counter:
    """(method, route) of every API request the stand-in saw."""
    seen = Counter()
    for request in standin.requests:
        path = request.path
        if path.startswith('/v1/batches/'):
            path = '/v1/batches/{id}' + ('/items' * path.endswith('/items'))
        elif path.startswith('/v1/runs/'):
            path = '/v1/runs/{id}'
        seen[(request.method, path)] += 1
    return seen


def test_four_planes_are_one_batch_create_and_four_runs(
    stack, runflow_standin, tmp_path
):
    """One POST /batches, four runs, one id polled; no single-run create,
    and the result is placed exactly as the same planes by single runs."""
    engine = _engine(runflow_standin)
    batched = _batch(stack, engine)
    assert [o.status for o in batched.outcomes] == ['done'] * 4
    assert len(runflow_standin.batches) == 1
    assert len(runflow_standin.runs) == 4
    batch_id = runflow_standin.batches[0].id
    assert {r.batch_id for r in runflow_standin.runs} == {batch_id}
    seen = _requests(runflow_standin)
    assert seen[('POST', BATCHES)] == 1
    assert seen[('POST', RUNS)] == 0
    polls = seen[('GET', '/v1/batches/{id}')]
    assert polls >= 1
    # the outputs of the items that are over: one listing for all of them
    assert 1 <= seen[('GET', '/v1/batches/{id}/items')] <= polls
    assert seen[('GET', '/v1/runs/{id}')] == 0
    assert engine.batch_route.supported is True
    assert batched.cost_usd == pytest.approx(4 * 0.55)

    single = _batch(
        stack,
        _engine(runflow_standin, route='off'),
        cache=ResultCache(tmp_path / 'other-cache'),
    )
    assert len(runflow_standin.batches) == 1  # 'off': single runs
    assert _requests(runflow_standin)[('POST', RUNS)] == 4
    np.testing.assert_array_equal(batched.data, single.data)
    np.testing.assert_array_equal(batched.mask, single.mask)
    assert batched.scale == single.scale
    assert batched.translate == single.translate


def test_without_the_items_listing_each_run_is_read_once(
    stack, runflow_standin
):
    """When the items are not listed, each call reads its run once, when
    the batch says it is over."""
    engine = _engine(runflow_standin)
    engine.batch_route.items_route = False
    result = _batch(stack, engine)
    assert [o.status for o in result.outcomes] == ['done'] * 4
    seen = _requests(runflow_standin)
    assert seen[('GET', '/v1/batches/{id}/items')] == 0
    assert seen[('GET', '/v1/runs/{id}')] == 4


def test_a_rerun_and_a_later_single_run_pay_nothing(stack, runflow_standin):
    """Each plane is cached under a single run's key: re-running the
    batch, or outpainting one plane alone, creates no batch and no run."""
    engine = _engine(runflow_standin)
    _batch(stack, engine)
    again = _batch(stack, engine)
    assert [o.status for o in again.outcomes] == ['cached'] * 4
    alone = outpaint_array(
        stack,
        EXPAND,
        engine=_engine(runflow_standin, route='off'),
        plane=(2,),
        contrast_limits=LIMITS,
    )
    assert alone.engine_result.details['cached'] is True
    assert alone.engine_result.cost_usd == 0.0
    assert len(runflow_standin.batches) == 1
    assert len(runflow_standin.runs) == 4


def test_422_falls_back_to_single_runs_once_per_engine(stack, runflow_standin):
    """A model without batches: one 422 for the engine's life, then every
    plane of this batch and the next as single runs."""
    runflow_standin.set_batch_support(False)
    engine = _engine(runflow_standin)
    first = _batch(stack, engine)
    assert [o.status for o in first.outcomes] == ['done'] * 4
    assert engine.batch_route.supported is False
    assert engine.batch_route.in_flight is None  # the batch's default
    second = _batch(stack[::-1] + 1, engine)
    assert [o.status for o in second.outcomes] == ['done'] * 4
    seen = _requests(runflow_standin)
    assert seen[('POST', BATCHES)] == 1
    assert seen[('POST', RUNS)] == 8
    assert runflow_standin.batches == []
    assert all(r.batch_id is None for r in runflow_standin.runs)


def test_the_spend_cap_counts_every_item(stack, runflow_standin):
    """A cap for two runs: two items are sent (one batch of two), the
    third plane stops the batch, and the cap has spent exactly two."""
    cap = SpendCap(1.10)
    engine = _engine(runflow_standin, linger=0.5)
    result = _batch(stack, engine, spend_cap=cap, concurrency=4)
    assert isinstance(result.stopped_by, BudgetError)
    assert Counter(o.status for o in result.outcomes)['done'] == 2
    assert len(runflow_standin.runs) == 2
    assert [len(b.run_ids) for b in runflow_standin.batches] == [2]
    assert cap.spent_usd == pytest.approx(1.10)


def test_cancel_mid_poll_journals_every_item_and_a_rerun_collects_them(
    stack, runflow_standin
):
    """Every item's run id is journalled before the batch's first poll; a
    cancel while polling keeps them (and their inputs) for collect, and a
    re-run collects them without paying again."""
    runflow_standin.set_delays(processing_delay=1.0)
    cache = ResultCache()
    cancel = CancelToken()
    queued: list[str] = []
    journalled_at: list[float] = []
    lock = threading.Lock()

    def on_progress(report):
        event = report.event
        if event is None or event.stage != Stage.QUEUED or not event.run_id:
            return
        with lock:
            queued.append(event.run_id)
            if len(queued) == 4:  # the journal has all four by now
                journalled_at.append(time.monotonic())
                assert {p.run_id for p in cache.pending()} == set(queued)
                cancel.cancel()

    engine = _engine(runflow_standin)
    result = _batch(
        stack, engine, cache=cache, cancel=cancel, progress=on_progress
    )
    assert isinstance(result.stopped_by, OutpaintCancelled)
    assert [o.status for o in result.outcomes] == ['cancelled'] * 4
    run_ids = {r.id for r in runflow_standin.runs}
    assert {p.run_id for p in cache.pending()} == run_ids
    polls = [
        r.received_monotonic
        for r in runflow_standin.requests
        if r.path.startswith('/v1/batches/')
    ]
    assert journalled_at
    assert all(t > journalled_at[0] for t in polls)
    held = {h.run_id for h in cache.held_inputs.held()}
    assert held == run_ids  # each input kept until its run read it

    for run in runflow_standin.runs:
        assert run.wait_terminal(10)
    one = runflow_standin.runs[0].id
    collect_run(one, engine=_engine(runflow_standin), cache=cache)
    resumed = _batch(stack, _engine(runflow_standin), cache=cache)
    statuses = Counter(o.status for o in resumed.outcomes)
    assert statuses == {'collected': 3, 'cached': 1}
    assert len(runflow_standin.runs) == 4
    assert len(runflow_standin.batches) == 1
    assert cache.pending() == []
    assert resumed.cost_usd == 0.0
    stored = [a for a in runflow_standin.assets.values() if a.confirmed]
    assert all(a.deleted for a in stored)


def test_a_failed_item_does_not_stop_the_others(stack, runflow_standin):
    """The first item fails: that plane is failed (naming its run), the
    batch ends partial_succeeded, the other three are done."""
    runflow_standin.fail_next_run(failure_code='PROVIDER_ERROR')
    cache = ResultCache()
    result = _batch(stack, _engine(runflow_standin), cache=cache)
    failed = [o for o in result.outcomes if o.status == 'failed']
    assert len(failed) == 1
    assert isinstance(failed[0].error, RunFailedError)
    assert failed[0].run_id == runflow_standin.runs[0].id
    assert Counter(o.status for o in result.outcomes)['done'] == 3
    assert result.stopped_by is None
    assert cache.pending() == []  # a failed run is not billed: forgotten
    assert len(runflow_standin.batches) == 1
    # a failure is read from the run itself (its documented fields)
    assert _requests(runflow_standin)[('GET', '/v1/runs/{id}')] == 1


def test_a_lost_batch_answer_is_sent_again_without_a_second_batch(
    stack, runflow_standin
):
    """The connection drops after the batch was made: the same request
    (same Idempotency-Key) is sent again and gets the same batch."""
    runflow_standin.drop_connection_after_create(1)
    result = _batch(stack, _engine(runflow_standin))
    assert [o.status for o in result.outcomes] == ['done'] * 4
    assert _requests(runflow_standin)[('POST', BATCHES)] == 2
    assert len(runflow_standin.batches) == 1
    assert len(runflow_standin.runs) == 4


def test_one_plane_or_a_call_outside_a_batch_is_a_single_run(
    stack, runflow_standin
):
    """The route groups only a batch's runs, and a group of one is a
    single run: no batch for one plane."""
    engine = _engine(runflow_standin, linger=0.2)
    outpaint_array(stack, EXPAND, engine=engine, plane=(0,))
    _batch(stack[1:2], engine)
    assert runflow_standin.batches == []
    assert _requests(runflow_standin)[('POST', RUNS)] == 2


def test_the_route_keeps_more_planes_in_flight(runflow_standin):
    """With the route on, a batch given no concurrency keeps
    BATCH_ROUTE_IN_FLIGHT planes in flight (one create carries them)."""
    assert _engine(runflow_standin).batch_route.in_flight == (
        BATCH_ROUTE_IN_FLIGHT
    )
    assert BATCH_ROUTE_IN_FLIGHT > DEFAULT_CONCURRENCY
    assert _engine(runflow_standin, route='off').batch_route.in_flight is None


def test_mode_comes_from_the_argument_then_the_environment(
    runflow_standin, monkeypatch
):
    """Default off; NAPARI_OUTPAINT_BATCH_ROUTE=auto turns it on; a bad
    value is refused naming the variable or the argument."""

    def build(**kw):
        return RunflowEngine(
            base_url=runflow_standin.base_url, api_key='test-key', **kw
        )

    assert build().batch_route.mode == 'off'
    monkeypatch.setenv(BATCH_ROUTE_ENV, ' AUTO ')
    assert build().batch_route.mode == 'auto'
    assert build(batch_route='off').batch_route.mode == 'off'
    monkeypatch.setenv(BATCH_ROUTE_ENV, 'yes')
    with pytest.raises(ConfigurationError, match=BATCH_ROUTE_ENV):
        build()
    with pytest.raises(InvalidInputError, match='batch_route'):
        build(batch_route='on')
    assert runflow_standin.requests == []


def test_a_poll_failure_fails_each_plane_with_its_own_error(
    stack, runflow_standin
):
    """The batch cannot be read: every plane fails with its own copy of
    the error (naming its own kept input), and its run stays journalled
    with its input held for collect."""
    from napari_outpaint._errors import APIStatusError
    from napari_outpaint.engines.runflow import HOSTED_INPUT_ATTRIBUTE

    runflow_standin.set_delays(processing_delay=1.0)
    engine = _engine(runflow_standin)
    cache = ResultCache()
    original = engine._client

    def break_batch_reads():  # every GET /v1/batches/{id} answers 404
        def refuse(*args, **kwargs):
            raise APIStatusError(404, code='BATCH_NOT_FOUND')

        with original() as client:
            client.get_batch = refuse  # what iter_batch reads
            yield client

    engine.batch_route._open_client = contextlib.contextmanager(
        break_batch_reads
    )
    result = _batch(stack, engine, cache=cache)
    errors = [o.error for o in result.outcomes]
    assert all(isinstance(e, APIStatusError) for e in errors)
    assert len({id(e) for e in errors}) == 4
    kept = [getattr(e, HOSTED_INPUT_ATTRIBUTE) for e in errors]
    assert sorted(k['run_id'] for k in kept) == sorted(
        r.id for r in runflow_standin.runs
    )
    assert len({k['asset_id'] for k in kept}) == 4
    assert {p.run_id for p in cache.pending()} == {
        r.id for r in runflow_standin.runs
    }


def test_each_plane_keeps_its_own_deadline(stack, runflow_standin):
    """Runs longer than the engine's timeout: every plane times out
    naming its own run, which stays journalled for collect."""
    from napari_outpaint._errors import RunTimeoutError

    runflow_standin.set_delays(processing_delay=5.0)
    engine = RunflowEngine(
        base_url=runflow_standin.base_url,
        api_key='test-key',
        verify=runflow_standin.ca_path,
        batch_route='auto',
        timeout=1.5,
    )
    engine.batch_route.linger = 5.0
    cache = ResultCache()
    result = _batch(stack, engine, cache=cache)
    errors = [o.error for o in result.outcomes]
    assert all(isinstance(e, RunTimeoutError) for e in errors), errors
    run_ids = {r.id for r in runflow_standin.runs}
    assert {e.run_id for e in errors} == run_ids
    assert {p.run_id for p in cache.pending()} == run_ids
    assert len(runflow_standin.batches) == 1


def test_the_guides_short_create_answer_is_completed_by_one_read(
    stack, runflow_standin, monkeypatch
):
    """A create answered ``{id, status_code, items_total}`` only (the
    batch guide's example): the batch is read once for the run ids."""
    from napari_outpaint.testing import _batches

    full_json = _batches.batch_json
    answers = []

    def short_first(batch, runs, now):
        answer = full_json(batch, runs, now)
        answers.append(answer)
        if len(answers) == 1:
            return {k: answer[k] for k in ('id', 'status_code', 'items_total')}
        return answer

    monkeypatch.setattr(_batches, 'batch_json', short_first)
    result = _batch(stack, _engine(runflow_standin))
    assert [o.status for o in result.outcomes] == ['done'] * 4
    assert len(runflow_standin.batches) == 1
    assert {o.run_id for o in result.outcomes} == {
        r.id for r in runflow_standin.runs
    }


def test_a_concurrency_someone_chose_is_kept(stack, runflow_standin):
    """The settings file's concurrency (2) is not raised by the route:
    two planes in flight, so the four planes go as two batches of two."""
    import os
    from pathlib import Path

    config = Path(os.environ['NAPARI_OUTPAINT_CONFIG'])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('concurrency = 2\n')
    result = _batch(stack, _engine(runflow_standin))
    assert [o.status for o in result.outcomes] == ['done'] * 4
    assert [len(b.run_ids) for b in runflow_standin.batches] == [2, 2]
