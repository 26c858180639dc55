"""napari-outpaint: expand the canvas of napari image layers.

The public API is re-exported here; nothing else lives in this module.
``import napari_outpaint`` loads neither napari nor Qt: the names that
work on napari layers (``outpaint_layer``, ``mask_layer``,
``open_cached_result``) and the non-blocking ones (``OutpaintFuture``,
``submit_outpaint_layer``, ``outpaint_layer_async``: Qt adds their layer
to a viewer) are loaded on first use.
"""

import importlib
from typing import Any

from napari_outpaint._cache import (
    ResultCache,
    SpendCap,
    collect_run,
    session_spend_cap,
)
from napari_outpaint._canvas import Canvas, CanvasPlan, plan_canvas
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
    RunCanceledError,
    RunFailedError,
    RunTimeoutError,
    ServiceUnavailableError,
    SubmissionUnknownError,
    ValidationError,
)
from napari_outpaint._expand import Expand, Padding
from napari_outpaint._pipeline import OutpaintResult, outpaint_array
from napari_outpaint._progress import CancelToken, ProgressEvent, Stage
from napari_outpaint._version import __version__ as __version__
from napari_outpaint.engines import (
    Engine,
    EngineResult,
    default_engine,
    resolve_engine,
)
from napari_outpaint.engines.local import LocalEngine
from napari_outpaint.engines.runflow import RunflowEngine

# name -> module: napari-facing names, imported when first asked for
_NAPARI_FACING = {
    'mask_layer': 'napari_outpaint._layers.convert',
    'open_cached_result': 'napari_outpaint._layers.history',
    'outpaint_layer': 'napari_outpaint._layers.outpaint',
    'outpaint_layers': 'napari_outpaint._layers.channels',
    # a future and an awaitable; viewer= adds the layer through Qt
    'OutpaintFuture': 'napari_outpaint._qt.scripting',
    'outpaint_layer_async': 'napari_outpaint._qt.scripting',
    'submit_outpaint_layer': 'napari_outpaint._qt.scripting',
}

__all__ = [
    'APIConnectionError',
    'APIStatusError',
    'AuthenticationError',
    'BudgetError',
    'CancelToken',
    'Canvas',
    'CanvasPlan',
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
    'OutpaintFuture',
    'OutpaintResult',
    'Padding',
    'PermissionDeniedError',
    'ProgressEvent',
    'RateLimitError',
    'ResultCache',
    'ResultError',
    'RunCanceledError',
    'RunFailedError',
    'RunTimeoutError',
    'RunflowEngine',
    'ServiceUnavailableError',
    'SpendCap',
    'Stage',
    'SubmissionUnknownError',
    'ValidationError',
    'collect_run',
    'default_engine',
    'mask_layer',
    'open_cached_result',
    'outpaint_array',
    'outpaint_layer',
    'outpaint_layer_async',
    'outpaint_layers',
    'plan_canvas',
    'resolve_engine',
    'session_spend_cap',
    'submit_outpaint_layer',
]


def __getattr__(name: str) -> Any:
    """Load a napari-facing name on first use (napari is heavy)."""
    if name in _NAPARI_FACING:
        value = getattr(importlib.import_module(_NAPARI_FACING[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__() -> list[str]:
    return sorted({*globals(), *_NAPARI_FACING})
