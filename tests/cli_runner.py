"""Run the ``napari-outpaint`` command in-process and keep what it printed.

Shared by the tests of :mod:`napari_outpaint._cli` (``tests/_cli/``);
their fixtures are in ``tests/_cli/conftest.py``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from napari_outpaint._cli.main import main

__all__ = ['SIDES', 'TTY', 'Ran', 'run', 'two_pngs']

#: The four side flags: 10% on top, 20% on the left.
SIDES = ['--top', '10', '--bottom', '0', '--left', '20', '--right', '0']


@dataclass
class Ran:
    """What one call of ``main`` returned and printed."""

    code: int
    out: str
    err: str
    lines: list[str] = field(default_factory=list)


def run(*argv: str, stdin: str = '') -> Ran:
    """Call ``main(argv)`` with captured streams; *stdin* is not a tty."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return Ran(code, out.getvalue(), err.getvalue(), out.getvalue().split())


class TTY(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def two_pngs(tmp_path):
    """Two black 8 x 8 RGB PNGs, ``a.png`` and ``b.png``: their paths."""
    paths = []
    for name in ('a.png', 'b.png'):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    return paths
