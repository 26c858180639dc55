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
