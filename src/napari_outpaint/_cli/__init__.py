"""The ``napari-outpaint`` command (see :mod:`napari_outpaint._cli.main`).

Hands out :func:`main`, the console script's entry point.
"""

from napari_outpaint._cli.main import main

__all__ = ['main']
