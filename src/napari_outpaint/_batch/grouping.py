"""A batch's paid runs sent together, when its engine can (Runflow batches).

:func:`grouped_requests` is entered around a batch's planes: an engine with
``group_requests(expected, in_flight)`` (the Runflow engine with
``batch_route='auto'``) then sends the runs in flight together as one
batch request; any other engine is unchanged. How many planes such a
batch keeps in flight when no concurrency was asked for is the engine's
``planes_in_flight()``, read by ``_batch.outpaint.default_concurrency``.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager

from napari_outpaint._cache import CostEstimate
from napari_outpaint.engines import Engine

__all__ = ['grouped_requests']


def grouped_requests(
    engine: Engine, estimate: CostEstimate, in_flight: int
) -> AbstractContextManager[None]:
    """The engine's grouping of the batch's paid runs, or a no-op.

    Parameters
    ----------
    engine : Engine
        The batch's (unwrapped) engine.
    estimate : CostEstimate
        Its paid planes times their passes are the runs to expect.
    in_flight : int
        The batch's worker threads.
    """
    group = getattr(engine, 'group_requests', None)
    if not callable(group):
        return contextlib.nullcontext()
    return group(estimate.n_paid * estimate.n_passes, in_flight)
