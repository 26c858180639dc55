"""Engine results into the paid-result cache: store one, collect a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from napari_outpaint._cache_key import run_key
from napari_outpaint._codecs import encode_png
from napari_outpaint._errors import InvalidInputError

if TYPE_CHECKING:
    from napari_outpaint._cache import ResultCache
    from napari_outpaint._cache_entry import CachedResult
    from napari_outpaint._expand import Expand
    from napari_outpaint._progress import CancelToken, ProgressCallback
    from napari_outpaint.engines._base import EngineResult

__all__ = [
    'collect_run',
    'raw_bytes_of',
    'result_provenance',
    'store_result',
]


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
    is resolved; otherwise under a key derived from the run id.

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
    from napari_outpaint._cache import ResultCache

    if not isinstance(run_id, str) or not run_id.strip():
        raise InvalidInputError('run_id', 'must be a non-empty run id.')
    cache = cache if cache is not None else ResultCache()
    pending = cache.journal.get(run_id)
    if engine is None:
        from napari_outpaint.engines.runflow import RunflowEngine

        engine = RunflowEngine()
    result = engine.collect(run_id, progress=progress, cancel=cancel)
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
    return entry
