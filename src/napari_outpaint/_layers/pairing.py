"""Which layers of a viewer are the widget's results and their masks.

A result the widget added carries its source's id in
``metadata['outpaint_source']`` (besides the provenance in
``metadata['outpaint']``); its mask names it in
``metadata['outpaint_result']`` (the result's id) and
``metadata['outpaint_mask_of']`` (its name when the mask was made). Layers
are found by this metadata only, never by name: a renamed result is still
a result, and a user's own layer, whatever its name, never is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import napari.layers
from napari.layers import Image, Labels

from napari_outpaint._layers.convert import MASK_SUFFIX, mask_layer

__all__ = [
    'RESULT_KEY',
    'SOURCE_KEY',
    'is_paired_mask',
    'is_result',
    'layer_id',
    'mask_of',
    'name_mask',
    'paired_mask',
    'previous_result',
    'tag_result',
]

#: ``metadata`` key of a result: the id of the layer it was made from.
SOURCE_KEY = 'outpaint_source'
#: ``metadata`` key of a mask: the id of the result it marks.
RESULT_KEY = 'outpaint_result'


def layer_id(layer: napari.layers.Layer) -> str:
    """napari's unique id of *layer*, as text."""
    return str(layer.unique_id)


def tag_result(result: napari.layers.Image, source: Any) -> None:
    """Record that *result* was outpainted from the layer *source*."""
    result.metadata[SOURCE_KEY] = layer_id(source)


def is_result(layer: Any) -> bool:
    """Whether *layer* is an outpainted result (provenance and mask)."""
    metadata = getattr(layer, 'metadata', None) or {}
    return (
        isinstance(layer, Image)
        and isinstance(metadata.get('outpaint'), dict)
        and metadata.get('outpaint_mask') is not None
    )


def previous_result(
    layers: Iterable[napari.layers.Layer], source: Any
) -> napari.layers.Image | None:
    """The topmost result in *layers* the widget made from *source*."""
    wanted = layer_id(source)
    found = None
    for layer in layers:
        if is_result(layer) and layer.metadata.get(SOURCE_KEY) == wanted:
            found = layer
    return found


def is_paired_mask(layer: Any) -> bool:
    """Whether *layer* is a mask paired with a result (by the widget)."""
    metadata = getattr(layer, 'metadata', None) or {}
    return isinstance(layer, Labels) and RESULT_KEY in metadata


def mask_of(
    layers: Iterable[napari.layers.Layer], result: napari.layers.Image
) -> napari.layers.Labels | None:
    """The mask in *layers* paired with *result*, if any."""
    wanted = layer_id(result)
    for layer in layers:
        if is_paired_mask(layer) and layer.metadata[RESULT_KEY] == wanted:
            return layer
    return None


def paired_mask(result: napari.layers.Image) -> napari.layers.Labels:
    """The mask of *result*, paired with it and drawn as a contour.

    Named ``'<result name> [generated]'``; its metadata names the result
    (id and name). Hidden pixels stay visible through it: label 1 is
    outlined, not filled.
    """
    mask = mask_layer(result, contour=1)
    name_mask(mask, result)
    return mask


def name_mask(mask: napari.layers.Labels, result: napari.layers.Image) -> None:
    """Name *mask* after *result* and record the pairing in its metadata.

    For a mask made before its result was added (napari may have renamed
    the result to keep names unique).
    """
    mask.name = f'{result.name}{MASK_SUFFIX}'
    mask.metadata[RESULT_KEY] = layer_id(result)
    mask.metadata['outpaint_mask_of'] = result.name
