"""``outpaint_layer``: a napari Image layer in, a new aligned layer out.

The napari-facing twin of the array pipeline: the layer's data, display
mapping and world transform go in (:func:`~._layers.convert.source_kwargs`),
one plane goes through :func:`napari_outpaint._pipeline.outpaint_array`,
several through :func:`napari_outpaint._batch.outpaint_planes`, and one new
Image layer (not added to any viewer) comes out, styled like the original.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from napari_outpaint._batch.outpaint import outpaint_planes
from napari_outpaint._batch.result import as_event_callback
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._layers.convert import (
    plane_shown,
    require_image_layer,
    result_layer,
    source_data,
    source_kwargs,
)
from napari_outpaint._pipeline.array import outpaint_array

if TYPE_CHECKING:
    import napari.layers

    from napari_outpaint._batch.result import BatchProgress
    from napari_outpaint._cache.cost import ConfirmCallback, SpendCap
    from napari_outpaint._cache.store import ResultCache
    from napari_outpaint._expand import Expand
    from napari_outpaint._progress import CancelToken, ProgressCallback
    from napari_outpaint.engines import Engine

__all__ = ['outpaint_layer', 'outpaint_layer_planes']


def outpaint_layer(
    layer: napari.layers.Image,
    expand: Expand,
    *,
    engine: Engine | str | None = None,
    plane: Sequence[int] | int | None = None,
    keep_native_resolution: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    planes: str | Sequence[Sequence[int] | int] | None = None,
    confirm: bool | Callable[[str], bool] | None = None,
    concurrency: int | None = None,
) -> napari.layers.Image:
    """Outpaint an Image layer; return a new, aligned layer (not added).

    Parameters
    ----------
    layer : napari.layers.Image
        Never modified. Multiscale layers use level 0.
    expand : Expand
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
        *confirm* (True, or a callable shown the price text).
    confirm, concurrency
        For *planes*: price confirmation and the number of runs in flight
        (1-32; default ``NAPARI_OUTPAINT_CONCURRENCY``, else 4).

    Returns
    -------
    napari.layers.Image
        Named ``'<name> [outpainted]'``, with the original's colormap,
        contrast limits, gamma, blending, opacity, units and axis labels;
        ``metadata['outpaint']`` holds the provenance and
        ``metadata['outpaint_mask']`` the generated-pixel mask (see
        :func:`~napari_outpaint.mask_layer`).
    """
    require_image_layer(layer)
    if planes is not None:
        return outpaint_layer_planes(
            layer,
            expand,
            planes=planes,
            engine=engine,
            keep_native_resolution=keep_native_resolution,
            progress=progress,
            cancel=cancel,
            confirm=confirm,
            concurrency=concurrency,
        )
    lead = layer.ndim - 2
    if plane is None and lead > 0:
        plane = plane_shown(layer)
        if plane is None:
            raise InvalidInputError(
                'plane',
                f'layer {layer.name!r} has {layer.ndim} dimensions and no '
                'plane shown in a 2D view; pass plane= with one index per '
                f'leading axis, e.g. plane={(0,) * lead}.',
            )
    result = outpaint_array(
        source_data(layer),
        expand,
        engine=engine,
        plane=plane,
        keep_native_resolution=keep_native_resolution,
        progress=progress,
        cancel=cancel,
        **source_kwargs(layer),
    )
    return result_layer(layer, result)


def outpaint_layer_planes(
    layer: napari.layers.Image,
    expand: Expand,
    *,
    planes: str | Iterable[Any] = 'all',
    engine: Any = None,
    keep_native_resolution: bool = False,
    progress: ProgressCallback | None = None,
    batch_progress: Callable[[BatchProgress], None] | None = None,
    cancel: CancelToken | None = None,
    confirm: ConfirmCallback | bool | None = None,
    concurrency: int | None = None,
    spend_cap: SpendCap | None = None,
    cache: ResultCache | None = None,
) -> napari.layers.Image:
    """Outpaint several planes of *layer* into one new aligned layer.

    Parameters
    ----------
    layer : napari.layers.Image
        Never modified; nD (the planes are along its non-spatial axes).
    expand : Expand
    planes : 'all' or list
        See :func:`napari_outpaint._batch.select_planes`.
    engine, keep_native_resolution, cancel
        As for ``outpaint_layer``.
    progress : callable, optional
        A single-plane style ``ProgressEvent`` callback; its fraction is
        the batch's overall progress.
    batch_progress : callable, optional
        Receives every :class:`BatchProgress` (per plane and overall).
    confirm, concurrency, spend_cap, cache
        As for :func:`~napari_outpaint._batch.outpaint_planes`; a paid
        batch needs ``confirm``.

    Returns
    -------
    napari.layers.Image
        ``metadata['outpaint']`` holds the batch provenance (per-plane
        outcomes included) and ``metadata['outpaint_mask']`` the mask.
        When some planes did not finish, they are 0 and a ``UserWarning``
        says which and how to finish (run again: the finished planes come
        from the cache).

    Raises
    ------
    OutpaintError
        What stopped the batch, when no plane finished at all.
    """
    require_image_layer(layer)
    if layer.ndim < 3:
        raise InvalidInputError(
            'planes',
            f'layer {layer.name!r} is 2D: there is one plane; call '
            'outpaint_layer without planes=.',
        )
    reports = []
    if progress is not None:
        reports.append(as_event_callback(progress))
    if batch_progress is not None:
        reports.append(batch_progress)

    def report(item: BatchProgress) -> None:
        for callback in reports:
            callback(item)

    result = outpaint_planes(
        source_data(layer),
        expand,
        planes=planes,
        engine=engine,
        keep_native_resolution=keep_native_resolution,
        cache=cache,
        concurrency=concurrency,
        confirm=confirm,
        spend_cap=spend_cap,
        progress=report if reports else None,
        cancel=cancel,
        **source_kwargs(layer),
    )
    result.raise_if_nothing_finished()
    if not result.complete:
        warnings.warn(result.summary(), UserWarning, stacklevel=2)
    return result_layer(layer, result)
