"""Exit codes of the command, and the flags its errors name.

What this file checks
---------------------
- A failed run and a refused (402) creation are exit 4, naming the run
  or the fix, with no traceback and nothing written.
- A pipeline refusal names the command-line flags, not the Python
  argument, and is exit 2.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from cli_runner import SIDES, run
from napari_outpaint._cli import exit_codes as _cli


def test_failed_run_exits_4_with_the_run_id(runflow_env, rgb_png, tmp_path):
    """A run that ends failed is exit 4, naming the run; nothing written."""
    path, _ = rgb_png
    runflow_env.fail_next_run(failure_code='PROVIDER_ERROR')
    out = tmp_path / 'o.png'
    ran = run(str(path), '-o', str(out), *SIDES, '--engine', 'runflow')
    assert ran.code == _cli.EXIT_RUN_ERROR
    assert runflow_env.runs[0].id in ran.err
    assert 'PROVIDER_ERROR' in ran.err
    assert 'Traceback' not in ran.err
    assert sorted(p.name for p in tmp_path.glob('*.png*')) == ['photo.png']


def test_insufficient_credit_exits_4_with_the_fix(
    runflow_env, rgb_png, tmp_path
):
    """A 402 is exit 4 and tells the user how to top up."""
    path, _ = rgb_png
    runflow_env.reject_creates(status=402, times=1, code='INSUFFICIENT_CREDIT')
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES, '--engine', 'runflow'
    )
    assert ran.code == _cli.EXIT_RUN_ERROR
    assert '402' in ran.err
    assert 'Top up' in ran.err


def test_a_long_retry_after_says_nothing_was_submitted(
    runflow_env, rgb_png, tmp_path
):
    """A 429 asking for an hour with ``--timeout 20``: exit 4 at once,
    saying no run exists (never "it may still finish and be billed")."""
    path, _ = rgb_png
    runflow_env.reject_creates(status=429, times=1, retry_after=3600)
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--engine', 'runflow', '--timeout', '20',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_RUN_ERROR, ran.err
    assert 'nothing was submitted' in ran.err
    assert 'may still finish' not in ran.err
    assert 'collect' not in ran.err
    assert runflow_env.runs == []


def test_pipeline_refusal_names_the_flags_and_sends_nothing(
    runflow_env, tmp_path
):
    """Padding that rounds to 0 px is refused naming the flags, offline."""
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / 'tiny.png')
    ran = run(
        str(tmp_path / 'tiny.png'), '-o', str(tmp_path / 'o.png'),
        '--top', '10', '--bottom', '0', '--left', '0', '--right', '0',
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_USAGE
    assert 'error: --top/--bottom/--left/--right: ' in ran.err
    assert runflow_env.requests == []
