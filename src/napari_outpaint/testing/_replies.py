"""HTTP replies of the stand-in: Runflow JSON errors, S3 XML errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from napari_outpaint.testing._faults import Rejection
from napari_outpaint.testing._state import StandInState

__all__ = [
    'DROP',
    'Reply',
    'Request',
    'Route',
    'error_reply',
    'json_reply',
    'rejection_reply',
    'storage_error',
]


@dataclass
class Reply:
    """An HTTP response to send."""

    status: int
    body: bytes = b''
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


#: Close the connection without any response.
DROP = Reply(0)


def json_reply(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload).encode(), 'application/json')


def error_reply(
    status: int,
    code: str,
    message: str,
    errors: list[dict[str, Any]] | None = None,
) -> Reply:
    """Runflow's error envelope ``{code, message, errors}``."""
    return json_reply(
        status, {'code': code, 'message': message, 'errors': errors}
    )


def rejection_reply(rejection: Rejection, what: str) -> Reply:
    reply = error_reply(
        rejection.status,
        rejection.code,
        f'Injected fault: {what} answered {rejection.status}.',
        [{'loc': ['body'], 'msg': 'injected'}]
        if rejection.status == 422
        else None,
    )
    if rejection.retry_after is not None:
        reply.headers['Retry-After'] = f'{rejection.retry_after:g}'
    return reply


def storage_error(status: int, code: str, message: str) -> Reply:
    """An S3-style XML error."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    )
    return Reply(status, body.encode(), 'application/xml')


@dataclass(frozen=True)
class Request:
    """What a route needs from the HTTP request."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


#: A route: the reply to a request whose path matched the route's pattern.
Route = Callable[[StandInState, Request, re.Match], Reply]
