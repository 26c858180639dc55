"""The price of a batch, counted and confirmed before any paid run."""

from __future__ import annotations

from collections.abc import Sequence

from napari_outpaint._batch.selection import Plane
from napari_outpaint._cache import (
    ConfirmCallback,
    CostEstimate,
    ResultCache,
    cache_model_id,
    estimate_cost,
    is_confirmed,
    price_of,
)
from napari_outpaint._canvas import CanvasPlan
from napari_outpaint._errors import BudgetError
from napari_outpaint._expand import Expand
from napari_outpaint._imaging import to_rgb8
from napari_outpaint._pipeline import Source
from napari_outpaint.engines import Engine

__all__ = ['confirm_batch_price']


def _count_cached(
    source: Source,
    planes: Sequence[Plane],
    expand: Expand,
    engine: Engine,
    cache: ResultCache,
) -> tuple[int, int]:
    """Planes answered from the cache / already submitted, for the price.

    Each plane is converted to the 8-bit pixels the engine would be sent,
    to look its key up; nothing is kept (the run converts it again).
    """
    pending_keys = {p.key for p in cache.pending()}
    if not pending_keys and not cache.entries():
        return 0, 0  # an empty cache: no need to look at the pixels
    model_id = cache_model_id(engine)
    cached = pending = 0
    for plane in planes:
        pixels = source.plane(plane)
        sent = to_rgb8(
            pixels,
            rgb=source.rgb,
            contrast_limits=source.limits_for(pixels),
            gamma=source.gamma,
        )
        key = cache.key_for(sent, expand, model_id)
        if cache.get(key) is not None:
            cached += 1
        elif key in pending_keys:
            pending += 1
    return cached, pending


def confirm_batch_price(
    source: Source,
    planes: Sequence[Plane],
    *,
    plan: CanvasPlan,
    engine: Engine,
    cache: ResultCache,
    confirm: ConfirmCallback | bool | None,
) -> CostEstimate:
    """The batch's price (cached planes free); raise unless confirmed.

    A plane counts as cached or submitted by its first pass (a plan of
    several passes pays each; a plane whose first pass is cached is
    counted free, as a re-run is).

    Raises
    ------
    BudgetError
        When paid runs are needed and *confirm* is None or declines.
    """
    n_cached, n_pending = (0, 0)
    if price_of(engine) > 0:
        n_cached, n_pending = _count_cached(
            source, planes, plan.passes[0].expand, engine, cache
        )
    estimate = estimate_cost(
        len(planes),
        engine,
        n_cached=n_cached,
        n_pending=n_pending,
        n_passes=len(plan.passes),
    )
    if estimate.needs_confirmation and not is_confirmed(estimate, confirm):
        raise BudgetError(
            f'Not confirmed: {estimate.text}. Confirm the price to run '
            '(confirm=True in Python, --yes on the command line).'
        )
    return estimate
