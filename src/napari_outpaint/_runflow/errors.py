"""Runflow error bodies -> the typed :mod:`napari_outpaint._errors` tree.

Runflow's documented envelope is ``{"code", "message", "errors"}``; its JS
SDK also parses ``{"error": {"code", "message"}}`` and the proxy's flat
``{"error": "...", "code": "..."}``, and a skill reports FastAPI-style
``{"detail": ...}``. All of them are accepted here, in one place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from napari_outpaint._errors import (
    APIStatusError,
    AuthenticationError,
    ConflictError,
    InsufficientCreditError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    ValidationError,
)

__all__ = ['ErrorBody', 'error_for_status', 'parse_error_body']

_MAX_MESSAGE = 500

_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: ValidationError,
    401: AuthenticationError,
    402: InsufficientCreditError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


class ErrorBody(NamedTuple):
    """The parts of an error body a user can act on."""

    code: str | None
    message: str | None
    errors: list[Any]


def parse_error_body(body: bytes | str | None) -> ErrorBody:
    """Extract code, message and field errors from any known error shape.

    Non-JSON bodies (an HTML error page from a proxy) give a shortened,
    single-line message; an empty body gives no message.
    """
    if body is None:
        return ErrorBody(None, None, [])
    text = body.decode('utf-8', 'replace') if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return ErrorBody(None, _shorten(text), [])
    if not isinstance(data, Mapping):
        return ErrorBody(None, _shorten(text), [])
    code = _text(data.get('code'))
    message = _text(data.get('message'))
    errors = data.get('errors')
    errors = list(errors) if isinstance(errors, list) else []
    nested = data.get('error')
    if isinstance(nested, Mapping):
        code = code or _text(nested.get('code'))
        message = message or _text(nested.get('message'))
    elif isinstance(nested, str):
        message = message or _text(nested)
    detail = data.get('detail')
    if isinstance(detail, list):
        errors = errors or list(detail)
        message = message or 'The request was not valid.'
    elif detail is not None:
        message = message or _text(detail)
    return ErrorBody(code, message and _shorten(message), errors)


def error_for_status(
    status_code: int,
    body: bytes | str | None,
    *,
    retry_after: float | None = None,
    run_id: str | None = None,
    scrub: tuple[str, ...] = (),
) -> APIStatusError:
    """Build the typed error for an HTTP error response.

    Parameters
    ----------
    status_code : int
        The response status (>= 400).
    body : bytes or str or None
        The raw response body.
    retry_after : float, optional
        Parsed ``Retry-After`` seconds, kept on :class:`RateLimitError`.
    run_id : str, optional
        The run concerned, named in the message.
    scrub : tuple of str
        Secrets to blank out should the server echo them back.
    """
    parsed = parse_error_body(body)
    message = parsed.message
    for secret in scrub:
        if secret and message:
            message = message.replace(secret, '***')
    kwargs: dict[str, Any] = {
        'code': parsed.code,
        'api_message': message,
        'errors': parsed.errors,
        'run_id': run_id,
    }
    if status_code >= 500:
        return ServiceUnavailableError(status_code, **kwargs)
    cls = _BY_STATUS.get(status_code, APIStatusError)
    if cls is RateLimitError:
        return RateLimitError(status_code, retry_after=retry_after, **kwargs)
    return cls(status_code, **kwargs)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return json.dumps(value, default=str)


def _shorten(text: str) -> str | None:
    line = ' '.join(text.split())
    if not line:
        return None
    if len(line) > _MAX_MESSAGE:
        line = line[: _MAX_MESSAGE - 3] + '...'
    return line
