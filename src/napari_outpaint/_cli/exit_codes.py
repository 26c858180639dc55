"""Exit codes of the ``napari-outpaint`` command, and errors mapped to them."""

from __future__ import annotations

from typing import Any

from napari_outpaint._errors import (
    AuthenticationError,
    BudgetError,
    ConfigurationError,
    InvalidInputError,
    OutpaintCancelled,
    OutpaintError,
    RunTimeoutError,
)

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_RUN_ERROR = 4
EXIT_CANCELLED = 5
EXIT_NOT_CONFIRMED = 6
EXIT_INTERRUPTED = 130

# Python argument names (as pipeline errors name them) -> command-line flags
_FLAGS = {
    'plane': '--plane',
    'planes': '--plane',
    'contrast_limits': '--contrast-limits',
    'keep_native_resolution': '--native-resolution',
    'timeout': '--timeout',
    'engine': '--engine',
    'api_key': '--api-key-env',
    'scheduler': '--scheduler',
    'client': '--scheduler',
    'data': 'input',
    'expand': '--top/--bottom/--left/--right',
    **{side: f'--{side}' for side in ('top', 'bottom', 'left', 'right')},
}


def with_flag(exc: OutpaintError) -> str:
    """The error's message, naming the command-line flag, not the kwarg."""
    text = str(exc)
    field = getattr(exc, 'field', None)
    if isinstance(exc, InvalidInputError) and field in _FLAGS:
        prefix = f'{field}: '
        if text.startswith(prefix):
            text = f'{_FLAGS[field]}: {text[len(prefix) :]}'
    return text


def exit_code(exc: OutpaintError) -> int:
    """The exit code for a typed error."""
    if isinstance(exc, InvalidInputError):
        return EXIT_USAGE
    if isinstance(exc, ConfigurationError | AuthenticationError):
        return EXIT_CONFIG  # a key Runflow refuses is configuration too
    if isinstance(exc, BudgetError):
        return EXIT_NOT_CONFIRMED
    if isinstance(exc, OutpaintCancelled | RunTimeoutError):
        return EXIT_CANCELLED
    return EXIT_RUN_ERROR


def batch_exit_code(result: Any) -> int:
    """The exit code of a batch that did not finish every plane."""
    stop = getattr(result, 'stopped_by', None)
    if isinstance(stop, OutpaintError):
        return exit_code(stop)
    return EXIT_RUN_ERROR
