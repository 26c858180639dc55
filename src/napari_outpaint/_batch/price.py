"""The price of a batch, counted and confirmed before any paid run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from napari_outpaint._batch.selection import Plane, select_planes
from napari_outpaint._cache.cost import (
    ConfirmCallback,
    CostEstimate,
    estimate_cost,
    price_of,
)
from napari_outpaint._cache.key import cache_model_id
from napari_outpaint._cache.store import ResultCache
from napari_outpaint._errors import BudgetError
from napari_outpaint._expand import Expand

__all__ = ['confirm_batch_price', 'shared_limits']


def shared_limits(data, rgb) -> tuple[float, float] | None:
    """One set of contrast limits for every plane, so planes match.

    Computed over *all* planes, not only the selected ones, so that a
    resumed batch over another selection sends the same pixels (and hits
    the cache).
    """
    from napari_outpaint._imaging.convert import (
        default_contrast_limits,
        select_plane,
    )

    if np.dtype(data.dtype) == np.uint8:
        return None
    lo, hi = np.inf, -np.inf
    n_lead = len(data.shape) - 2 - int(rgb)
    for plane in select_planes(data.shape[:n_lead]):
        a, b = default_contrast_limits(select_plane(data, plane, rgb=rgb))
        lo, hi = min(lo, a), max(hi, b)
    return (lo, hi) if np.isfinite(lo) and np.isfinite(hi) else None


def _count_cached(
    data, planes, rgb, limits, gamma, expand, model_id, cache
) -> tuple[int, int]:
    """Planes answered from the cache / already submitted, for the price.

    *model_id* is the engine's :func:`cache_model_id`.
    """
    from napari_outpaint._imaging.convert import (
        default_contrast_limits,
        select_plane,
        to_rgb8,
    )

    pending_keys = {p.key for p in cache.pending()}
    if not pending_keys and not cache.entries():
        return 0, 0  # an empty cache: no need to look at the pixels
    cached = pending = 0
    for plane in planes:
        pixels = select_plane(data, plane, rgb=rgb)
        cl = limits or default_contrast_limits(pixels)
        key = cache.key_for(
            to_rgb8(pixels, rgb=rgb, contrast_limits=cl, gamma=gamma),
            expand,
            model_id,
        )
        if cache.get(key) is not None:
            cached += 1
        elif key in pending_keys:
            pending += 1
    return cached, pending


def confirm_batch_price(
    data: Any,
    planes: Sequence[Plane],
    *,
    rgb: bool,
    limits: tuple[float, float] | None,
    gamma: float,
    expand: Expand,
    engine: Any,
    cache: ResultCache,
    confirm: ConfirmCallback | bool | None,
) -> CostEstimate:
    """The batch's price (cached planes free); raise unless confirmed.

    Raises
    ------
    BudgetError
        When paid runs are needed and *confirm* is None or declines.
    """
    n_cached, n_pending = (0, 0)
    if price_of(engine) > 0:
        n_cached, n_pending = _count_cached(
            data,
            planes,
            rgb,
            limits,
            gamma,
            expand,
            cache_model_id(engine),
            cache,
        )
    estimate = estimate_cost(
        len(planes), engine, n_cached=n_cached, n_pending=n_pending
    )
    if estimate.needs_confirmation and not (
        confirm is True or (callable(confirm) and confirm(estimate))
    ):
        raise BudgetError(
            f'Not confirmed: {estimate.text}. Confirm the price to run '
            '(confirm=True in Python, --yes on the command line).'
        )
    return estimate
