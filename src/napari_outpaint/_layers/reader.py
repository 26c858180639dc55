"""The npe2 reader: a written result opens placed by its sidecar.

``napari out.tif`` (with ``--plugin napari-outpaint``, or *Outpaint* in
napari's reader choice) on a file that ``napari-outpaint -o out.tif`` or
the napari writer wrote gives the result at its world placement (scale,
translate, rotate, shear, affine and units from ``out.tif.json``) and
its ``[generated]`` mask (``out.mask.tif``) as a Labels layer aligned
with it. Files without our sidecar are declined, for napari's own reader.

``napari out.tif.json`` (the sidecar itself) opens the same result
without napari asking which reader to use: no other reader claims a
``.tif.json``.

``napari result.zarr/zarr.json`` opens a batch result that was written
to a zarr store (``output='result.zarr'``, ``-o result.zarr``) as lazy
dask layers, placed by the store's OME metadata
(:mod:`.zarr_result`): no other reader claims a ``zarr.json``, and a
``.zarr`` folder itself is napari's or napari-ome-zarr's to open (a
reader that accepts folders would be offered for every folder).

It returns layer data tuples, so napari makes the layers.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_outpaint._errors import InvalidInputError
from napari_outpaint._io import (
    PNG_SUFFIXES,
    TIFF_SUFFIXES,
    ImageFile,
    mask_path_for,
    read_image,
    read_sidecar,
    sidecar_path_for,
)
from napari_outpaint._layers.convert import MASK_SUFFIX, RESULT_SUFFIX
from napari_outpaint._layers.zarr_result import store_layer_data, store_root

__all__ = [
    'get_reader',
    'layer_placement',
    'read_results',
    'result_layer_data',
]

LayerData = tuple[Any, dict[str, Any], str]
_SPATIAL = 'XYZ'


def get_reader(
    path: str | Sequence[str],
) -> Callable[[Any], list[LayerData]] | None:
    """The npe2 reader getter: :func:`read_results` for our files, else None.

    Parameters
    ----------
    path : str or list of str
        What napari asks to open.

    Returns
    -------
    callable or None
        None unless every path is a ``.tif``/``.tiff``/``.png`` file with
        a napari-outpaint sidecar beside it, such a sidecar, or a result
        store (``result.zarr`` or its ``zarr.json``).
    """
    paths = _paths(path)
    if not paths or not all(_is_ours(p) for p in paths):
        return None
    return read_results


def _paths(path: Any) -> list[Any]:
    """The result images asked for (a sidecar stands for its image)."""
    if isinstance(path, str | os.PathLike):
        paths = [path]
    elif isinstance(path, list | tuple):
        paths = list(path)
    else:
        return []
    return [_image_of(p) for p in paths]


def _image_of(path: Any) -> Any:
    """``out.tif`` for ``out.tif.json``; any other path as it is."""
    if store_root(path) is not None:
        return path
    if isinstance(path, str | os.PathLike) and str(path).lower().endswith(
        '.json'
    ):
        return Path(str(path)[: -len('.json')])
    return path


def _is_ours(path: Any) -> bool:

    if not isinstance(path, str | os.PathLike):
        return False
    if store_root(path) is not None:
        return True
    path = Path(path)
    suffixes = (*TIFF_SUFFIXES, *PNG_SUFFIXES)
    return (
        path.suffix.lower() in suffixes
        and path.is_file()
        and read_sidecar(path) is not None
    )


def read_results(path: str | Sequence[str]) -> list[LayerData]:
    """The layer data of one or several written results (see
    :func:`result_layer_data`), in order."""
    return [
        layer
        for p in _paths(path)
        for layer in (
            store_layer_data(p)
            if store_root(p) is not None
            else result_layer_data(p)
        )
    ]


def result_layer_data(path: str | Path) -> list[LayerData]:
    """A written result as napari layer data: the image, then its mask.

    Parameters
    ----------
    path : path
        The result image; its sidecar ``<path>.json`` must be ours.

    Returns
    -------
    list of (data, kwargs, layer_type)
        ``(image, {...}, 'image')`` named ``'<source> [outpainted]'``,
        with ``metadata['outpaint']`` (the provenance) and
        ``metadata['outpaint_mask']``; then, when the mask file is there,
        ``(mask, {...}, 'labels')`` named ``'<source> [generated]'``
        (1 = generated), placed the same.

    Raises
    ------
    InvalidInputError
        Naming ``path``, when the sidecar is missing or not ours.
    """
    path = Path(path)
    sidecar = read_sidecar(path)
    if sidecar is None:
        raise InvalidInputError(
            'path',
            f'{path} has no napari-outpaint sidecar '
            f"({sidecar_path_for(path).name}); open it with napari's own "
            'reader.',
        )
    image = read_image(path)
    placement = layer_placement(
        sidecar['placement'], image.layer_ndim, image.axes
    )
    output = _mapping(sidecar.get('output'))
    provenance = sidecar.get('provenance')
    name = _result_name(output, provenance, path)
    mask = _read_mask(path, output, image)
    kwargs: dict[str, Any] = {
        'name': name,
        'rgb': image.rgb,
        **placement,
        'metadata': {'outpaint': provenance, 'outpaint_mask': mask},
    }
    limits = sidecar.get('contrast_limits')
    if not image.rgb and _is_pair(limits):
        kwargs['contrast_limits'] = [float(v) for v in limits]
    layers: list[LayerData] = [(image.data, kwargs, 'image')]
    if mask is not None:
        base = name.removesuffix(RESULT_SUFFIX)
        mask_kwargs = {
            'name': f'{base}{MASK_SUFFIX}',
            **placement,
            'opacity': 0.4,
            'metadata': {'outpaint_mask_of': name},
        }
        layers.append((mask, mask_kwargs, 'labels'))
    return layers


def layer_placement(
    placement: Mapping[str, Any], ndim: int, axes: str = ''
) -> dict[str, Any]:
    """Layer keywords (scale, translate, rotate, shear, affine, units) from
    a sidecar's ``placement``, for a layer of *ndim* axes.

    Vectors and matrices recorded for more axes (the export of one plane
    of a stack) keep their trailing axes. ``units`` (one per axis) wins
    over ``unit`` (the command line's one physical unit, given to the
    ``X``/``Y``/``Z`` axes of *axes*).
    """
    kwargs: dict[str, Any] = {
        'scale': _vector(placement.get('scale'), ndim, 1.0),
        'translate': _vector(placement.get('translate'), ndim, 0.0),
    }
    for key, size in (('rotate', ndim), ('shear', ndim), ('affine', ndim + 1)):
        value = placement.get(key)
        if value is not None and np.ndim(value) == 2:
            kwargs[key] = np.asarray(value, float)[-size:, -size:]
    shear = placement.get('shear')
    if shear is not None and np.ndim(shear) == 1:  # napari's shear vector
        kwargs['shear'] = np.asarray(shear, float)
    units = _units(placement, ndim, axes)
    if units is not None:
        kwargs['units'] = units
    return kwargs


def _units(
    placement: Mapping[str, Any], ndim: int, axes: str
) -> tuple[str, ...] | None:

    units = placement.get('units')
    if isinstance(units, list) and len(units) >= ndim:
        return tuple(str(u) for u in units[-ndim:])
    unit = placement.get('unit')
    if not isinstance(unit, str) or not unit:
        return None
    layer_axes = axes.rstrip('S')[-ndim:].rjust(ndim, 'Q')
    return tuple(unit if a in _SPATIAL else 'pixel' for a in layer_axes)


def _read_mask(
    path: Path, output: Mapping[str, Any], image: ImageFile
) -> np.ndarray | None:
    """The mask beside *path* as labels (1 = generated), or None."""
    recorded = output.get('mask', '')
    if recorded is None:
        return None  # written with --no-mask
    mask_path = (
        path.parent / Path(recorded).name
        if isinstance(recorded, str) and recorded
        else mask_path_for(path)
    )
    if not mask_path.is_file():
        return None
    mask = read_image(mask_path).data
    shape = image.data.shape[: image.layer_ndim]
    if mask.shape != shape:
        warnings.warn(
            f'{mask_path.name} is {mask.shape}, not {shape} like '
            f'{path.name}; the mask is not opened.',
            stacklevel=2,
        )
        return None
    return (mask > 0).astype(np.uint8)


def _result_name(
    output: Mapping[str, Any], provenance: Any, path: Path
) -> str:
    """The layer's recorded name, else ``'<source> [outpainted]'``."""
    name = output.get('name')
    if isinstance(name, str) and name:
        return name
    source = _mapping(provenance).get('source')
    layer = _mapping(source).get('layer')
    if isinstance(layer, str) and layer:
        return f'{layer}{RESULT_SUFFIX}'
    return path.stem


def _vector(value: Any, ndim: int, default: float) -> np.ndarray:

    out = np.full(ndim, default)
    if isinstance(value, list) and value:
        tail = np.asarray(value, float)[-ndim:]
        out[ndim - len(tail) :] = tail
    return out


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2
