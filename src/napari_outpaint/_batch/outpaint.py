"""Outpaint many planes of an nD array into one aligned nD result.

The source is validated once; every selected plane then goes through the
pipeline's one-plane step
(:func:`napari_outpaint._pipeline.array.outpaint_source_plane`), whose
paid runs are guarded by the cache
(:class:`~napari_outpaint._cache.engine.CachingEngine`): each plane is
answered from the cache when it can be, collected when a run of it was
submitted earlier, and stored with its provenance. Around that:

- bounded concurrency (a thread pool of ``concurrency`` workers);
- one shared rate-limit gate: a 429 that outlives the engine's own retries
  closes the gate for every worker (``Retry-After`` honoured), and the
  plane is tried again;
- the cost guard: the price is estimated (cached planes free) and a
  confirmation must approve it before any paid run; a :class:`SpendCap`
  and a 402 stop new runs at once (cached planes are still served);
- one failing plane does not stop the others; finished planes are always
  kept; a cancel stops everything and keeps what finished;
- one batch id (:func:`new_batch_id`), recorded with every plane's cache
  entry and journal record (``batch_id``, ``batch_planes``), so History
  lists the batch as one entry.

The result covers the bounding box of the selected planes along the
non-spatial axes (all of them for ``planes='all'``), with the same
placement as a single plane.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from napari_outpaint._batch.assembly import Assembly
from napari_outpaint._batch.grouping import grouped_requests
from napari_outpaint._batch.price import confirm_batch_price
from napari_outpaint._batch.result import (
    BatchProgress,
    BatchResult,
    PlaneOutcome,
    batch_provenance,
)
from napari_outpaint._batch.selection import Plane, select_planes
from napari_outpaint._batch.state import (
    BatchState,
    HeavyPhase,
    NewRunsStopped,
)
from napari_outpaint._batch.store import (
    StoreOutput,
    as_store_output,
    open_store_assembly,
)
from napari_outpaint._cache import (
    ConfirmCallback,
    PaidRuns,
    ResultCache,
    SpendCap,
    session_spend_cap,
)
from napari_outpaint._canvas import Canvas
from napari_outpaint._errors import (
    STOP_ALL_RUNS,
    ConfigurationError,
    InvalidInputError,
    OutpaintCancelled,
    OutpaintError,
    RateLimitError,
)
from napari_outpaint._expand import Expand
from napari_outpaint._imaging import stack_contrast_limits
from napari_outpaint._pipeline import (
    Source,
    check_plan,
    check_wish,
    outpaint_source_plane,
    prepare_source,
    return_freed_memory,
)
from napari_outpaint._progress import CancelToken, ProgressEvent
from napari_outpaint._settings import (
    CONCURRENCY,
    DEFAULT,
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    resolve,
    setting_value,
)
from napari_outpaint.engines import Engine, resolve_engine

__all__ = [
    'CONCURRENCY_ENV',
    'DEFAULT_CONCURRENCY',
    'MAX_CONCURRENCY',
    'default_concurrency',
    'new_batch_id',
    'outpaint_planes',
    'outpaint_source_planes',
]

#: Environment variable overriding :data:`DEFAULT_CONCURRENCY` (4, see
#: bench/bench_batch.py) and the settings file; at most MAX_CONCURRENCY.
CONCURRENCY_ENV = CONCURRENCY.env  # 'NAPARI_OUTPAINT_CONCURRENCY'
#: Planes converting pixels at once (the rest wait on the network).
HEAVY_SLOTS = 1
_RATE_LIMIT_ATTEMPTS = 5


def outpaint_planes(
    data: Any,
    expand: Expand | Canvas,
    *,
    planes: str | Iterable[Any] = 'all',
    engine: Engine | str | None = None,
    rgb: bool | None = None,
    contrast_limits: Sequence[float] | None = None,
    gamma: float = 1.0,
    scale: Sequence[float] | None = None,
    translate: Sequence[float] | None = None,
    affine: Any = None,
    rotate: Any = None,
    shear: Any = None,
    keep_native_resolution: bool = False,
    source_name: str | None = None,
    cache: ResultCache | None = None,
    concurrency: int | None = None,
    confirm: ConfirmCallback | bool | None = None,
    spend_cap: SpendCap | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
    cancel: CancelToken | None = None,
    output: str | os.PathLike[str] | StoreOutput | None = None,
) -> BatchResult:
    """Outpaint several planes of *data* into one aligned nD result.

    Parameters
    ----------
    data : array-like
        ``(..., rows, cols)`` or ``(..., rows, cols, 3|4)`` (RGB).
    expand : Expand or Canvas
        The same wish for every plane (a Canvas of several passes costs
        that many runs per plane, in the price to confirm).
    planes : 'all' or list
        Which planes of the non-spatial axes (see :func:`select_planes`).
    engine : Engine, str or None
        As for ``outpaint_array``; it is wrapped in a ``CachingEngine``.
    rgb, contrast_limits, gamma, scale, translate, affine, rotate, shear,
    keep_native_resolution, source_name
        As for ``outpaint_array``. With no contrast limits, grayscale
        planes share limits computed over the whole array (every plane).
    cache : ResultCache, optional
        Default ``ResultCache()``.
    concurrency : int, optional
        Planes in flight at once (1-32); default
        :func:`default_concurrency` (``NAPARI_OUTPAINT_CONCURRENCY``, else
        the settings file, else :data:`DEFAULT_CONCURRENCY`).
    confirm : callable, bool or None
        ``confirm(estimate) -> bool`` is asked once before any paid run;
        ``True`` approves in advance. When paid runs are needed and it is
        None or declines, ``BudgetError`` is raised before anything is
        sent.
    spend_cap : SpendCap, optional
        Default the session's (:func:`session_spend_cap`, off unless set).
    progress : callable, optional
        Receives :class:`BatchProgress`, from worker threads, one at a
        time.
    cancel : CancelToken, optional
        Stops every plane; finished planes are kept.
    output : path or StoreOutput, optional
        ``'result.zarr'``: each finished plane is written to this OME-Zarr
        store as it arrives (not kept in memory) and the result's
        ``data``/``mask`` are dask arrays over it; a re-run with the same
        output sends no run for the planes the store holds (see
        :mod:`napari_outpaint._batch.store`).

    Returns
    -------
    BatchResult
        Never raises for a plane's failure, a 402, a cap or a cancel: see
        ``outcomes`` and ``stopped_by``.
    """
    check_wish(expand)
    source = prepare_source(
        data,
        rgb=rgb,
        contrast_limits=contrast_limits,
        gamma=gamma,
        scale=scale,
        translate=translate,
        affine=affine,
        rotate=rotate,
        shear=shear,
        name=source_name,
    )
    return outpaint_source_planes(
        source,
        expand,
        planes=planes,
        engine=engine,
        keep_native_resolution=keep_native_resolution,
        cache=cache,
        concurrency=concurrency,
        confirm=confirm,
        spend_cap=spend_cap,
        progress=progress,
        cancel=cancel,
        output=output,
    )


def outpaint_source_planes(
    source: Source,
    expand: Expand | Canvas,
    *,
    planes: str | Iterable[Any] = 'all',
    engine: Engine | str | None = None,
    keep_native_resolution: bool = False,
    cache: ResultCache | None = None,
    concurrency: int | None = None,
    confirm: ConfirmCallback | bool | None = None,
    spend_cap: SpendCap | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
    cancel: CancelToken | None = None,
    output: str | os.PathLike[str] | StoreOutput | None = None,
) -> BatchResult:
    """:func:`outpaint_planes` for a validated source (see there).

    Grayscale planes without contrast limits share limits computed over
    every plane of the source.
    """
    check_wish(expand)
    selected = select_planes(source.lead_shape, planes)
    plan = check_plan(source, expand)
    inner = resolve_engine(engine)
    workers = (
        default_concurrency(inner) if concurrency is None else concurrency
    )
    if (
        isinstance(workers, bool)
        or not isinstance(workers, int)
        or not (1 <= workers <= MAX_CONCURRENCY)
    ):
        raise InvalidInputError(
            'concurrency', f'must be an int 1-{MAX_CONCURRENCY}.'
        )
    if source.contrast_limits is None and not source.rgb:
        # computed over every plane, not only the selected ones, so that a
        # resumed batch over another selection sends the same pixels
        source = source.with_limits(
            stack_contrast_limits(source.data, rgb=False)
        )
    cache = cache if cache is not None else ResultCache()
    cap = spend_cap if spend_cap is not None else session_spend_cap()
    cancel = cancel if cancel is not None else CancelToken()
    n_lead = source.n_lead
    origin = tuple(min(p[a] for p in selected) for a in range(n_lead))
    lead_shape = tuple(
        max(p[a] for p in selected) - origin[a] + 1 for a in range(n_lead)
    )
    store_output = as_store_output(output)
    if store_output is None:
        assembly = Assembly(origin, lead_shape)
        stored: set[Plane] = set()
    else:  # checked before any run; its complete planes are not sent
        assembly = open_store_assembly(
            store_output,
            source,
            expand,
            engine=inner,
            keep_native_resolution=keep_native_resolution,
            origin=origin,
            lead_shape=lead_shape,
        )
        stored = set(assembly.done)
    todo = [p for p in selected if p not in stored]
    estimate = confirm_batch_price(
        source,
        todo,
        plan=plan,
        engine=inner,
        cache=cache,
        confirm=confirm,
    )
    price = estimate.price_usd

    batch = BatchState(len(selected), progress, cancel)
    for plane in stored:
        batch.count(plane, True)
    batch_id = new_batch_id()
    heavy_slots = threading.Semaphore(HEAVY_SLOTS)
    outcomes: dict[Plane, PlaneOutcome] = {}
    provenances: dict[Plane, Any] = {}

    def run_plane(plane: Plane) -> None:
        outcome = _run_plane(plane)
        outcomes[plane] = outcome
        batch.count(plane, outcome.finished)
        batch.report(plane, None, outcome.message)

    def _run_plane(plane: Plane) -> PlaneOutcome:
        if cancel.cancelled:
            return PlaneOutcome(plane, 'not run', error=OutpaintCancelled())
        heavy = HeavyPhase(heavy_slots)
        try:
            heavy.acquire()
            return _attempts(plane, heavy)
        finally:
            if heavy.held:  # the plane's arrays are gone: hand them back
                return_freed_memory()
            heavy.release()

    def _attempts(plane: Plane, heavy: HeavyPhase) -> PlaneOutcome:
        run_ids: list[str] = []
        paid = PaidRuns(
            cache=cache,
            spend_cap=cap,
            before_run=batch.before_run,
            info={
                'plane': list(plane),
                'batch_id': batch_id,
                'batch_planes': len(selected),
            },
        )

        def on_event(event: ProgressEvent) -> None:
            if event.run_id and event.run_id not in run_ids:
                run_ids.append(event.run_id)
            batch.report(plane, event)

        for attempt in range(_RATE_LIMIT_ATTEMPTS):
            try:
                result = outpaint_source_plane(
                    source,
                    plane,
                    expand,
                    inner,
                    keep_native_resolution=keep_native_resolution,
                    progress=on_event,
                    cancel=cancel,
                    paid=paid,
                    around_engine=heavy.around_engine(inner),
                )
                break
            except RateLimitError as exc:
                if attempt == _RATE_LIMIT_ATTEMPTS - 1:
                    return PlaneOutcome(plane, 'failed', error=exc)
                batch.gate.close_for(
                    exc.retry_after
                    if exc.retry_after is not None
                    else min(30.0, 0.5 * 2**attempt)
                )
            except NewRunsStopped:
                return PlaneOutcome(plane, 'not run', error=batch.stop_error)
            except OutpaintCancelled as exc:
                batch.stop(exc)
                return PlaneOutcome(
                    plane, 'cancelled', run_id=exc.run_id, error=exc
                )
            except (*STOP_ALL_RUNS, InvalidInputError) as exc:
                # every plane shares the source: bad input for one is bad
                # input for all
                batch.stop(exc)
                status = 'not run' if not run_ids else 'failed'
                return PlaneOutcome(plane, status, error=exc)
            except OutpaintError as exc:
                return PlaneOutcome(
                    plane,
                    'failed',
                    run_id=getattr(exc, 'run_id', None) or _last(run_ids),
                    error=exc,
                )
        # the slot stays held until the plane is in the assembly (a store
        # write compresses a whole plane), released by _run_plane
        details = result.engine_result.details
        status = (
            'cached'
            if details.get('cached')
            else 'collected'
            if details.get('collected')
            else 'done'
        )
        prov = dict(result.provenance)
        prov['cached'] = status == 'cached'
        provenances[plane] = prov
        assembly.add(plane, result, n_lead)
        return PlaneOutcome(
            plane,
            status,
            run_id=result.engine_result.run_id,
            cost_usd=price if status == 'done' else 0.0,
        )

    batch.report(None, None, f'Starting {len(todo)} planes: {estimate}')
    pool = ThreadPoolExecutor(workers, thread_name_prefix='outpaint-batch')
    try:
        with grouped_requests(inner, estimate, workers):
            futures = [pool.submit(run_plane, p) for p in todo]
            wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                if future.done():
                    future.result()  # a bug or Ctrl-C in a worker: stop all
            wait(futures)
    except BaseException:
        cancel.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

    outcomes.update((p, PlaneOutcome(p, 'stored')) for p in stored)
    ordered = tuple(
        outcomes.get(p, PlaneOutcome(p, 'not run')) for p in selected
    )
    bad_input = isinstance(
        batch.stop_error, InvalidInputError | ConfigurationError
    )
    if bad_input and not any(o.finished for o in ordered):
        raise batch.stop_error  # bad input or setup: nothing was sent
    stop = batch.stop_error
    if stop is None and cancel.cancelled:
        stop = OutpaintCancelled()
    out_scale, out_translate, out_affine = assembly.placement(
        source.scale, source.translate
    )
    provenance = batch_provenance(
        selected,
        batch_id=batch_id,
        origin=origin,
        expand=plan.passes[0].expand,
        engine=inner,
        estimate=estimate,
        outcomes=ordered,
        stopped_by=stop,
        plane_provenances=provenances,
    )
    if store_output is not None:
        assembly.keep_provenance(provenance)
    result = BatchResult(
        data=assembly.data,
        mask=assembly.mask(),
        filled=assembly.filled,
        scale=out_scale,
        translate=out_translate,
        affine=out_affine,
        provenance=provenance,
        outcomes=ordered,
        estimate=estimate,
        stopped_by=stop,
        style=assembly.style,
    )
    batch.report(None, None, result.summary().splitlines()[0])
    return result


def new_batch_id() -> str:
    """A new id for one batch (16 hex digits), the same for its planes."""
    return uuid.uuid4().hex[:16]


def default_concurrency(engine: Engine | None = None) -> int:
    """Planes in flight when none is given: ``NAPARI_OUTPAINT_CONCURRENCY``,
    else the settings file's ``concurrency``.

    Neither: :data:`DEFAULT_CONCURRENCY` (chosen by
    ``bench/bench_batch.py``), or more when *engine* can use more (the
    local engine on a Dask cluster: its workers' threads; Runflow with its
    batch route on: the route's), up to
    :data:`MAX_CONCURRENCY`. Read at the start of each batch.

    Raises
    ------
    ConfigurationError
        Naming the variable (or the file and the key), when it is not an
        integer 1-32.
    """
    if resolve(CONCURRENCY).source != DEFAULT:
        return setting_value(CONCURRENCY)
    wanted = getattr(engine, 'planes_in_flight', lambda: None)() or 0
    return min(MAX_CONCURRENCY, max(DEFAULT_CONCURRENCY, wanted))


def _last(items: list[str]) -> str | None:
    return items[-1] if items else None
