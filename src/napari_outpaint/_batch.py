"""Outpaint many planes of an nD array into one aligned nD result.

Every selected plane goes through the pipeline's single-plane path
(:func:`napari_outpaint._pipeline.outpaint_array`) with a
:class:`~napari_outpaint._cached_engine.CachingEngine`, so each plane is
answered from the cache when it can be, collected when a run of it was
submitted earlier, and stored before it is shown. Around that:

- bounded concurrency (a thread pool of ``concurrency`` workers);
- one shared rate-limit gate: a 429 that outlives the engine's own retries
  closes the gate for every worker (``Retry-After`` honoured), and the
  plane is tried again;
- the cost guard: the price is estimated (cached planes free) and a
  confirmation must approve it before any paid run; a :class:`SpendCap`
  and a 402 stop new runs at once (cached planes are still served);
- one failing plane does not stop the others; finished planes are always
  kept; a cancel stops everything and keeps what finished.

The result covers the bounding box of the selected planes along the
non-spatial axes (all of them for ``planes='all'``), with the same
placement as a single plane.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from napari_outpaint._batch_result import (
    BatchProgress,
    BatchResult,
    PlaneOutcome,
    as_event_callback,
)
from napari_outpaint._cache import ResultCache
from napari_outpaint._cached_engine import CachingEngine
from napari_outpaint._cost import (
    ConfirmCallback,
    SpendCap,
    estimate_cost,
    session_spend_cap,
)
from napari_outpaint._errors import (
    AuthenticationError,
    BudgetError,
    ConfigurationError,
    InsufficientCreditError,
    InvalidInputError,
    OutpaintCancelled,
    OutpaintError,
    PermissionDeniedError,
    RateLimitError,
    RunFailedError,
)
from napari_outpaint._expand import Expand
from napari_outpaint._planes import Plane, planes_along, select_planes
from napari_outpaint._progress import CancelToken, ProgressEvent

__all__ = [
    'DEFAULT_CONCURRENCY',
    'BatchProgress',
    'BatchResult',
    'PlaneOutcome',
    'RateGate',
    'as_event_callback',
    'outpaint_planes',
    'planes_along',
    'select_planes',
]

#: Default number of planes in flight (see bench/bench_batch.py).
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16
#: Planes converting pixels at once (the rest wait on the network).
HEAVY_SLOTS = 1
_RATE_LIMIT_ATTEMPTS = 5
_STOPPING = (
    InsufficientCreditError,
    BudgetError,
    AuthenticationError,
    PermissionDeniedError,
    ConfigurationError,
    InvalidInputError,
)

_STYLE_KEYS = ('name', 'rgb', 'contrast_limits', 'gamma', 'rotate', 'shear')


# -- rate limit gate -----------------------------------------------------
class RateGate:
    """A gate all workers pass before a new run; a 429 closes it for all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reopen_at = 0.0
        self.closures = 0

    def close_for(self, seconds: float) -> None:
        """Keep every worker from starting a run for *seconds*."""
        with self._lock:
            self._reopen_at = max(self._reopen_at, time.monotonic() + seconds)
            self.closures += 1

    def wait(self, cancel: CancelToken) -> None:
        """Return once the gate is open; raise if cancelled meanwhile."""
        while True:
            with self._lock:
                remaining = self._reopen_at - time.monotonic()
            if remaining <= 0:
                return
            if cancel.wait(remaining):
                cancel.raise_if_cancelled()


# -- the batch -----------------------------------------------------------
class _NewRunsStopped(OutpaintError):
    """Internal: the batch stopped new runs before this plane's run."""


class _Batch:
    """The shared state of one running batch."""

    def __init__(self, total, progress, cancel, cap, price):
        self.lock = threading.Lock()
        self.total = total
        self.progress = progress
        self.cancel = cancel
        self.cap = cap
        self.price = price
        self.gate = RateGate()
        self.stop_error: BaseException | None = None
        self.finished = 0
        self.failed = 0
        self.fractions: dict[Plane, float] = {}

    def stop(self, error: BaseException) -> None:
        with self.lock:
            if self.stop_error is None:
                self.stop_error = error

    def before_run(self) -> None:
        """Called by the CachingEngine right before a paid run."""
        self.cancel.raise_if_cancelled()
        if self.stop_error is not None:
            raise _NewRunsStopped(str(self.stop_error))
        self.gate.wait(self.cancel)
        if self.stop_error is not None:
            raise _NewRunsStopped(str(self.stop_error))
        self.cap.reserve(self.price)

    def after_run(self, result, error, run_created) -> None:
        charged = result is not None or (
            run_created and not isinstance(error, RunFailedError)
        )
        self.cap.settle(self.price, charged=charged)

    def report(self, plane, event, message='') -> None:
        if self.progress is None:
            return
        with self.lock:
            if plane is not None and event and event.fraction is not None:
                self.fractions[plane] = float(event.fraction)
            done = self.finished + self.failed
            running = sum(self.fractions.values())
            fraction = min(1.0, (done + running) / max(1, self.total))
            self.progress(
                BatchProgress(
                    plane,
                    event,
                    self.finished,
                    self.failed,
                    self.total,
                    fraction,
                    message or (event.message if event else ''),
                )
            )

    def count(self, plane, ok: bool) -> None:
        with self.lock:
            self.fractions.pop(plane, None)
            if ok:
                self.finished += 1
            else:
                self.failed += 1


class _HeavyPhase:
    """Bound how many planes convert pixels (CPU, memory) at once.

    A worker holds a slot while the pipeline prepares its plane and while
    it maps the result back, and gives the slot up while the engine waits
    on the network. So many runs are in flight, but only a few planes'
    float64 intermediates exist at any moment: this keeps a big stack's
    peak memory near its own size (see bench/bench_batch.py).
    """

    def __init__(self, slots: threading.Semaphore) -> None:
        self.slots = slots
        self.held = False

    def acquire(self) -> None:
        if not self.held:
            self.slots.acquire()
            self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.slots.release()

    @contextlib.contextmanager
    def outside(self) -> Iterator[None]:
        """Give the slot up for the duration of the block."""
        self.release()
        try:
            yield
        finally:
            self.acquire()


class _Assembly:
    """The nD output, allocated on the first finished plane."""

    def __init__(self, origin: Plane, lead_shape: tuple[int, ...]):
        self.lock = threading.Lock()
        self.origin = origin
        self.lead_shape = lead_shape
        self.data: np.ndarray | None = None
        self.masks: dict[Plane, np.ndarray] = {}
        self.first = None  # (scale, translate, affine, plane_shape)
        self.style: dict[str, Any] = {}
        self.filled = np.zeros(lead_shape, bool)

    def add(self, plane: Plane, result: Any, n_lead: int) -> None:
        pdata = np.asarray(result.data)
        pdata = pdata.reshape(pdata.shape[n_lead:])
        mask = _plane_mask(result.mask, n_lead)
        with self.lock:
            if self.data is None:
                self.data = np.zeros(
                    self.lead_shape + pdata.shape, pdata.dtype
                )
                self.first = (
                    tuple(result.scale),
                    tuple(result.translate),
                    result.affine,
                    pdata.shape,
                )
                self.style = {
                    k: v
                    for k, v in result.layer_kwargs().items()
                    if k in _STYLE_KEYS and v is not None
                }
        shape = self.first[3]
        if pdata.shape != shape:
            pdata = _resample(pdata, shape)
            mask = _resample(mask, shape[: mask.ndim], nearest=True)
        where = _offset(plane, self.origin)
        self.data[where] = pdata
        with self.lock:
            shared = next(iter(self.masks.values()), None)
            if shared is not None and np.array_equal(mask, shared):
                mask = shared  # one mask for all planes, not one per plane
            self.masks[plane] = mask
            self.filled[where] = True

    def mask(self) -> np.ndarray | None:
        if self.data is None:
            return None
        masks = list(self.masks.values())
        first = masks[0]
        if all(m is first for m in masks[1:]) and bool(self.filled.all()):
            return np.broadcast_to(first, self.lead_shape + first.shape)
        out = np.zeros(self.lead_shape + first.shape, bool)
        for plane, m in self.masks.items():
            out[_offset(plane, self.origin)] = m
        return out


def _offset(plane: Plane, origin: Plane) -> Plane:
    return tuple(i - o for i, o in zip(plane, origin, strict=True))


def _plane_mask(mask: Any, n_lead: int) -> np.ndarray:
    m = np.asarray(mask, dtype=bool)
    while m.ndim > 2 and m.shape[0] == 1 and n_lead > 0:
        m = m[0]
        n_lead -= 1
    return m


def _resample(plane: np.ndarray, shape, *, nearest=False) -> np.ndarray:
    """Resample *plane* onto *shape* (same extent), keeping its dtype.

    Pixel edges span the same extent on both grids (``grid_mode``), as
    napari's pixel-centre convention needs; extra axes are kept.
    """
    from scipy import ndimage

    target = tuple(shape) + plane.shape[len(shape) :]
    factors = [t / n for t, n in zip(target, plane.shape, strict=True)]
    work = plane if nearest else plane.astype(np.float64)
    out = ndimage.zoom(
        work,
        factors,
        order=0 if nearest else 1,
        mode='nearest',
        grid_mode=True,
    )
    if plane.dtype.kind in 'ui':
        info = np.iinfo(plane.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(plane.dtype)


def _global_limits(data, rgb) -> tuple[float, float] | None:
    """One set of contrast limits for every plane, so planes match.

    Computed over *all* planes, not only the selected ones, so that a
    resumed batch over another selection sends the same pixels (and hits
    the cache).
    """
    from napari_outpaint._imaging import default_contrast_limits, select_plane

    if np.dtype(data.dtype) == np.uint8:
        return None
    lo, hi = np.inf, -np.inf
    n_lead = len(data.shape) - 2 - int(rgb)
    for plane in select_planes(data.shape[:n_lead]):
        a, b = default_contrast_limits(select_plane(data, plane, rgb=rgb))
        lo, hi = min(lo, a), max(hi, b)
    return (lo, hi) if np.isfinite(lo) and np.isfinite(hi) else None


def _count_cached(
    data, planes, rgb, limits, gamma, expand, model, cache
) -> tuple[int, int]:
    """Planes answered from the cache / already submitted, for the price."""
    from napari_outpaint._imaging import (
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
            model,
        )
        if cache.get(key) is not None:
            cached += 1
        elif key in pending_keys:
            pending += 1
    return cached, pending


def outpaint_planes(
    data: Any,
    expand: Expand,
    *,
    planes: str | Iterable[Any] = 'all',
    engine: Any = None,
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
) -> BatchResult:
    """Outpaint several planes of *data* into one aligned nD result.

    Parameters
    ----------
    data : array-like
        ``(..., rows, cols)`` or ``(..., rows, cols, 3|4)`` (RGB).
    expand : Expand
        The same percentages for every plane.
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
        Planes in flight at once (1-16, default
        :data:`DEFAULT_CONCURRENCY`).
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

    Returns
    -------
    BatchResult
        Never raises for a plane's failure, a 402, a cap or a cancel: see
        ``outcomes`` and ``stopped_by``.
    """
    from napari_outpaint._imaging import as_level0, leading_ndim
    from napari_outpaint._pipeline import outpaint_array
    from napari_outpaint._validate import check_data, check_expand
    from napari_outpaint.engines import resolve_engine

    check_expand(expand)
    data = as_level0(data)
    shape = tuple(int(n) for n in data.shape)
    rgb = check_data(data, rgb)
    n_lead = leading_ndim(len(shape), rgb)
    selected = select_planes(shape[:n_lead], planes)
    workers = DEFAULT_CONCURRENCY if concurrency is None else concurrency
    if (
        isinstance(workers, bool)
        or not isinstance(workers, int)
        or not (1 <= workers <= MAX_CONCURRENCY)
    ):
        raise InvalidInputError(
            'concurrency', f'must be an int 1-{MAX_CONCURRENCY}.'
        )
    inner = resolve_engine(engine)
    cache = cache if cache is not None else ResultCache()
    cap = spend_cap if spend_cap is not None else session_spend_cap()
    cancel = cancel if cancel is not None else CancelToken()
    limits = (
        tuple(contrast_limits)
        if contrast_limits is not None
        else (None if rgb else _global_limits(data, rgb))
    )

    price = float(getattr(inner, 'price_per_image_usd', 0.0) or 0.0)
    n_cached, n_pending = (0, 0)
    if price > 0:
        n_cached, n_pending = _count_cached(
            data, selected, rgb, limits, gamma, expand, inner.model, cache
        )
    estimate = estimate_cost(
        len(selected), inner, n_cached=n_cached, n_pending=n_pending
    )
    if estimate.needs_confirmation and not (
        confirm is True or (callable(confirm) and confirm(estimate))
    ):
        raise BudgetError(
            f'Not confirmed: {estimate.text}. Confirm the price to run '
            '(confirm=True in Python, --yes on the command line).'
        )

    origin = tuple(min(p[a] for p in selected) for a in range(n_lead))
    lead_shape = tuple(
        max(p[a] for p in selected) - origin[a] + 1 for a in range(n_lead)
    )
    batch = _Batch(len(selected), progress, cancel, cap, price)
    heavy_slots = threading.Semaphore(HEAVY_SLOTS)
    assembly = _Assembly(origin, lead_shape)
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
        heavy = _HeavyPhase(heavy_slots)
        wrapped = CachingEngine(
            inner,
            cache,
            info={'plane': list(plane)},
            before_run=batch.before_run,
            after_run=batch.after_run,
            around_engine=heavy.outside,
        )
        try:
            heavy.acquire()
            return _attempts(plane, wrapped, heavy)
        finally:
            heavy.release()

    def _attempts(plane, wrapped, heavy) -> PlaneOutcome:
        run_ids: list[str] = []

        def on_event(event: ProgressEvent) -> None:
            if event.run_id and event.run_id not in run_ids:
                run_ids.append(event.run_id)
            batch.report(plane, event)

        for attempt in range(_RATE_LIMIT_ATTEMPTS):
            try:
                result = outpaint_array(
                    data,
                    expand,
                    engine=wrapped,
                    plane=plane,
                    rgb=rgb,
                    contrast_limits=limits,
                    gamma=gamma,
                    scale=scale,
                    translate=translate,
                    affine=affine,
                    rotate=rotate,
                    shear=shear,
                    keep_native_resolution=keep_native_resolution,
                    progress=on_event,
                    cancel=cancel,
                    source_name=source_name,
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
            except _NewRunsStopped:
                return PlaneOutcome(plane, 'not run', error=batch.stop_error)
            except OutpaintCancelled as exc:
                batch.stop(exc)
                return PlaneOutcome(
                    plane, 'cancelled', run_id=exc.run_id, error=exc
                )
            except _STOPPING as exc:
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
        heavy.release()
        source = wrapped.last_source or 'run'
        status = {'cache': 'cached', 'collected': 'collected'}.get(
            source, 'done'
        )
        er = getattr(result, 'engine_result', None)
        prov = dict(getattr(result, 'provenance', {}) or {})
        prov['cached'] = status == 'cached'
        provenances[plane] = prov
        assembly.add(plane, result, n_lead)
        wrapped.record_provenance(prov)
        return PlaneOutcome(
            plane,
            status,
            run_id=getattr(er, 'run_id', None),
            cost_usd=price if status == 'done' else 0.0,
        )

    batch.report(None, None, f'Starting {len(selected)} planes: {estimate}')
    pool = ThreadPoolExecutor(workers, thread_name_prefix='outpaint-batch')
    try:
        futures = [pool.submit(run_plane, p) for p in selected]
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
    first = assembly.first
    lead_scale = _lead(scale, n_lead, 1.0)
    lead_translate = _lead(translate, n_lead, 0.0)
    lead_translate = tuple(
        t + o * s
        for t, o, s in zip(lead_translate, origin, lead_scale, strict=True)
    )
    if first is not None:
        out_scale = lead_scale + tuple(first[0][n_lead:])
        out_translate = lead_translate + tuple(first[1][n_lead:])
        out_affine = first[2]
    else:
        out_scale, out_translate, out_affine = (), (), None
    provenance = {
        'batch': {
            'planes': [list(p) for p in selected],
            'origin': list(origin),
            'expand': expand.as_dict(),
            'engine': inner.name,
            'model': inner.model,
            'estimate': estimate.text,
            'cost_usd': round(sum(o.cost_usd for o in ordered), 2),
            'outcomes': [
                {
                    'plane': list(o.plane),
                    'status': o.status,
                    'run_id': o.run_id,
                    'error': str(o.error) if o.error else None,
                }
                for o in ordered
            ],
            'stopped_by': str(stop) if stop else None,
        },
        'planes': {
            ','.join(map(str, p)): provenances[p]
            for p in selected
            if p in provenances
        },
    }
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


def _lead(values, n_lead, default) -> tuple[float, ...]:
    """The non-spatial entries of a scale or translate (or defaults)."""
    if values is None:
        return (default,) * n_lead
    return tuple(float(v) for v in values)[:n_lead]


def _last(items: list[str]) -> str | None:
    return items[-1] if items else None
