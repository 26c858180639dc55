"""``outpaint_layer(..., planes=...)``: a batch over a napari Image layer.

The napari-facing twin of :func:`napari_outpaint._batch.outpaint_planes`,
as :func:`napari_outpaint._pipeline.outpaint_layer` is for one plane: the
layer's data and transform go in, one new aligned Image layer (not added)
comes out, styled like the original.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from napari_outpaint._batch import as_event_callback, outpaint_planes
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._layers import (
    require_image_layer,
    result_layer,
    source_data,
    source_kwargs,
)

if TYPE_CHECKING:
    import napari.layers

    from napari_outpaint._batch_result import BatchProgress
    from napari_outpaint._cache import ResultCache
    from napari_outpaint._cost import ConfirmCallback, SpendCap
    from napari_outpaint._expand import Expand
    from napari_outpaint._progress import CancelToken, ProgressCallback

__all__ = ['outpaint_layer_planes']


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
