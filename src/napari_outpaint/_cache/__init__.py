"""Money: never pay twice, never lose a paid result.

The content-addressed store of paid results (:mod:`.store`, its entries
:mod:`.entry` and keys :mod:`.key`), the journal of runs submitted but not
yet collected (:mod:`.journal`), the cost guard (:mod:`.cost`: prices,
confirmation, the session spend cap) and the engine wrapper that puts a
paid engine behind all of it (:mod:`.engine`).
"""

from napari_outpaint._cache.cost import (
    SPEND_CAP_ENV,
    ConfirmCallback,
    CostEstimate,
    SpendCap,
    estimate_cost,
    is_confirmed,
    price_of,
    session_spend_cap,
)
from napari_outpaint._cache.engine import (
    CachingEngine,
    PaidRuns,
    caching_engine,
    collect_run,
)
from napari_outpaint._cache.entry import CachedResult
from napari_outpaint._cache.hosted import (
    HeldInput,
    HeldInputs,
    release_held_inputs,
)
from napari_outpaint._cache.journal import DamagedRecordError
from napari_outpaint._cache.key import (
    cache_key,
    cache_model_id,
    provenance_model_id,
    run_key,
)
from napari_outpaint._cache.store import (
    MAX_BYTES_ENV,
    DamagedEntryError,
    ResultCache,
    default_max_bytes,
)

__all__ = [
    'CachedResult',
    'CachingEngine',
    'ConfirmCallback',
    'CostEstimate',
    'DamagedEntryError',
    'DamagedRecordError',
    'HeldInput',
    'HeldInputs',
    'MAX_BYTES_ENV',
    'PaidRuns',
    'ResultCache',
    'SPEND_CAP_ENV',
    'SpendCap',
    'cache_key',
    'cache_model_id',
    'caching_engine',
    'collect_run',
    'default_max_bytes',
    'estimate_cost',
    'is_confirmed',
    'price_of',
    'provenance_model_id',
    'release_held_inputs',
    'run_key',
    'session_spend_cap',
]
