"""An Engine wrapper that never pays twice and never loses a paid result.

:class:`CachingEngine` wraps a paid engine. For each request it:

1. answers from the :class:`~napari_outpaint._cache.store.ResultCache`
   when the same pixels, percentages and model, at the same endpoint
   (:func:`~napari_outpaint._cache.key.cache_model_id`), were outpainted
   before (no cost, ``details['cached'] = True``);
2. else collects a run of the same request that was submitted earlier and
   never collected (the pending journal), instead of paying again;
3. else reserves the run's price against the spend cap (a
   :class:`~napari_outpaint._cache.cost.SpendCap`, the session's by
   default: ``BudgetError`` before any byte is sent when it is reached),
   runs the wrapped engine, recording the run id in the journal as soon as
   the engine reports it (``ProgressEvent.run_id``, before the first
   poll), and settles the price (charged, or released for a run that
   failed or was never created).

A new or collected result is written to the cache once. Used as a plain
engine, :class:`CachingEngine` stores it before returning. Inside a
``with`` block it waits for :meth:`CachingEngine.keep`, so that the entry
is written once with the caller's full provenance (the pipeline keeps it
after placing the result); leaving the block keeps whatever is not yet
kept, so an error after the download never drops a paid result, and until
it is stored its run stays in the journal, so ``collect`` can fetch it.

:func:`caching_engine` is the one place that puts an engine behind the
cache: single runs (``outpaint_array``, the widget, the CLI) and batches
all go through it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import numpy as np

from napari_outpaint._cache.cost import SpendCap, price_of, session_spend_cap
from napari_outpaint._cache.entry import CachedResult
from napari_outpaint._cache.hosted import release_held_inputs
from napari_outpaint._cache.journal import DamagedRecordError
from napari_outpaint._cache.key import cache_model_id, run_key
from napari_outpaint._cache.store import ResultCache
from napari_outpaint._errors import (
    InvalidInputError,
    NotFoundError,
    OutpaintError,
    ResultError,
    RunFailedError,
    SubmissionUnknownError,
)
from napari_outpaint._expand import Expand
from napari_outpaint._imaging import encode_png
from napari_outpaint._progress import (
    CancelToken,
    ProgressCallback,
    ProgressEvent,
    Stage,
)
from napari_outpaint._runflow import RunDurations
from napari_outpaint.engines import Engine, EngineResult
from napari_outpaint.engines.runflow import (
    CLIENT_REF_PREFIX,
    HOSTED_INPUT_ATTRIBUTE,
    RunflowEngine,
)

__all__ = [
    'CachingEngine',
    'PaidRuns',
    'caching_engine',
    'collect_run',
    'raw_bytes_of',
    'result_provenance',
    'store_result',
]

#: What a batch records of itself with each plane's result.
_BATCH_FIELDS = ('batch_id', 'batch_planes')
_KEY_LOCKS: dict[str, threading.Lock] = {}
_KEY_LOCKS_GUARD = threading.Lock()


def _key_lock(key: str) -> threading.Lock:
    """One lock per cache key, so two identical planes pay only once."""
    with _KEY_LOCKS_GUARD:
        return _KEY_LOCKS.setdefault(key, threading.Lock())


@dataclass(frozen=True)
class PaidRuns:
    """How paid runs are guarded: the cache, the spend cap, batch hooks.

    Attributes
    ----------
    cache : ResultCache, optional
        Default ``ResultCache()``.
    spend_cap : SpendCap, optional
        Default :func:`~napari_outpaint._cache.cost.session_spend_cap`.
    before_run : callable, optional
        Called right before a new (paid) run reserves its price; may raise
        to stop it (a batch stops new runs after a 402, and waits at its
        rate-limit gate here). Not called for cache hits or collected
        runs.
    info : mapping
        Recorded with pending runs and cached results (e.g. ``plane``).
    """

    cache: ResultCache | None = None
    spend_cap: SpendCap | None = None
    before_run: Callable[[], None] | None = None
    info: Mapping[str, Any] = field(default_factory=dict)


def caching_engine(
    engine: Engine, paid: PaidRuns | None = None
) -> CachingEngine | None:
    """*engine* behind the cache and the spend cap, or None when it is free.

    The one place where an engine is wrapped: free engines (the local
    ones) are not cached, paid ones always are.
    """
    if price_of(engine) <= 0:
        return None
    if isinstance(engine, CachingEngine):
        return engine
    paid = paid or PaidRuns()
    return CachingEngine(
        engine,
        paid.cache,
        info=paid.info,
        spend_cap=paid.spend_cap,
        before_run=paid.before_run,
    )


@dataclass
class _Unkept:
    """A new or collected result not yet written to the cache."""

    key: str
    result: EngineResult
    expand: Expand
    collected: bool
    run_ids: list[str]
    #: releases the key's lock (an identical request waits on it)
    release: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)


class CachingEngine:
    """Wrap a paid *engine* with the paid-result cache and the journal.

    Parameters
    ----------
    engine : Engine
        The engine that does the work.
    cache : ResultCache, optional
        Default ``ResultCache()``.
    info : mapping, optional
        Recorded with pending runs and cached results (e.g. ``plane``).
    spend_cap : SpendCap, optional
        Every new run reserves ``engine.price_per_image_usd`` against it
        first. Default :func:`~napari_outpaint._cache.cost.session_spend_cap`
        (off unless set; an invalid ``NAPARI_OUTPAINT_SPEND_CAP_USD``
        raises ``ConfigurationError`` here).
    before_run : callable, optional
        See :class:`PaidRuns`.

    Attributes
    ----------
    last_key : str or None
        The cache key of the last request.
    last_source : str or None
        Where its result came from: ``'cache'``, ``'collected'`` or
        ``'run'``.

    Examples
    --------
    >>> with CachingEngine(RunflowEngine()) as engine:  # doctest: +SKIP
    ...     result = engine.outpaint(rgb8, Expand(10, 0, 0, 0))
    ...     engine.keep({'note': 'what the caller knows'})
    """

    def __init__(
        self,
        engine: Engine,
        cache: ResultCache | None = None,
        *,
        info: Mapping[str, Any] | None = None,
        spend_cap: SpendCap | None = None,
        before_run: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.cache = cache if cache is not None else ResultCache()
        self.info = dict(info or {})
        self.spend_cap = (
            spend_cap if spend_cap is not None else session_spend_cap()
        )
        self.before_run = before_run
        self.last_key: str | None = None
        self.last_source: str | None = None
        self._unkept: _Unkept | None = None
        self._deferring = 0  # inside a with block: wait for keep()
        self._released_inputs = False

    @property
    def name(self) -> str:
        """The wrapped engine's name."""
        return self.engine.name

    @property
    def model(self) -> str:
        """The wrapped engine's model."""
        return self.engine.model

    @property
    def cache_namespace(self) -> str:
        """The wrapped engine's cache model id (endpoint-aware)."""
        return cache_model_id(self.engine)

    @property
    def price_per_image_usd(self) -> float:
        """The wrapped engine's price of one run."""
        return self.engine.price_per_image_usd

    def __enter__(self) -> Self:
        self._deferring += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._deferring -= 1
        self.keep()

    def outpaint(
        self,
        image: np.ndarray,
        expand: Expand,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> EngineResult:
        """Outpaint *image*, from the cache when possible (see module).

        Inside a ``with`` block a new or collected result is stored by
        :meth:`keep` (or when the block ends); until then an identical
        request waits, and is then answered from the cache: it never pays
        again. Outside one, it is stored before this returns.
        """
        self.keep()  # what the caller did not keep goes in first
        if not self._released_inputs:  # once: inputs of runs now over
            self._released_inputs = True
            release_held_inputs(self.cache.held_inputs, self.engine)
            learned = getattr(self.engine, 'run_durations', None)
            if isinstance(learned, RunDurations):  # when runs usually end
                learned.extend(
                    self.cache.run_durations.read(self.cache_namespace)
                )
        key = self.cache.key_for(image, expand, self.cache_namespace)
        self.last_key = key
        with contextlib.ExitStack() as held:
            lock = _key_lock(key)
            lock.acquire()
            held.callback(lock.release)
            hit = self.cache.get(key)
            if hit is not None:
                self.last_source = 'cache'
                _report(progress, 'Answered from the local cache (free).')
                self._adopt(hit)
                return hit.to_engine_result()
            unkept = self._collect_pending(key, expand, progress, cancel)
            self.last_source = 'collected'
            if unkept is None:
                self.last_source = 'run'
                unkept = self._run(key, image, expand, progress, cancel)
            unkept.release = held.pop_all()  # released once it is kept
            self._unkept = unkept
        if not self._deferring:
            self.keep()
        return unkept.result

    def keep(self, provenance: Mapping[str, Any] | None = None) -> None:
        """Write the last new or collected result to the cache, once.

        Parameters
        ----------
        provenance : mapping, optional
            The caller's full provenance, merged over the engine's own
            (what re-opens the result as an aligned layer later).

        Does nothing when there is nothing to keep (a cache hit, or
        already kept). A write that fails is a warning, not an error: the
        result is shown but not kept, and its run stays in the journal
        so that ``napari-outpaint collect`` can fetch it again.
        """
        unkept, self._unkept = self._unkept, None
        if unkept is None:
            return
        record = result_provenance(unkept.result, unkept.expand)
        record.update(self.info)
        if unkept.collected:
            record['collected'] = True
        record['cache_namespace'] = self.cache_namespace
        record.update(provenance or {})
        raw, content_type = raw_bytes_of(unkept.result)
        with unkept.release:
            try:
                self.cache.put(unkept.key, raw, content_type, record)
            except (OSError, OutpaintError) as exc:  # never lose it
                warnings.warn(
                    f'Could not write the result to the cache at '
                    f'{self.cache.root} ({exc}); it is shown but not '
                    'kept. Free some disk space.',
                    stacklevel=2,
                )
                return
        for run_id in unkept.run_ids:
            self.cache.resolve(run_id)

    # -- internals -------------------------------------------------------
    def _adopt(self, hit: CachedResult) -> None:
        """Record this batch's id on a result it took from the cache, so
        that History lists a resumed batch as one (the result moves to
        the latest batch that used it)."""
        batch_id = self.info.get('batch_id')
        if not batch_id or hit.provenance.get('batch_id') == batch_id:
            return
        provenance = dict(hit.provenance)
        for name in _BATCH_FIELDS:
            if name in self.info:
                provenance[name] = self.info[name]
        try:
            self.cache.update_provenance(hit.key, provenance)
        except (OSError, OutpaintError):  # listed apart: no harm done
            return

    def _collect_pending(self, key, expand, progress, cancel):
        collect = getattr(self.engine, 'collect', None)
        if collect is None:
            return None
        for pending in self.cache.pending():
            if pending.key != key:
                continue
            if progress is not None:
                progress(
                    ProgressEvent(
                        Stage.QUEUED,
                        f'Collecting run {pending.run_id}, submitted earlier '
                        'for this same request (not paid again).',
                        run_id=pending.run_id,
                    )
                )
            try:
                result = collect(
                    pending.run_id, progress=progress, cancel=cancel
                )
            except (NotFoundError, RunFailedError, ResultError):
                self.cache.resolve(pending.run_id)  # gone: pay a new run
                continue
            return _Unkept(
                key,
                _mark(result, key, collected=True),
                expand,
                collected=True,
                run_ids=[pending.run_id],
            )
        return None

    def _run(self, key, image, expand, progress, cancel):
        self.cache.check_writable()  # a paid result must have a home
        if self.before_run is not None:
            self.before_run()
        price = price_of(self.engine)
        self.spend_cap.reserve(price)  # BudgetError: nothing sent yet
        recorded: list[str] = []
        journal_info = {
            'expand': expand.as_dict(),
            'model': self.engine.model,
            'cache_namespace': self.cache_namespace,
            'engine': self.engine.name,
            'input_shape': list(image.shape),
            **self.info,
        }

        def on_progress(event: ProgressEvent) -> None:
            if event.run_id and event.run_id not in recorded:
                self.cache.record_pending(event.run_id, key, journal_info)
                recorded.append(event.run_id)
            if progress is not None:
                progress(event)

        result = None
        error: BaseException | None = None
        try:
            result = self.engine.outpaint(
                image, expand, progress=on_progress, cancel=cancel
            )
        except SubmissionUnknownError as exc:  # may be billed: journal it
            error = exc
            ref = f'{CLIENT_REF_PREFIX}{exc.client_ref}'
            self.cache.record_pending(ref, key, journal_info)
            recorded.append(ref)
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            # billed: a result, or a created run that did not fail
            charged = result is not None or (
                bool(recorded) and not isinstance(error, RunFailedError)
            )
            self.spend_cap.settle(price, charged=charged)
            self._hold_input_left(error, result)
            if isinstance(error, RunFailedError):
                for run_id in recorded:  # failed runs are not billed
                    self.cache.resolve(run_id)
            # cancelled / timed out / crashed: the run stays journalled
        seconds = result.timings.get('service')
        if seconds is not None:  # for the poller of the next session
            self.cache.run_durations.add(self.cache_namespace, seconds)
        return _Unkept(
            key,
            _mark(result, key, collected=False),
            expand,
            collected=False,
            run_ids=recorded,
        )

    def _hold_input_left(self, error, result) -> None:
        """Record the hosted input the engine left for its run, if any."""
        if result is not None:
            kept = result.details.get(HOSTED_INPUT_ATTRIBUTE)
        else:
            kept = getattr(error, HOSTED_INPUT_ATTRIBUTE, None)
        if not isinstance(kept, Mapping):
            return
        try:
            self.cache.held_inputs.hold(
                str(kept['asset_id']),
                str(kept['run_id']),
                self.cache_namespace,
            )
        except (OSError, KeyError) as exc:
            warnings.warn(
                f'Could not record the hosted input {kept} kept for its '
                f'run ({exc}); delete it in your Runflow asset library '
                'once the run is over.',
                stacklevel=3,
            )


def _mark(result: EngineResult, key: str, *, collected: bool):
    details = dict(result.details)
    details.update(cached=False, collected=collected, cache_key=key)
    return dataclasses.replace(result, details=details)


def _report(progress, message: str) -> None:
    if progress is not None:
        progress(ProgressEvent(Stage.DOWNLOADING, message))


def result_provenance(
    result: EngineResult, expand: Expand | None = None, **extra: Any
) -> dict[str, Any]:
    """The engine-level provenance stored with a cached result."""
    prov: dict[str, Any] = {
        'engine': result.engine,
        'model': result.model,
        'run_id': result.run_id,
        'seed': result.seed,
        'cost_usd': result.cost_usd,
        'timings': dict(result.timings),
        'output_shape': list(result.image.shape),
        'details': dict(result.details),
    }
    if expand is not None:
        prov['expand'] = expand.as_dict()
    prov.update(extra)
    return prov


def raw_bytes_of(result: EngineResult) -> tuple[bytes, str]:
    """``(raw, content_type)`` of a result: as downloaded, else a PNG."""
    if result.raw:
        return bytes(result.raw), result.raw_content_type or 'image/png'
    return encode_png(result.image), 'image/png'


def store_result(
    cache: ResultCache,
    key: str,
    result: EngineResult,
    expand: Expand | None = None,
    **extra: Any,
) -> CachedResult:
    """Store an engine result under *key* with its provenance."""
    raw, ctype = raw_bytes_of(result)
    return cache.put(
        key, raw, ctype, result_provenance(result, expand, **extra)
    )


def collect_run(
    run_id: str,
    *,
    engine: Any = None,
    cache: ResultCache | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> CachedResult:
    """Download a run submitted earlier and store it in the cache.

    The Python equivalent of ``napari-outpaint collect RUN_ID``. When the
    run is in the pending journal its result is stored under the request's
    key (so an identical request is answered from the cache) and the run
    is resolved; otherwise under a key derived from the run id. A run
    already collected is answered from the cache: nothing is downloaded
    or stored twice. A run that ended failed or canceled is resolved too
    (nothing will ever come of it) before its error is raised.

    Parameters
    ----------
    run_id : str
        The remote run id.
    engine : RunflowEngine, optional
        An engine with ``collect(run_id, progress=, cancel=)``; default a
        ``RunflowEngine()`` configured from the environment.
    cache : ResultCache, optional
        Default ``ResultCache()``.
    progress, cancel
        As for ``Engine.outpaint``.
    """
    if not isinstance(run_id, str) or not run_id.strip():
        raise InvalidInputError('run_id', 'must be a non-empty run id.')
    cache = cache if cache is not None else ResultCache()
    run_id = run_id.strip()
    stored = cache.find_run(run_id)
    if stored is not None:
        cache.resolve(run_id)
        _report(
            progress,
            f'Run {run_id} was already collected: answered from the cache '
            '(nothing downloaded).',
        )
        return stored
    try:
        pending = cache.journal.get(run_id)
    except DamagedRecordError:  # moved aside; the run is collected anyway
        pending = None
    if engine is None:
        engine = RunflowEngine()
    try:
        result = engine.collect(run_id, progress=progress, cancel=cancel)
    except RunFailedError:  # failed or canceled: terminal, never billed
        cache.resolve(run_id)
        release_held_inputs(cache.held_inputs, engine)
        raise
    key = pending.key if pending is not None else run_key(run_id)
    prov = result_provenance(result)
    namespace = getattr(engine, 'cache_namespace', None)
    if pending is None and namespace:  # keyed by run id: for the record
        prov['cache_namespace'] = str(namespace)
    # a journalled request brings the namespace its key was made with
    # (none for runs journalled before namespaces: the model, as then)
    prov.update(pending.info if pending is not None else {})
    prov['collected'] = True
    raw, ctype = raw_bytes_of(result)
    entry = cache.put(key, raw, ctype, prov)
    cache.resolve(run_id)
    release_held_inputs(cache.held_inputs, engine)  # this run's is over
    return entry
