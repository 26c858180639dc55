"""A batch result written to a zarr store, as lazy napari layer data.

``outpaint_layer(..., planes='all', output='result.zarr')`` (or the
command line's ``-o result.zarr``) writes an OME-Zarr store
(:class:`napari_outpaint._io.ResultStore`). :func:`store_layer_data`
opens it again: the result as a dask array over the store, placed by its
OME ``coordinateTransformations`` (scale, translation) with the axis
names and units of its OME ``axes``, then its ``[generated]`` mask
(``labels/generated``) as a Labels layer placed the same. Nothing is
read until napari shows a plane.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from napari_outpaint._errors import InvalidInputError
from napari_outpaint._io import ResultStore, is_result_store, is_zarr_path
from napari_outpaint._layers.convert import MASK_SUFFIX, RESULT_SUFFIX

__all__ = ['store_layer_data', 'store_root']

LayerData = tuple[Any, dict[str, Any], str]
_STORE_FILE = 'zarr.json'


def store_root(path: Any) -> Path | None:
    """The result store *path* names (the store, or its root
    ``zarr.json``), or None when it is not one napari-outpaint wrote."""
    if not isinstance(path, str | os.PathLike):
        return None
    path = Path(path)
    if path.name == _STORE_FILE:
        path = path.parent
    if not is_zarr_path(path) or not is_result_store(path):
        return None
    return path


def store_layer_data(path: str | os.PathLike[str]) -> list[LayerData]:
    """The result in the store at *path*, then its mask, as layer data.

    Parameters
    ----------
    path : path-like
        ``result.zarr`` or ``result.zarr/zarr.json``.

    Returns
    -------
    list of (data, kwargs, layer_type)
        ``(dask image, {...}, 'image')`` named like the batch's result,
        with ``metadata['outpaint']`` (the batch provenance and
        ``planes_done``) and ``metadata['outpaint_mask']``; then
        ``(dask mask, {...}, 'labels')`` named ``'<source> [generated]'``.

    Raises
    ------
    InvalidInputError
        Naming ``path``: not a store napari-outpaint wrote, or one with no
        finished plane yet.
    """
    root = store_root(path)
    if root is None:
        raise InvalidInputError(
            'path',
            f'{path} is not a result store napari-outpaint wrote; open it '
            "with napari's own reader or napari-ome-zarr.",
        )
    store = ResultStore.open(root)
    record = store.record
    if not store.has_arrays:
        raise InvalidInputError(
            'path',
            f'{root} holds no finished plane yet; run the batch into it '
            'again to fill it.',
        )
    placement = _ome_placement(store.ome())
    style = dict(record.get('style') or {})
    rgb = bool(style.get('rgb', False))
    first = record.get('first_plane') or {}
    ndim = len(store.group['0'].shape) - int(rgb)
    affine = first.get('affine')
    if (
        affine is not None
        and np.shape(affine) == (ndim + 1, ndim + 1)
        and not np.allclose(affine, np.eye(ndim + 1))
    ):
        placement['affine'] = np.asarray(affine, float)
    for key in ('rotate', 'shear'):
        if style.get(key) is not None:
            placement[key] = np.asarray(style[key], float)
    name = style.get('name') or f'{root.stem}{RESULT_SUFFIX}'
    mask = store.mask()
    provenance = dict(record.get('provenance') or {})
    provenance['planes_done'] = record.get('planes_done', [])
    provenance['store'] = str(root)
    kwargs: dict[str, Any] = {
        'name': name,
        'rgb': rgb,
        **placement,
        'metadata': {'outpaint': provenance, 'outpaint_mask': mask},
    }
    limits = style.get('contrast_limits')
    if not rgb and isinstance(limits, list) and len(limits) == 2:
        kwargs['contrast_limits'] = [float(v) for v in limits]
    if 'gamma' in style:
        kwargs['gamma'] = float(style['gamma'])
    mask_kwargs = {
        'name': f'{name.removesuffix(RESULT_SUFFIX)}{MASK_SUFFIX}',
        **placement,
        'opacity': 0.4,
        'metadata': {'outpaint_mask_of': name},
    }
    return [(store.image(), kwargs, 'image'), (mask, mask_kwargs, 'labels')]


def _ome_placement(ome: dict[str, Any]) -> dict[str, Any]:
    """scale, translate, axis_labels and units of the layer from the
    store's NGFF ``multiscales`` (the colour axis left out)."""
    multiscales = (ome.get('multiscales') or [{}])[0]
    axes = [a for a in multiscales.get('axes') or [] if a.get('name') != 'rgb']
    n = len(axes)
    scale, translate = [1.0] * n, [0.0] * n
    datasets = multiscales.get('datasets') or [{}]
    for step in datasets[0].get('coordinateTransformations') or []:
        if step.get('type') == 'scale':
            scale = [float(v) for v in step['scale']][:n]
        elif step.get('type') == 'translation':
            translate = [float(v) for v in step['translation']][:n]
    placement: dict[str, Any] = {
        'scale': scale,
        'translate': translate,
        'axis_labels': tuple(str(a['name']) for a in axes),
    }
    if any('unit' in a for a in axes):
        placement['units'] = tuple(a.get('unit', 'pixel') for a in axes)
    return placement
