"""Run durations kept across sessions for the poller."""

import numpy as np

from napari_outpaint import Expand
from napari_outpaint._cache import ResultCache
from napari_outpaint._cache.cost import SpendCap
from napari_outpaint._cache.durations import DurationLog
from napari_outpaint._cache.engine import CachingEngine
from napari_outpaint.engines.runflow import RunflowEngine

EXPAND = Expand(top=10, bottom=0, left=0, right=0)


def _engine(server):
    return RunflowEngine(
        server.api_key,
        base_url=server.base_url,
        verify=server.ca_path,
        poll_interval=0.05,
    )


def test_a_new_session_starts_with_the_durations_of_past_runs(
    runflow_standin, tmp_path
):
    """One paid run writes its duration; the next session's engine is
    seeded with it before its first run, then learns its own."""
    server = runflow_standin
    cache = ResultCache(tmp_path / 'cache')
    first = CachingEngine(_engine(server), cache, spend_cap=SpendCap(None))
    first.outpaint(np.zeros((16, 20, 3), np.uint8), EXPAND)
    (seen,) = cache.run_durations.read(first.cache_namespace)
    assert 0 < seen < 5
    engine = _engine(server)
    second = CachingEngine(engine, cache, spend_cap=SpendCap(None))
    second.outpaint(np.ones((16, 20, 3), np.uint8), EXPAND)
    assert engine.run_durations.values()[0] == seen
    assert len(engine.run_durations.values()) == 2
    assert len(cache.run_durations.read(second.cache_namespace)) == 2


def test_a_cache_hit_adds_no_duration(runflow_standin, tmp_path):
    server = runflow_standin
    cache = ResultCache(tmp_path / 'cache')
    engine = CachingEngine(_engine(server), cache, spend_cap=SpendCap(None))
    image = np.zeros((16, 20, 3), np.uint8)
    engine.outpaint(image, EXPAND)
    engine.outpaint(image, EXPAND)
    assert len(cache.run_durations.read(engine.cache_namespace)) == 1


def test_a_damaged_log_starts_afresh_and_keeps_only_the_last(tmp_path):
    path = tmp_path / 'run-durations.json'
    path.write_text('{not json')
    log = DurationLog(path, keep=3)
    assert log.read('runflow/outpaint') == []
    for seconds in (1.0, 2.0, 3.0, 4.0):
        log.add('runflow/outpaint', seconds)
    assert log.read('runflow/outpaint') == [2.0, 3.0, 4.0]
    assert log.read('other') == []
