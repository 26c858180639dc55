"""``napari-outpaint collect RUN_ID``: fetch a run submitted earlier.

What this file checks
---------------------
- A run that timed out stays pending in ``history``; ``collect`` fetches
  it into the cache without paying again, and the same command then is
  answered from the cache.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from cli_runner import SIDES, run
from napari_outpaint._cli import exit_codes as _cli


def test_timeout_exits_5_and_the_run_can_be_collected(
    runflow_env, rgb_png, tmp_path
):
    """A timed-out run is exit 5, stays pending, `collect` fetches it."""
    path, _ = rgb_png
    runflow_env.set_delays(processing_delay=1.0)
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--engine', 'runflow', '--timeout', '0.3',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_CANCELLED, ran.err
    (server_run,) = runflow_env.runs
    assert f'napari-outpaint collect {server_run.id}' in ran.err
    assert f'PENDING  run {server_run.id}' in run('history').out

    collected = tmp_path / 'collected.png'
    ran = run('collect', server_run.id, '-o', str(collected))
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 1  # collected, not paid again
    assert np.asarray(Image.open(collected)).shape == (44, 72, 3)
    history = run('history').out
    assert 'PENDING' not in history
    assert server_run.id in history

    # the same command again is answered from the cache: no second run
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 1
    assert (tmp_path / 'o.png').exists()


def _downloads(server):
    return [
        r
        for r in server.requests
        if r.method == 'GET' and r.path.startswith('/storage/outputs/')
    ]


def _timed_out_run(runflow_env, path, tmp_path):
    """Submit a run that the client gives up on (0.3 s): its id."""
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--engine', 'runflow', '--timeout', '0.3',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_CANCELLED, ran.err
    (server_run,) = runflow_env.runs
    return server_run.id


def test_collecting_a_run_twice_downloads_and_lists_it_once(
    runflow_env, rgb_png, tmp_path
):
    """The second collect is answered from the cache: no download, one
    history line, the cost counted once."""
    path, _ = rgb_png
    runflow_env.set_delays(processing_delay=1.0)
    run_id = _timed_out_run(runflow_env, path, tmp_path)
    assert run('collect', run_id).code == 0
    assert len(_downloads(runflow_env)) == 1
    again = tmp_path / 'again.png'
    ran = run('collect', run_id, '-o', str(again))
    assert ran.code == 0, ran.err
    assert 'already collected' in ran.err
    assert len(_downloads(runflow_env)) == 1
    assert np.asarray(Image.open(again)).shape == (44, 72, 3)
    history = run('history').out
    assert history.count(f'run {run_id}') == 1
    assert history.count('$0.55') == 1
    assert len(runflow_env.runs) == 1


def test_collecting_a_run_that_failed_resolves_it(
    runflow_env, rgb_png, tmp_path
):
    """A run that ended failed is no longer PENDING once collect saw it
    (exit 4, its failure named); collecting it again says the same."""
    path, _ = rgb_png
    runflow_env.set_delays(processing_delay=1.0)
    runflow_env.fail_next_run('PROVIDER_ERROR', 'The provider fell over.')
    run_id = _timed_out_run(runflow_env, path, tmp_path)
    assert f'PENDING  run {run_id}' in run('history').out
    ran = run('collect', run_id, '--timeout', '30')
    assert ran.code == _cli.EXIT_RUN_ERROR, ran.err
    assert 'PROVIDER_ERROR' in ran.err
    assert 'PENDING' not in run('history').out
    assert _downloads(runflow_env) == []


def test_a_kept_input_is_deleted_by_history_once_its_run_is_over(
    runflow_env, rgb_png, tmp_path
):
    """Timed out while queued: the input stays (the run reads it later and
    succeeds); history deletes it once the run is over, and tries again
    after a failed DELETE."""
    path, _ = rgb_png
    runflow_env.set_delays(queue_delay=1.0)
    run_id = _timed_out_run(runflow_env, path, tmp_path)
    (asset,) = runflow_env.assets.values()
    assert not asset.deleted
    assert 'deleted' not in run('history').err  # the run is still queued
    assert not asset.deleted
    assert runflow_env.get_run(run_id).wait_terminal(10)
    assert runflow_env.get_run(run_id).status == 'succeeded'
    runflow_env.fail_asset_delete(status=500)
    run('history')
    assert not asset.deleted
    ran = run('history')
    assert 'deleted 1 hosted input(s)' in ran.err
    assert asset.deleted
    assert 'hosted input' not in run('history').err


def test_a_kept_input_is_deleted_by_the_next_run(
    runflow_env, rgb_png, tmp_path
):
    """The next paid command (any input) deletes inputs of runs now over."""
    path, _ = rgb_png
    runflow_env.set_delays(queue_delay=0.5)
    run_id = _timed_out_run(runflow_env, path, tmp_path)
    (first,) = runflow_env.assets.values()
    assert runflow_env.get_run(run_id).wait_terminal(10)
    runflow_env.set_delays(queue_delay=0.0)
    other = tmp_path / 'other.png'
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(other)
    ran = run(
        str(other), '-o', str(tmp_path / 'other-out.png'), *SIDES,
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert first.deleted
    assert all(a.deleted for a in runflow_env.assets.values())


def test_the_same_request_after_a_timeout_collects_its_run(
    runflow_env, rgb_png, tmp_path
):
    """Giving up after submit never risks paying twice: the same command
    again collects the journaled run (one run in all) and says so."""
    path, _ = rgb_png
    runflow_env.set_delays(processing_delay=1.0)
    run_id = _timed_out_run(runflow_env, path, tmp_path)
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 1  # collected, not paid again
    assert run_id in ran.err
    assert f'Collecting run {run_id}, submitted earlier' in ran.err
    assert (tmp_path / 'o.png').exists()
    assert 'PENDING' not in run('history').out
