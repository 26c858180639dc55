"""``napari-outpaint history``: list, export and clear the result cache.

What this file checks
---------------------
- An empty cache says so and exits 0.
- A cached result is listed (text and ``--json``) with its run id,
  exported with ``--export KEY -o FILE``, and removed by ``--clear``.
"""

from __future__ import annotations

import json
import time

import numpy as np
from PIL import Image

from cli_runner import run
from napari_outpaint._cache.engine import store_result
from napari_outpaint._cache.store import ResultCache
from napari_outpaint._expand import Expand
from napari_outpaint.engines import INPUT_LEFT, EngineResult


def test_history_empty_cache():
    """history on an empty cache exits 0 and says where it looked."""
    ran = run('history')
    assert ran.code == 0
    assert 'no cached results' in ran.err


def test_history_lists_and_exports_a_cached_result(tmp_path):
    """A cached result is listed with its run id and can be exported."""

    image = np.full((12, 16, 3), 77, np.uint8)
    result = EngineResult(
        image=image, engine='runflow', model='runflow/outpaint',
        run_id='run_abc', cost_usd=0.55,
    )  # fmt: skip
    expand = Expand(10, 0, 0, 0)
    cache = ResultCache()
    key = cache.key_for(image, expand, 'runflow/outpaint')
    store_result(cache, key, result, expand)

    ran = run('history')
    assert ran.code == 0
    assert key[:12] in ran.out
    assert 'run_abc' in ran.out

    listed = [
        json.loads(line)
        for line in run('history', '--json').out.split('\n')
        if line
    ]  # noqa: E501
    assert listed[0]['key'] == key
    assert listed[0]['provenance']['run_id'] == 'run_abc'

    out = tmp_path / 'exported.png'
    ran = run('history', '--export', key[:10], '-o', str(out))
    assert ran.code == 0
    np.testing.assert_array_equal(np.asarray(Image.open(out)), image)

    assert run('history', '--clear').code == 0
    assert cache.entries() == []


def test_history_reports_a_damaged_pending_record_and_lists_the_rest():
    """A record that cannot be read is named (with where it was kept) and
    the readable ones are still listed; exit 0."""
    cache = ResultCache()
    cache.record_pending('run-ok', 'a' * 64)
    cache.record_pending('run-bad', 'b' * 64)
    cache.journal._path('run-bad').write_bytes(b'\x00garbage')
    ran = run('history')
    assert ran.code == 0, ran.err
    assert 'could not be read' in ran.err
    assert str(cache.root / 'damaged') in ran.err
    assert 'run run-ok' in ran.out
    assert 'run-bad' not in ran.out
    assert run('history').err == ''


def test_history_names_an_uploaded_input_that_stayed_on_runflow():
    """A run whose key may not delete its input (403): history says which
    asset stayed in the user's Runflow library."""
    image = np.full((12, 16, 3), 77, np.uint8)
    result = EngineResult(
        image=image, engine='runflow', model='runflow/outpaint',
        run_id='run_left', cost_usd=0.55,
        details={INPUT_LEFT: {'asset_id': 'asset-42', 'reason': 'HTTP 403'}},
    )  # fmt: skip
    cache = ResultCache()
    key = cache.key_for(image, Expand(10, 0, 0, 0), 'runflow/outpaint')
    store_result(cache, key, result, Expand(10, 0, 0, 0))
    ran = run('history')
    assert ran.code == 0, ran.err
    (line,) = [line for line in ran.out.splitlines() if 'run_left' in line]
    assert 'input asset asset-42 stayed in your Runflow asset library' in line


def _store(cache, seed, *, run_id, source, **extra):
    """A cached result of *source* with *run_id* (and batch fields)."""
    image = np.full((12, 16, 3), seed, np.uint8)
    result = EngineResult(
        image=image, engine='runflow', model='runflow/outpaint',
        run_id=run_id, cost_usd=0.55,
    )  # fmt: skip
    expand = Expand(10, 0, 0, 0)
    key = cache.key_for(image, expand, 'runflow/outpaint')
    store_result(cache, key, result, expand, source={'layer': source}, **extra)
    return key


def test_history_lists_a_batch_together_with_its_planes_named():
    """A batch's planes are listed one after another, in plane order, each
    naming its plane and batch; a single run's line is unchanged."""
    cache = ResultCache()
    batch = {'batch_id': '0123456789abcdef', 'batch_planes': 3}
    _store(cache, 1, run_id='run_p2', source='cells', plane=[2], **batch)
    _store(cache, 2, run_id='run_single', source='nuclei')
    _store(cache, 3, run_id='run_p0', source='cells', plane=[0], **batch)
    lines = run('history').out.splitlines()
    order = [
        next(r for r in ('run_p0', 'run_p2', 'run_single') if r in line)
        for line in lines
    ]
    assert order.index('run_p0') + 1 == order.index('run_p2')
    (p0,) = [line for line in lines if 'run_p0' in line]
    assert p0.endswith('cells  plane 0 of batch 01234567')
    (single,) = [line for line in lines if 'run_single' in line]
    assert single.endswith('$0.55  nuclei')


def test_history_filter_keeps_matching_results_and_pending_runs():
    """--filter keeps the results (text and --json) and pending runs whose
    source, engine, run id or date contain every word, case-insensitive."""
    cache = ResultCache()
    cells = _store(cache, 1, run_id='run_aaa', source='cells')
    nuclei = _store(cache, 2, run_id='run_bbb', source='nuclei')
    cache.record_pending('run_ccc', 'e' * 64, {'model': 'runflow/outpaint'})

    def listed(*args):
        ran = run('history', *args)
        assert ran.code == 0, ran.err
        return ran.out

    out = listed('--filter', 'NUCLEI')
    assert nuclei[:12] in out
    assert cells[:12] not in out
    assert 'run_ccc' not in out
    out = listed('--filter', 'run_aaa')
    assert cells[:12] in out
    assert nuclei[:12] not in out
    out = listed('--filter', 'runflow')
    assert cells[:12] in out
    assert nuclei[:12] in out
    assert 'PENDING  run run_ccc' in out
    assert 'run_ccc' in listed('--filter', 'run_ccc')
    stored = cache.get(cells).created_at
    day = time.strftime('%Y-%m-%d', time.localtime(stored))
    assert cells[:12] in listed('--filter', day)
    records = [
        json.loads(line)
        for line in listed('--json', '--filter', 'cells').splitlines()
    ]
    assert [r['key'] for r in records] == [cells]
    ran = run('history', '--filter', 'nothing-like-this')
    assert ran.out == ''
    assert "no cached results matching 'nothing-like-this'" in ran.err
