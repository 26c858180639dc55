"""``outpaint_layers``: channels of one image outpainted together.

Layers that are channels of one image (same shape, same world placement:
napari's ``channel_axis`` layers are the common case) go into the R, G
and B of one request, three at a time, each channel scaled by its own
contrast limits and gamma; the result is split back, each channel mapped
back to its own dtype and range with its original pixels put back
bit-identical. So the generated structure is the same in every channel
of a group, and one plane costs ``ceil(C / 3)`` runs, not ``C``. The
local engine fills every channel of a plane in one run, whatever C (see
:mod:`.channel_runs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import napari.layers
import numpy as np
from napari.layers import Image

from napari_outpaint._batch import BatchProgress
from napari_outpaint._cache import ConfirmCallback
from napari_outpaint._canvas import Canvas
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import Expand
from napari_outpaint._imaging import CHANNELS_PER_RUN
from napari_outpaint._layers.channel_runs import (
    Channel,
    ChannelOutput,
    outpaint_channels,
)
from napari_outpaint._layers.convert import (
    require_image_layer,
    require_plane_shown,
)
from napari_outpaint._pipeline import normalize_plane
from napari_outpaint._progress import CancelToken, ProgressCallback
from napari_outpaint.engines import Engine

__all__ = ['CHANNELS_PER_RUN', 'channel_siblings', 'outpaint_layers']


def outpaint_layers(
    layers: Sequence[napari.layers.Image],
    expand: Expand | Canvas,
    *,
    engine: Engine | str | None = None,
    plane: Sequence[int] | int | None = None,
    planes: str | Iterable[Any] | None = None,
    confirm: bool | ConfirmCallback = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    concurrency: int | None = None,
    batch_progress: Callable[[BatchProgress], None] | None = None,
) -> list[napari.layers.Image]:
    """Outpaint channel layers of one image together; one layer each back.

    Parameters
    ----------
    layers : sequence of napari.layers.Image
        Greyscale layers of the same shape and world placement (the
        channels of one image). Never modified.
    expand : Expand or Canvas
        As for :func:`~napari_outpaint.outpaint_layer`.
    engine : Engine, str or None
        Runflow: up to three channels per run (``ceil(C / 3)`` runs per
        plane; with more than one group a ``UserWarning`` says that groups
        are generated separately). The local engine: every channel in one
        run, through one set of patch offsets.
    plane : sequence of int or int, optional
        For nD layers; None: the plane the viewer shows.
    planes : 'all' or sequence, optional
        A batch of planes of nD layers (as for ``outpaint_layer``): each
        plane costs one run per group, cached planes are free, and each
        result covers the selected planes.
    confirm : bool or callable
        More than one paid run (more than three channels, a batch, or a
        canvas of several passes) runs only with True, or a callable
        shown the price (of every run) that returns True.
    progress, cancel, concurrency, batch_progress
        As for ``outpaint_layer``.

    Returns
    -------
    list of napari.layers.Image
        In the order of *layers*, each named ``'<name> [outpainted]'``,
        with its layer's colormap, contrast limits, gamma, blending,
        opacity, units and axis labels; ``metadata['outpaint']`` holds
        the provenance (with ``channels``: which layers shared the run)
        and ``metadata['outpaint_mask']`` the mask, the same for all.

    Raises
    ------
    InvalidInputError
        Before any request: not image layers, RGB layers, different
        shapes or placements, or fewer than one layer.
    BudgetError
        Before any request, when several paid runs are not confirmed.
    """
    layers = _check_channels(layers)
    first = layers[0]
    if planes is not None and first.ndim < 3:
        raise InvalidInputError(
            'planes',
            f'layer {first.name!r} is 2D: there is one plane; call '
            'outpaint_layers without planes=.',
        )
    index = None if planes is not None else _plane_index(first, plane)
    outputs = outpaint_channels(
        [
            Channel(
                data=layer.data[0] if layer.multiscale else layer.data,
                contrast_limits=tuple(layer.contrast_limits),
                gamma=layer.gamma,
                name=layer.name,
            )
            for layer in layers
        ],
        expand,
        placement={
            'scale': first.scale,
            'translate': first.translate,
            'affine': first.affine.affine_matrix,
            'rotate': first.rotate,
            'shear': first.shear,
        },
        engine=engine,
        plane=index,
        planes=planes,
        confirm=confirm,
        progress=progress,
        cancel=cancel,
        concurrency=concurrency,
        batch_progress=batch_progress,
    )
    return [
        _channel_layer(layer, output)
        for layer, output in zip(layers, outputs, strict=True)
    ]


def channel_siblings(
    layer: Any, layers: Iterable[Any]
) -> list[napari.layers.Image]:
    """The layers of *layers* that are channels of *layer*'s image.

    Greyscale Image layers of its shape and world placement, *layer*
    included, in the order of *layers*; not results of the plugin.
    Empty when *layer* is not such a layer.
    """
    if not isinstance(layer, Image) or layer.rgb:
        return []
    return [
        other
        for other in layers
        if isinstance(other, Image)
        and not other.rgb
        and 'outpaint' not in (other.metadata or {})
        and other.multiscale == layer.multiscale
        and _level0(other).shape == _level0(layer).shape
        and _same_placement(other, layer)
    ]


def _level0(layer) -> Any:
    return layer.data[0] if layer.multiscale else layer.data


def _check_channels(layers: Sequence[Any]) -> list[napari.layers.Image]:
    layers = list(layers)
    if not layers:
        raise InvalidInputError(
            'layers', 'give at least one image layer (the channels).'
        )
    for layer in layers:
        require_image_layer(layer)
        if layer.rgb:
            raise InvalidInputError(
                'layers',
                f'{layer.name!r} is RGB; channels are greyscale layers '
                '(outpaint an RGB layer with outpaint_layer).',
            )
    first = layers[0]
    for layer in layers[1:]:
        if layer.data.shape != first.data.shape:
            raise InvalidInputError(
                'layers',
                f'{layer.name!r} has shape {layer.data.shape}, '
                f'{first.name!r} {first.data.shape}: channels of one image '
                'have one shape.',
            )
        if not _same_placement(layer, first):
            raise InvalidInputError(
                'layers',
                f'{layer.name!r} is not placed where {first.name!r} is '
                '(scale, translate, rotate, shear, affine): channels of '
                'one image share their placement.',
            )
    return layers


def _same_placement(a, b) -> bool:
    return all(
        np.allclose(np.asarray(x, float), np.asarray(y, float))
        for x, y in (
            (a.scale, b.scale),
            (a.translate, b.translate),
            (a.rotate, b.rotate),
            (a.shear, b.shear),
            (a.affine.affine_matrix, b.affine.affine_matrix),
        )
    )


def _plane_index(layer, plane) -> tuple[int, ...]:
    """The plane to outpaint: *plane*, or the one the viewer shows."""
    lead_shape = tuple(layer.data.shape[: layer.ndim - 2])
    if plane is None and lead_shape:
        return require_plane_shown(layer)
    return normalize_plane(plane, lead_shape)


def _channel_layer(layer, output: ChannelOutput) -> Image:
    """A channel's output as a layer styled like *layer*."""
    kwargs = output.layer_kwargs
    return Image(
        output.data,
        name=f'{layer.name} [outpainted]',
        scale=kwargs['scale'],
        translate=kwargs['translate'],
        affine=kwargs.get('affine'),
        rotate=kwargs.get('rotate'),
        shear=kwargs.get('shear'),
        colormap=layer.colormap,
        contrast_limits=layer.contrast_limits,
        gamma=layer.gamma,
        blending=layer.blending,
        opacity=layer.opacity,
        units=layer.units,
        axis_labels=layer.axis_labels,
        metadata={
            'outpaint': output.provenance,
            'outpaint_mask': output.mask,
        },
    )
