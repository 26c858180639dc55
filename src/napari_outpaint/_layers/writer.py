"""The npe2 writer: an outpainted layer saved as image, mask and sidecar.

*File > Save Selected Layers* with the "outpainted result" file type (or
``layer.save('x.outpainted.tif')``) writes what the command line writes:
``x.outpainted.tif``, its mask ``x.outpainted.mask.tif`` (255 =
generated, from ``metadata['outpaint_mask']``) and the sidecar
``x.outpainted.tif.json`` with the layer's placement and provenance, all
atomically and with the same writers. The napari reader opens them back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_outpaint._io import (
    mask_path_for,
    sidecar_path_for,
    write_atomic,
    write_image,
)
from napari_outpaint._pipeline import jsonable
from napari_outpaint._version import __version__

__all__ = ['write_result']

# units napari (pint) names that the TIFF writer records as micrometres
_MICROMETRE = frozenset({'micrometer', 'micrometre', 'µm', 'um', 'micron'})


def write_result(path: str, data: Any, meta: Mapping[str, Any]) -> list[str]:
    """Write an image layer, its mask and its sidecar; return the paths.

    Parameters
    ----------
    path : str
        The image file (``.tif``/``.tiff`` any dtype and axes, or a 2D
        ``.png``).
    data : array-like
        The layer's data (level 0 of a multiscale layer is written).
    meta : mapping
        The layer's state, as napari hands it to writers (``name``,
        ``rgb``, ``scale``, ``translate``, ``rotate``, ``shear``,
        ``affine``, ``units``, ``contrast_limits``, ``metadata``).

    Returns
    -------
    list of str
        The image, the mask (when the layer has one) and the sidecar.
    """
    path = Path(path)
    if meta.get('multiscale'):
        data = data[0]
    array = np.asarray(data)
    rgb = bool(meta.get('rgb', False))
    ndim = array.ndim - int(rgb)
    scale = [float(s) for s in meta.get('scale', [1.0] * ndim)]
    units = [str(u) for u in meta.get('units') or ()]
    unit = _tiff_unit(units)
    written = [
        write_atomic(
            path,
            lambda p: write_image(p, array, rgb=rgb, scale=scale, unit=unit),
        )
    ]
    metadata = meta.get('metadata') or {}
    mask = metadata.get('outpaint_mask')
    mask_path = None
    if mask is not None:
        mask_path = mask_path_for(path)
        pixels = (np.asarray(mask) > 0).astype(np.uint8) * 255
        written.append(
            write_atomic(
                mask_path,
                lambda p: write_image(
                    p, pixels, rgb=False, scale=scale, unit=unit
                ),
            )
        )
    sidecar = {
        'napari_outpaint': __version__,
        'output': {
            'path': path.name,
            'name': meta.get('name'),
            'shape': list(array.shape),
            'dtype': str(array.dtype),
            'rgb': rgb,
            'mask': mask_path.name if mask_path else None,
        },
        'contrast_limits': None if rgb else meta.get('contrast_limits'),
        'placement': {
            'scale': scale,
            'translate': meta.get('translate'),
            'rotate': meta.get('rotate'),
            'shear': meta.get('shear'),
            'affine': meta.get('affine'),
            'units': units or None,
            'unit': unit,
        },
        'provenance': metadata.get('outpaint'),
    }
    text = json.dumps(jsonable(sidecar), indent=2, ensure_ascii=False)
    written.append(
        write_atomic(
            sidecar_path_for(path),
            lambda p: p.write_text(text + '\n', 'utf-8'),
        )
    )
    return [str(p) for p in written]


def _tiff_unit(units: Sequence[str]) -> str | None:
    """``'µm'`` when the two spatial axes are in micrometres, else None."""
    spatial = units[-2:]
    if len(spatial) == 2 and all(u in _MICROMETRE for u in spatial):
        return 'µm'
    return None
