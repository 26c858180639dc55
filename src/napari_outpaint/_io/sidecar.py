"""The files beside a written result: their names, and reading the sidecar.

A result ``out.tif`` has its mask of generated pixels in ``out.mask.tif``
and its placement and provenance in the JSON sidecar ``out.tif.json``.
The command line and the napari writer name them here; the napari reader
finds them here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ['mask_path_for', 'read_sidecar', 'sidecar_path_for']

#: The sidecar key that says napari-outpaint wrote it (its version).
SIGNATURE = 'napari_outpaint'


def sidecar_path_for(image_path: str | Path) -> Path:
    """The sidecar of *image_path*: ``out.tif`` -> ``out.tif.json``."""
    path = Path(image_path)
    return path.with_name(path.name + '.json')


def mask_path_for(image_path: str | Path) -> Path:
    """The mask of *image_path*: ``out.tif`` -> ``out.mask.tif``."""
    path = Path(image_path)
    return path.with_name(f'{path.stem}.mask{path.suffix}')


def read_sidecar(image_path: str | Path) -> dict[str, Any] | None:
    """The sidecar of *image_path* if napari-outpaint wrote it, else None.

    Ours is a JSON object with a ``napari_outpaint`` version and a
    ``placement`` object. A missing, unreadable or foreign sidecar gives
    None, so the file is left to other readers.

    Parameters
    ----------
    image_path : path
        The image file (not the sidecar).

    Returns
    -------
    dict or None
        The parsed sidecar.
    """
    sidecar = sidecar_path_for(image_path)
    try:
        body = json.loads(sidecar.read_text('utf-8'))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or SIGNATURE not in body:
        return None
    if not isinstance(body.get('placement'), dict):
        return None
    return body
