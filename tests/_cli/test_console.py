"""Messages and progress of the command line.

What this file checks
---------------------
- On a terminal, progress is one bar redrawn in place, ended by a newline.
"""

from __future__ import annotations

import io

from cli_runner import SIDES, TTY
from napari_outpaint._cli.main import main


def test_progress_bar_on_a_terminal(rgb_png, tmp_path):
    """On a terminal, progress is one bar redrawn in place, then a newline."""
    path, _ = rgb_png
    err = TTY()
    code = main(
        [str(path), '-o', str(tmp_path / 'o.png'), *SIDES, '-y',
         '--engine', 'reflect'],
        stdout=io.StringIO(), stderr=err, stdin=io.StringIO(),
    )  # fmt: skip
    assert code == 0
    text = err.getvalue()
    assert '\rphoto [' in text
    assert '] 100%' in text
    assert text.endswith('\n')
