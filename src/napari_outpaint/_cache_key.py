"""Keys of the paid-result cache.

``sha256`` over a version tag, the canonical JSON of ``{shape, dtype,
expand, model}`` and the raw bytes of the C-contiguous ``(rows, cols, 3)``
uint8 RGB plane sent to the engine: exactly the uploaded pixels, and
unlike PNG bytes independent of the Pillow version or compression level,
so a key is stable across processes, machines and releases.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING

import numpy as np

from napari_outpaint._errors import InvalidInputError

if TYPE_CHECKING:
    from napari_outpaint._expand import Expand

__all__ = ['KEY_PATTERN', 'cache_key', 'run_key']

KEY_VERSION = b'napari-outpaint/result-cache/v1\0'
#: What a cache key looks like: 64 lowercase hex digits.
KEY_PATTERN = re.compile(r'^[0-9a-f]{64}$')


def cache_key(rgb8: np.ndarray, expand: Expand, model: str) -> str:
    """The cache key of outpainting *rgb8* by *expand* with *model*.

    Parameters
    ----------
    rgb8 : numpy.ndarray
        The ``(rows, cols, 3)`` uint8 RGB plane sent to the engine.
    expand : Expand
        The four percentages.
    model : str
        The engine's model, e.g. ``'runflow/outpaint'``.
    """
    arr = np.asarray(rgb8)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise InvalidInputError(
            'rgb8',
            f'expected a (rows, cols, 3) uint8 array, got shape '
            f'{arr.shape} {arr.dtype}.',
        )
    head = json.dumps(
        {
            'shape': list(arr.shape),
            'dtype': 'uint8',
            'expand': expand.as_dict(),
            'model': str(model),
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(KEY_VERSION)
    digest.update(head.encode())
    digest.update(b'\0')
    digest.update(np.ascontiguousarray(arr).data)
    return digest.hexdigest()


def run_key(run_id: str) -> str:
    """The key of a collected run that no journalled request names."""
    return hashlib.sha256(b'run:' + run_id.encode()).hexdigest()
