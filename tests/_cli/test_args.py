"""Arguments of the main command: ``napari-outpaint INPUT -o OUT ...``.

What this file checks
---------------------
- ``--help`` documents the usage, the exit codes and the sidecar.
- The four side flags are required, integer percents in 0-80, not all 0.
- ``--concurrency`` and ``--spend-cap`` refuse bad values.
- Every refusal is exit 2, names the flag and shows no traceback.
"""

from __future__ import annotations

import pytest

from cli_runner import SIDES, run
from napari_outpaint._cli import exit_codes as _cli


def test_help_documents_exit_codes_and_usage():
    """--help exits 0 and documents the exit codes and the sidecar."""
    ran = run('--help')
    assert ran.code == 0
    assert 'exit codes:' in ran.out
    assert '130' in ran.out
    assert 'out.tif.json' in ran.out


@pytest.mark.parametrize(
    ('value', 'match'),
    [('90', 'between 0 and 80'), ('1.5', 'integer percent'), ('-3', '')],
)
def test_bad_percent_exits_2_naming_the_flag(rgb_png, tmp_path, value, match):
    """An out-of-range or non-integer percent is a usage error on --top."""
    path, _ = rgb_png
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), '--top', value,
        '--bottom', '0', '--left', '0', '--right', '0',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_USAGE
    assert '--top' in ran.err
    assert match in ran.err
    assert 'Traceback' not in ran.err
    assert not (tmp_path / 'o.png').exists()


def test_all_zero_exits_2_naming_the_flags(rgb_png, tmp_path):
    """Four zeros are refused: there is nothing to outpaint."""
    path, _ = rgb_png
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), '--top', '0',
        '--bottom', '0', '--left', '0', '--right', '0',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_USAGE
    assert '--top/--bottom/--left/--right' in ran.err


def test_missing_side_flag_exits_2(tmp_path):
    """All four sides are required: no silent default."""
    ran = run('sample:cells', '-o', str(tmp_path / 'x.tif'), '--top', '10')
    assert ran.code == _cli.EXIT_USAGE
    assert '--bottom' in ran.err
    assert not (tmp_path / 'x.tif').exists()


@pytest.mark.parametrize(
    ('flag', 'value'),
    [('--concurrency', '0'), ('--concurrency', '33'),
     ('--concurrency', 'x'), ('--spend-cap', '-1'), ('--spend-cap', 'inf')],
)  # fmt: skip
def test_bad_setting_exits_2_naming_the_flag(rgb_png, tmp_path, flag, value):
    """--concurrency outside 1-32 or a bad --spend-cap is a usage error."""
    path, _ = rgb_png
    ran = run(str(path), '-o', str(tmp_path / 'o.png'), *SIDES, flag, value)
    assert ran.code == _cli.EXIT_USAGE
    assert flag in ran.err
    assert 'Traceback' not in ran.err
    assert not (tmp_path / 'o.png').exists()
