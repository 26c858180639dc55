"""``outpaint_layer``: a napari Image layer in, a new aligned layer out.

The napari-facing twin of the array pipeline: the layer's data, display
mapping and world transform become a validated source
(:func:`~napari_outpaint._layers.convert.layer_source`), the dispatcher
(:func:`napari_outpaint._batch.dispatch.outpaint_source`) outpaints one
plane or a batch of planes, and one new Image layer (not added to any
viewer) comes out, styled like the original.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import napari.layers

from napari_outpaint._batch import (
    BatchProgress,
    BatchResult,
    StoreOutput,
    outpaint_source,
)
from napari_outpaint._canvas import Canvas
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import Expand
from napari_outpaint._layers.channel_axis import outpaint_channel_axis
from napari_outpaint._layers.convert import (
    layer_source,
    require_image_layer,
    require_plane_shown,
    result_layer,
)
from napari_outpaint._progress import CancelToken, ProgressCallback
from napari_outpaint.engines import Engine, resolve_engine

__all__ = ['outpaint_layer']


def outpaint_layer(
    layer: napari.layers.Image,
    expand: Expand | Canvas,
    *,
    channel_axis: int | None = None,
    engine: Engine | str | None = None,
    plane: Sequence[int] | int | None = None,
    keep_native_resolution: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    planes: str | Sequence[Sequence[int] | int] | None = None,
    confirm: bool | Callable[[str], bool] | None = None,
    concurrency: int | None = None,
    batch_progress: Callable[[BatchProgress], None] | None = None,
    client: Any = None,
    output: str | os.PathLike[str] | None = None,
) -> napari.layers.Image:
    """Outpaint an Image layer; return a new, aligned layer (not added).

    Parameters
    ----------
    layer : napari.layers.Image
        Never modified. Multiscale layers use level 0.
    expand : Expand or Canvas
        An ``Expand`` is one Runflow request; a ``Canvas`` (pixels, the
        layer's world units, a target shape, an aspect ratio, any
        percentage) is planned as passes and cropped to exactly the wish.
    channel_axis : int, optional
        The axis of *layer* that holds channels (a ``(C, Y, X)`` or
        ``(Z, C, Y, X)`` layer): they are outpainted together, up to three
        per Runflow run (``ceil(C / 3)`` runs per plane; the local engine:
        all in one run), each through its own range computed from the
        data (its finite min and max over every plane); one result layer
        with the same axes. *plane* / *planes* then index the other
        non-displayed axes.
    engine : Engine, str or None
    plane : sequence of int or int, optional
        For nD layers; None uses the plane the viewer shows (when the
        layer has been shown in a viewer), else it is required.
    keep_native_resolution, progress, cancel
        As in :func:`~napari_outpaint.outpaint_array`.
    planes : 'all' or sequence, optional
        Outpaint several planes of an nD layer (``'all'``, or a list of
        plane indices) into one nD layer; see
        :func:`napari_outpaint._batch.outpaint_planes`. Paid batches need
        *confirm* (True, or a callable shown the price text). When some
        planes do not finish, they are 0 and a ``UserWarning`` says which
        and how to finish (run again: the finished planes come from the
        cache).
    confirm, concurrency
        Price confirmation (a batch, or a canvas of several paid passes:
        True, or a callable shown the price) and, for *planes*, the number
        of runs in flight (1-32; default ``NAPARI_OUTPAINT_CONCURRENCY``,
        else the settings file, else 4).
    batch_progress : callable, optional
        For *planes*: receives each ``BatchProgress`` (plane, counts,
        overall fraction) instead of *progress* getting it as text.
    client : distributed.Client, optional
        Run the local engine's PatchMatch fills as tasks on this Dask
        cluster (*engine* None or ``'local'`` is then the local engine);
        without it, the client active in this process is used, if any.
        A batch then keeps as many planes in flight as the cluster has
        worker threads (up to 32) unless *concurrency* says otherwise.
    output : path, optional
        For *planes*: ``'result.zarr'``, an OME-Zarr store each finished
        plane is written to as it arrives (with the layer's axis labels,
        units and placement; the mask as ``labels/generated``). The
        result layer is then a lazy dask array over the store, and a
        re-run with the same *output* sends no run for the planes it
        holds. A path that exists and is not such a store, or a store of
        another source or expansion, is refused before any run.

    Returns
    -------
    napari.layers.Image
        Named ``'<name> [outpainted]'``, with the original's colormap,
        contrast limits, gamma, blending, opacity, units and axis labels;
        ``metadata['outpaint']`` holds the provenance and
        ``metadata['outpaint_mask']`` the generated-pixel mask (see
        :func:`~napari_outpaint.mask_layer`).

    Raises
    ------
    OutpaintError
        For a batch: what stopped it, when no plane finished at all.
    """
    require_image_layer(layer)
    if client is not None:
        engine = resolve_engine(engine, client=client)
    if channel_axis is not None and output is not None:
        raise InvalidInputError(
            'output',
            'channels outpainted together are not written to a zarr store '
            'yet; drop output= (the result is then in memory), or outpaint '
            'without channel_axis=.',
        )
    if channel_axis is not None:
        if keep_native_resolution:
            raise InvalidInputError(
                'keep_native_resolution',
                'channels are put back on the original grid; call '
                'outpaint_layer with channel_axis= and without '
                'keep_native_resolution=True.',
            )
        return outpaint_channel_axis(
            layer,
            expand,
            channel_axis=channel_axis,
            engine=engine,
            plane=plane,
            planes=planes,
            confirm=confirm,
            progress=progress,
            cancel=cancel,
            concurrency=concurrency,
            batch_progress=batch_progress,
        )
    lead = layer.ndim - 2
    if planes is not None and lead < 1:
        raise InvalidInputError(
            'planes',
            f'layer {layer.name!r} is 2D: there is one plane; call '
            'outpaint_layer without planes=.',
        )
    if planes is None and plane is None and lead > 0:
        plane = require_plane_shown(layer)
    result = outpaint_source(
        layer_source(layer),
        expand,
        plane=plane,
        planes=planes,
        engine=engine,
        keep_native_resolution=keep_native_resolution,
        progress=progress,
        cancel=cancel,
        confirm=confirm,
        concurrency=concurrency,
        batch_progress=batch_progress,
        output=None if output is None else store_output(layer, output),
    )
    if isinstance(result, BatchResult):
        result.raise_if_nothing_finished()
        if not result.complete:
            warnings.warn(result.summary(), UserWarning, stacklevel=2)
    return result_layer(layer, result)


def store_output(layer: napari.layers.Image, path: Any) -> StoreOutput:
    """*path* as a batch's zarr output, with *layer*'s axis labels and
    units (written as the store's OME axes)."""
    labels = getattr(layer, 'axis_labels', None)
    units = getattr(layer, 'units', None)
    return StoreOutput(
        path,
        axis_names=None if labels is None else [str(a) for a in labels],
        units=None if units is None else [str(u) for u in units],
    )
