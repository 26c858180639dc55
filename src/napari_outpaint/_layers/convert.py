"""napari-side helpers: what goes in from a layer, the styled result layer,
the plane a viewer shows, and the mask layer."""

from __future__ import annotations

from typing import Any

import napari.layers
import numpy as np
from napari.layers import Image, Labels, Layer
from napari.layers.utils._slice_input import _SliceInput, _ThickNDSlice

from napari_outpaint._errors import InvalidInputError
from napari_outpaint._pipeline import RESULT_SUFFIX, Source, prepare_source

#: The name of a mask layer: ``'<source> [generated]'``.
MASK_SUFFIX = ' [generated]'

__all__ = [
    'MASK_SUFFIX',
    'RESULT_SUFFIX',
    'layer_source',
    'mask_layer',
    'plane_shown',
    'require_image_layer',
    'result_layer',
    'source_data',
    'source_kwargs',
]


def require_image_layer(layer: Any) -> None:
    """Raise :class:`InvalidInputError` unless *layer* is an Image layer."""
    if isinstance(layer, Image):
        return
    kind = (
        f'{type(layer).__name__} layer {layer.name!r}'
        if isinstance(layer, Layer)
        else f'a {type(layer).__name__}'
    )
    raise InvalidInputError(
        'layer',
        f'got {kind}; only Image layers can be outpainted. Select an '
        'Image layer (or call outpaint_array for a numpy array).',
    )


def source_data(layer: napari.layers.Image) -> Any:
    """The layer's pixels: its data, or the list of levels if multiscale."""
    return list(layer.data) if layer.multiscale else layer.data


def layer_source(layer: napari.layers.Image) -> Source:
    """The layer's pixels, display mapping and world transform, validated."""
    kwargs = source_kwargs(layer)
    return prepare_source(
        source_data(layer), name=kwargs.pop('source_name'), **kwargs
    )


def source_kwargs(layer: napari.layers.Image) -> dict[str, Any]:
    """The layer's display mapping, world transform and name, as keyword
    arguments of ``outpaint_array`` and ``outpaint_planes``."""
    return {
        'rgb': layer.rgb,
        'contrast_limits': layer.contrast_limits,
        'gamma': layer.gamma,
        'scale': layer.scale,
        'translate': layer.translate,
        'affine': layer.affine.affine_matrix,
        'rotate': layer.rotate,
        'shear': layer.shear,
        'source_name': layer.name,
    }


def result_layer(layer: napari.layers.Image, result: Any) -> Any:
    """A new Image layer of *result*, aligned and styled like *layer*.

    *result* has ``data`` and ``layer_kwargs()`` (an ``OutpaintResult`` or
    a batch result); blending, opacity, interpolation, the colormap (for
    greyscale), units and axis labels come from *layer*.
    """
    kwargs = result.layer_kwargs()
    kwargs.update(
        blending=layer.blending,
        opacity=layer.opacity,
        interpolation2d=layer.interpolation2d,
    )
    if not layer.rgb:
        kwargs['colormap'] = layer.colormap
    for name in ('units', 'axis_labels'):
        if hasattr(layer, name):
            kwargs[name] = getattr(layer, name)
    return Image(result.data, **kwargs)


def mask_layer(
    image_layer: napari.layers.Image, *, contour: int = 0
) -> napari.layers.Labels:
    """A Labels layer marking generated pixels (1) of an outpainted layer.

    Aligned with *image_layer* (same transform); label 0 = original.
    *contour* > 0 outlines the generated region that many pixels thick
    instead of filling it.
    """
    metadata = getattr(image_layer, 'metadata', None) or {}
    mask = metadata.get('outpaint_mask')
    if mask is None:
        raise InvalidInputError(
            'image_layer',
            'has no metadata["outpaint_mask"]; pass a layer returned by '
            'outpaint_layer.',
        )
    base = image_layer.name.removesuffix(RESULT_SUFFIX)
    lazy = hasattr(mask, 'compute')  # a dask mask over a zarr store
    labels = Labels(
        mask.astype(np.uint8) if lazy else np.asarray(mask).astype(np.uint8),
        name=f'{base}{MASK_SUFFIX}',
        scale=image_layer.scale,
        translate=image_layer.translate,
        rotate=image_layer.rotate,
        shear=image_layer.shear,
        affine=image_layer.affine,
        units=image_layer.units,
        axis_labels=image_layer.axis_labels,
        opacity=0.4,
        metadata={'outpaint_mask_of': image_layer.name},
    )
    if contour:
        labels.contour = contour
    return labels


def require_plane_shown(layer: napari.layers.Layer) -> tuple[int, ...]:
    """:func:`plane_shown`, or an error asking for ``plane=``."""
    plane = plane_shown(layer)
    if plane is None:
        lead = layer.ndim - 2
        raise InvalidInputError(
            'plane',
            f'layer {layer.name!r} has {layer.ndim} dimensions and no '
            'plane shown in a 2D view; pass plane= with one index per '
            f'leading axis, e.g. plane={(0,) * lead}.',
        )
    return plane


def plane_shown(layer: napari.layers.Layer) -> tuple[int, ...] | None:
    """The leading-axis indices a 2D viewer shows for *layer*, or None.

    None when the layer has never been sliced by a viewer, when a leading
    axis is displayed (3D view, transposed axes) or out of range.
    """
    try:
        ndim = layer.ndim
        default = _SliceInput(
            ndisplay=2,
            world_slice=_ThickNDSlice.make_full(ndim=ndim),
            order=tuple(range(ndim)),
        )
        if layer._slice_input == default:
            return None
        point = layer._data_slice.point
    except (AttributeError, TypeError):  # private napari API moved
        return None
    lead = ndim - 2
    shape = layer.data[0].shape if layer.multiscale else layer.data.shape
    indices = []
    for axis in range(lead):
        value = float(point[axis])
        if not np.isfinite(value):
            return None
        index = int(np.round(value))
        if not 0 <= index < shape[axis]:
            return None
        indices.append(index)
    return tuple(indices)
