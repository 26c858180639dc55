"""``outpaint_layers``: channels of one image outpainted together.

Layers that are channels of one image (same shape, same world placement:
napari's ``channel_axis`` layers are the common case) go into the R, G
and B of one request, three at a time, each channel scaled by its own
contrast limits and gamma; the result is split back, each channel mapped
back to its own dtype and range with its original pixels put back
bit-identical. So the generated structure is the same in every channel
of a group, and one plane costs ``ceil(C / 3)`` runs, not ``C``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import napari.layers
import numpy as np
from napari.layers import Image

from napari_outpaint._cache import (
    ConfirmCallback,
    estimate_cost,
    is_confirmed,
    price_of,
)
from napari_outpaint._canvas import Canvas
from napari_outpaint._errors import BudgetError, InvalidInputError
from napari_outpaint._expand import Expand
from napari_outpaint._imaging import from_rgb8, to_rgb8
from napari_outpaint._layers.convert import (
    layer_source,
    require_image_layer,
    require_plane_shown,
)
from napari_outpaint._pipeline import (
    OutpaintResult,
    normalize_plane,
    outpaint_array,
    plan_for,
)
from napari_outpaint._progress import CancelToken, ProgressCallback
from napari_outpaint.engines import Engine, resolve_engine

__all__ = ['CHANNELS_PER_RUN', 'outpaint_layers']

#: Channels that share one request (its R, G and B).
CHANNELS_PER_RUN = 3


def outpaint_layers(
    layers: Sequence[napari.layers.Image],
    expand: Expand | Canvas,
    *,
    engine: Engine | str | None = None,
    plane: Sequence[int] | int | None = None,
    confirm: bool | ConfirmCallback = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    client: Any = None,
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
    plane : sequence of int or int, optional
        For nD layers; None: the plane the viewer shows.
    confirm : bool or callable
        More than one paid run (more than three channels, or a canvas of
        several passes) runs only with True, or a callable shown the
        price that returns True.
    progress, cancel, client
        As for ``outpaint_layer`` (*client*: the local engine's fills on a
        Dask cluster).

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
    index = _plane_index(first, plane)
    resolved = resolve_engine(engine, client=client)
    groups = [
        layers[i : i + CHANNELS_PER_RUN]
        for i in range(0, len(layers), CHANNELS_PER_RUN)
    ]
    sources = [layer_source(layer) for layer in layers]
    passes = len(plan_for(sources[0], expand).passes)
    _confirm_runs(len(groups), passes, resolved, confirm)
    out: list[Image] = []
    for number, group in enumerate(groups):
        group_sources = sources[
            number * CHANNELS_PER_RUN : (number + 1) * CHANNELS_PER_RUN
        ]
        planes = [s.plane(index) for s in group_sources]
        limits = [
            s.limits_for(p) for s, p in zip(group_sources, planes, strict=True)
        ]
        gammas = [s.gamma for s in group_sources]
        composed = _compose(planes, limits, gammas)
        source = sources[0]
        result = outpaint_array(
            composed.reshape((1,) * source.n_lead + composed.shape),
            expand,
            engine=resolved,
            plane=(0,) * source.n_lead if source.n_lead else None,
            rgb=True,
            contrast_limits=(0, 255),
            scale=source.scale,
            translate=_plane_translate(source, index),
            affine=source.affine,
            rotate=source.rotate,
            shear=source.shear,
            progress=progress,
            cancel=cancel,
            source_name=' + '.join(layer.name for layer in group),
            confirm=True,  # confirmed above for every group
        )
        for k, layer in enumerate(group):
            out.append(
                _channel_layer(
                    layer, result, k, planes[k], limits[k], group, passes
                )
            )
    return out


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


def _confirm_runs(groups: int, passes: int, engine, confirm) -> None:
    runs = groups * passes
    if runs < 2 or price_of(engine) <= 0:
        return
    estimate = estimate_cost(groups, engine, n_passes=passes)
    if is_confirmed(estimate, confirm):
        return
    raise BudgetError(
        f'Not confirmed: {groups} group(s) of up to {CHANNELS_PER_RUN} '
        f'channels, {runs} runs: {estimate.text.replace("plane", "group")}. '
        'Confirm the price to run (confirm=True).'
    )


def _compose(planes, limits, gammas) -> np.ndarray:
    """uint8 ``(rows, cols, 3)``: each channel's own 8-bit view in R, G, B
    (a missing channel is 0)."""
    rows, cols = planes[0].shape
    rgb = np.zeros((rows, cols, 3), dtype=np.uint8)
    for k, (values, lim, gamma) in enumerate(
        zip(planes, limits, gammas, strict=True)
    ):
        rgb[..., k] = to_rgb8(
            values, rgb=False, contrast_limits=lim, gamma=gamma
        )[..., 0]
    return rgb


def _plane_translate(source, index: tuple[int, ...]) -> np.ndarray:
    """The translate that puts plane 0 of a one-plane stack where plane
    *index* of *source* is."""
    shift = np.zeros(source.ndim)
    shift[: len(index)] = index
    return np.asarray(source.translate, float) + source.linear @ shift


def _channel_layer(
    layer, result: OutpaintResult, k, original, limits, group, passes
) -> Image:
    """Channel *k* of a group's result, back in its layer's dtype."""
    channel = np.asarray(result.data)[..., k]
    grey = np.repeat(channel[..., None], 3, axis=-1)
    data = from_rgb8(
        grey.reshape(-1, grey.shape[-2], 3),
        dtype=original.dtype,
        rgb=False,
        contrast_limits=limits,
        gamma=layer.gamma,
    ).reshape(channel.shape)
    mask = np.asarray(result.mask)
    inner = ~mask
    data[inner] = original.ravel()  # bit-identical, in C order
    kwargs = result.layer_kwargs()
    provenance = dict(kwargs['metadata']['outpaint'])
    provenance['channels'] = {
        'layers': [g.name for g in group],
        'channel': k,
        'runs_per_plane': math.ceil(len(group) / CHANNELS_PER_RUN) * passes,
    }
    return Image(
        data,
        name=f'{layer.name} [outpainted]',
        scale=kwargs['scale'],
        translate=kwargs['translate'],
        affine=kwargs['affine'],
        rotate=kwargs.get('rotate'),
        shear=kwargs.get('shear'),
        colormap=layer.colormap,
        contrast_limits=layer.contrast_limits,
        gamma=layer.gamma,
        blending=layer.blending,
        opacity=layer.opacity,
        units=layer.units,
        axis_labels=layer.axis_labels,
        metadata={'outpaint': provenance, 'outpaint_mask': mask},
    )
