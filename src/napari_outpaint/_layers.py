"""napari-side helpers: the plane a viewer shows, and the mask layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from napari_outpaint._errors import InvalidInputError

if TYPE_CHECKING:
    import napari.layers

__all__ = ['RESULT_SUFFIX', 'mask_layer', 'plane_shown']

RESULT_SUFFIX = ' [outpainted]'


def mask_layer(image_layer: napari.layers.Image) -> napari.layers.Labels:
    """A Labels layer marking generated pixels (1) of an outpainted layer.

    Aligned with *image_layer* (same transform); label 0 = original.
    """
    from napari.layers import Labels

    metadata = getattr(image_layer, 'metadata', None) or {}
    mask = metadata.get('outpaint_mask')
    if mask is None:
        raise InvalidInputError(
            'image_layer',
            'has no metadata["outpaint_mask"]; pass a layer returned by '
            'outpaint_layer.',
        )
    base = image_layer.name.removesuffix(RESULT_SUFFIX)
    return Labels(
        np.asarray(mask).astype(np.uint8),
        name=f'{base} [generated]',
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


def plane_shown(layer: napari.layers.Layer) -> tuple[int, ...] | None:
    """The leading-axis indices a 2D viewer shows for *layer*, or None.

    None when the layer has never been sliced by a viewer, when a leading
    axis is displayed (3D view, transposed axes) or out of range.
    """
    from napari.layers.utils._slice_input import _SliceInput, _ThickNDSlice

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
