"""Keys of the paid-result cache.

``sha256`` over a version tag, the canonical JSON of ``{shape, dtype,
expand, model}`` and the raw bytes of the C-contiguous ``(rows, cols, 3)``
uint8 RGB plane sent to the engine: exactly the uploaded pixels, and
unlike PNG bytes independent of the Pillow version or compression level,
so a key is stable across processes, machines and releases.

The ``model`` field is the engine's *cache model id*
(:func:`cache_model_id`): its optional ``cache_namespace``, else its
``model``. A Runflow engine pointing at another endpoint than
``https://api.runflow.io`` (e.g. the offline stand-in) has its own
namespace, so its results never answer a request to the real service.
Every place that computes or verifies a key goes through
:func:`cache_model_id` (an engine) or :func:`provenance_model_id` (a
cached entry's provenance).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import Expand

__all__ = [
    'KEY_PATTERN',
    'cache_key',
    'cache_model_id',
    'provenance_model_id',
    'run_key',
]

KEY_VERSION = b'napari-outpaint/result-cache/v1\0'
#: What a cache key looks like: 64 lowercase hex digits.
KEY_PATTERN = re.compile(r'^[0-9a-f]{64}$')


def cache_model_id(engine: Any) -> str:
    """What identifies *engine*'s results in a cache key.

    Its ``cache_namespace`` when it has a non-empty one (e.g.
    ``'runflow/outpaint@127.0.0.1:8443'``), else its ``model``.
    """
    namespace = getattr(engine, 'cache_namespace', None)
    return str(namespace) if namespace else str(engine.model)


def provenance_model_id(provenance: Mapping[str, Any]) -> str:
    """The cache model id a cached entry was keyed with.

    Its recorded ``cache_namespace``; entries stored before namespaces
    existed fall back to their ``model``.
    """
    namespace = provenance.get('cache_namespace')
    if namespace:
        return str(namespace)
    return str(provenance.get('model', 'unknown'))


def cache_key(rgb8: np.ndarray, expand: Expand, model: str) -> str:
    """The cache key of outpainting *rgb8* by *expand* with *model*.

    Parameters
    ----------
    rgb8 : numpy.ndarray
        The ``(rows, cols, 3)`` uint8 RGB plane sent to the engine.
    expand : Expand
        The four percentages.
    model : str
        The engine's cache model id (:func:`cache_model_id`), e.g.
        ``'runflow/outpaint'`` for the real Runflow service.
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
