"""napari-outpaint: expand the canvas of napari image layers.

The public API is re-exported here; nothing else lives in this module.
"""

from importlib.metadata import PackageNotFoundError, version

from napari_outpaint._cache import ResultCache, collect_run
from napari_outpaint._cost import SpendCap, session_spend_cap
from napari_outpaint._errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BudgetError,
    ConfigurationError,
    ConflictError,
    HostingError,
    InsufficientCreditError,
    InvalidInputError,
    NotFoundError,
    OutpaintCancelled,
    OutpaintError,
    PermissionDeniedError,
    RateLimitError,
    ResultError,
    RunFailedError,
    RunTimeoutError,
    ServiceUnavailableError,
    ValidationError,
)
from napari_outpaint._expand import Expand, Padding
from napari_outpaint._history import open_cached_result
from napari_outpaint._pipeline import (
    OutpaintResult,
    mask_layer,
    outpaint_array,
    outpaint_layer,
)
from napari_outpaint._progress import CancelToken, ProgressEvent, Stage
from napari_outpaint.engines import (
    Engine,
    EngineResult,
    default_engine,
    resolve_engine,
)
from napari_outpaint.engines.local import LocalEngine
from napari_outpaint.engines.runflow import RunflowEngine

try:
    __version__ = version('napari-outpaint')
except PackageNotFoundError:  # pragma: no cover - not installed
    __version__ = 'unknown'

__all__ = [
    'APIConnectionError',
    'APIStatusError',
    'AuthenticationError',
    'BudgetError',
    'CancelToken',
    'ConfigurationError',
    'ConflictError',
    'Engine',
    'EngineResult',
    'Expand',
    'HostingError',
    'InsufficientCreditError',
    'InvalidInputError',
    'LocalEngine',
    'NotFoundError',
    'OutpaintCancelled',
    'OutpaintError',
    'OutpaintResult',
    'Padding',
    'PermissionDeniedError',
    'ProgressEvent',
    'RateLimitError',
    'ResultCache',
    'ResultError',
    'RunFailedError',
    'RunTimeoutError',
    'RunflowEngine',
    'ServiceUnavailableError',
    'SpendCap',
    'Stage',
    'ValidationError',
    'collect_run',
    'default_engine',
    'mask_layer',
    'open_cached_result',
    'outpaint_array',
    'outpaint_layer',
    'resolve_engine',
    'session_spend_cap',
]
