"""The engine of a command-line run, and the confirmation of its price.

What this file checks
---------------------
- With a key the default engine is Runflow, without one local
  PatchMatch, and the command says which and why.
- ``--engine runflow`` without a key, or ``--api-key-env`` naming an
  unset variable, is a configuration error (exit 3) naming the fix.
- A paid batch is refused without ``--yes`` when not interactive, and
  declined at the prompt, spending nothing (exit 6).
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from cli_runner import SIDES, TTY, run, two_pngs
from napari_outpaint._cli import exit_codes as _cli
from napari_outpaint._cli.main import main


def test_auto_engine_picks_runflow_when_a_key_is_set(
    runflow_env, rgb_png, tmp_path
):
    """With a key, the default engine is Runflow, and it says why."""
    path, _ = rgb_png
    ran = run(str(path), '-o', str(tmp_path / 'o.png'), *SIDES)
    assert ran.code == 0, ran.err
    assert 'API key from $RUNFLOW_API_KEY' in ran.err
    assert '--engine local' in ran.err
    assert len(runflow_env.runs) == 1


def test_default_engine_without_key_is_local_patchmatch(tmp_path):
    """With no key, the default is local PatchMatch, and it says so."""
    rng = np.random.default_rng(1)
    data = rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)
    Image.fromarray(data).save(tmp_path / 'small.png')
    out = tmp_path / 'out.png'
    ran = run(str(tmp_path / 'small.png'), '-o', str(out), *SIDES)
    assert ran.code == 0, ran.err
    assert (
        'engine: local PatchMatch (no Runflow key configured; set '
        'RUNFLOW_API_KEY to use Runflow)'
    ) in ran.err
    sidecar = json.loads((tmp_path / 'out.png.json').read_text())
    assert sidecar['provenance']['engine'] == 'local'
    np.testing.assert_array_equal(np.asarray(Image.open(out))[2:, 5:], data)


def test_runflow_without_key_exits_3(rgb_png, tmp_path):
    """--engine runflow with no key is a configuration error naming the fix."""
    path, _ = rgb_png
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES, '--engine', 'runflow'
    )
    assert ran.code == _cli.EXIT_CONFIG
    assert 'RUNFLOW_API_KEY' in ran.err
    assert 'Traceback' not in ran.err


def test_api_key_env_unset_exits_3(rgb_png, tmp_path):
    """--api-key-env naming an unset variable fails and names the flag."""
    path, _ = rgb_png
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--api-key-env', 'MY_UNSET_RUNFLOW_KEY',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_CONFIG
    assert '--api-key-env' in ran.err
    assert 'MY_UNSET_RUNFLOW_KEY' in ran.err


def test_paid_batch_refused_when_not_interactive(tmp_path, monkeypatch):
    """A paid batch without --yes shows the price and exits 6, unasked."""
    monkeypatch.setenv('RUNFLOW_API_KEY', 'secret-test-key')
    ran = run(*two_pngs(tmp_path), '-o', str(tmp_path / 'out'), *SIDES)
    assert ran.code == _cli.EXIT_NOT_CONFIRMED
    assert 'engine: Runflow' in ran.err
    assert '$RUNFLOW_API_KEY' in ran.err
    assert '2 planes x $0.55 = $1.10' in ran.err
    assert '--yes' in ran.err
    assert 'secret-test-key' not in ran.err + ran.out
    assert list((tmp_path / 'out').iterdir()) == []


def test_paid_batch_declined_interactively(tmp_path, monkeypatch):
    """Answering anything but y at the prompt spends nothing (exit 6)."""
    monkeypatch.setenv('RUNFLOW_API_KEY', 'secret-test-key')
    out, err = io.StringIO(), io.StringIO()
    code = main(
        [*two_pngs(tmp_path), '-o', str(tmp_path / 'out'), *SIDES],
        stdout=out,
        stderr=err,
        stdin=TTY('n\n'),
    )
    assert code == _cli.EXIT_NOT_CONFIRMED
    assert 'Spend up to 2 planes x $0.55 = $1.10? [y/N]' in err.getvalue()
    assert 'nothing was spent' in err.getvalue()


@pytest.mark.parametrize(
    'bad',
    ['first-half\nsecond-half', 'first-half\rsecond-half', 'clé-secrète'],
)
@pytest.mark.parametrize('how', ['env', 'api-key-env'])
def test_an_unsendable_key_exits_3_unechoed(
    runflow_env, rgb_png, tmp_path, monkeypatch, bad, how
):
    """A two-line paste or a non-ASCII key: exit 3, no request, not echoed."""
    path, _ = rgb_png
    extra = []
    if how == 'env':
        monkeypatch.setenv('RUNFLOW_API_KEY', bad)
    else:
        monkeypatch.setenv('MY_KEY', bad)
        extra = ['--api-key-env', 'MY_KEY']
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--engine', 'runflow', *extra,
    )  # fmt: skip
    assert ran.code == 3, ran.err
    assert 'first-half' not in ran.err + ran.out
    assert 'secr' not in ran.err + ran.out
    assert runflow_env.requests == []


def test_a_key_runflow_refuses_exits_3(
    runflow_env, rgb_png, tmp_path, monkeypatch
):
    """401 is a configuration problem (exit 3), said once, one full stop."""
    path, _ = rgb_png
    monkeypatch.setenv('RUNFLOW_API_KEY', 'not-the-key')
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == 3, ran.err
    assert '401' in ran.err
    assert '..' not in ran.err
    assert runflow_env.runs == []
