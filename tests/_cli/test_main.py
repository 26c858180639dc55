"""The ``napari-outpaint`` entry point: ``main`` and the console script.

What this file checks
---------------------
- The installed console script runs a tiny job, ``--help``, and exits 2
  on a usage error.
- An unexpected error is exit 1 and one line, never a traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from cli_runner import SIDES, run
from napari_outpaint._cli import exit_codes as _cli
from napari_outpaint._cli import inputs as _cli_inputs


def test_installed_console_script(tmp_path):
    """The installed `napari-outpaint` script runs a tiny job and --help."""

    script = Path(sys.executable).with_name('napari-outpaint')
    assert script.exists(), 'install the package: pip install -e .'
    helped = subprocess.run(
        [script, '--help'], capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0
    assert 'exit codes:' in helped.stdout
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(tmp_path / 'g.png')
    done = subprocess.run(
        [script, str(tmp_path / 'g.png'), '-o', str(tmp_path / 'o.png'),
         *SIDES, '--engine', 'reflect'],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        str(tmp_path / 'o.png'), str(tmp_path / 'o.mask.png'),
        str(tmp_path / 'o.png.json'),
    ]  # fmt: skip
    bad = subprocess.run(
        [script, str(tmp_path / 'g.png'), '-o', str(tmp_path / 'x.png'),
         '--top', '0', '--bottom', '0', '--left', '0', '--right', '0'],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert 'Traceback' not in bad.stderr


def test_unexpected_error_exits_1_without_traceback(
    rgb_png, tmp_path, monkeypatch
):
    """A bug surfaces as exit 1 and one line, not a traceback."""
    path, _ = rgb_png

    def broken(_spec, **_options):
        raise RuntimeError('boom')

    monkeypatch.setattr(_cli_inputs, 'load_input', broken)
    ran = run(str(path), '-o', str(tmp_path / 'o.png'), *SIDES)
    assert ran.code == _cli.EXIT_UNEXPECTED
    assert 'RuntimeError: boom' in ran.err
    assert 'Traceback' not in ran.err
