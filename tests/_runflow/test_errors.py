"""Every known Runflow error body maps to the right typed error."""

import pytest

from napari_outpaint import (
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
from napari_outpaint._runflow.errors import (
    error_for_status,
    parse_error_body,
)


@pytest.mark.parametrize(
    ('body', 'code', 'message'),
    [
        (
            b'{"code":"PERMISSION_DENIED","message":"No.","errors":null}',
            'PERMISSION_DENIED',
            'No.',
        ),
        (
            b'{"error":{"code":"RATE_LIMITED","message":"rate limited"}}',
            'RATE_LIMITED',
            'rate limited',
        ),
        (
            b'{"error":"flat proxy error","code":"PROXY"}',
            'PROXY',
            'flat proxy error',
        ),
        (b'{"detail":"Not authenticated"}', None, 'Not authenticated'),
        (
            b'<html>\n<b>502</b>   Bad Gateway</html>',
            None,
            '<html> <b>502</b> Bad Gateway</html>',
        ),
        (b'', None, None),
        (b'[1, 2]', None, '[1, 2]'),
    ],
)
def test_parse_known_shapes(body, code, message):
    """Code and message come out of every documented or observed shape."""
    parsed = parse_error_body(body)
    assert (parsed.code, parsed.message) == (code, message)


def test_parse_fastapi_detail_list_keeps_field_errors():
    """A FastAPI ``detail`` list becomes the field errors."""
    body = b'{"detail":[{"loc":["body","input","expand_top"],"msg":"<= 80"}]}'
    parsed = parse_error_body(body)
    assert parsed.errors == [
        {'loc': ['body', 'input', 'expand_top'], 'msg': '<= 80'}
    ]
    error = error_for_status(422, body)
    assert isinstance(error, ValidationError)
    assert 'body.input.expand_top: <= 80' in str(error)


def test_long_messages_are_shortened():
    """A huge body never becomes a huge message."""
    parsed = parse_error_body('x' * 10_000)
    assert len(parsed.message) <= 500


@pytest.mark.parametrize(
    ('status', 'cls'),
    [
        (400, ValidationError),
        (401, AuthenticationError),
        (402, InsufficientCreditError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, ValidationError),
        (429, RateLimitError),
        (500, ServiceUnavailableError),
        (503, ServiceUnavailableError),
        (418, APIStatusError),
    ],
)
def test_status_maps_to_class_with_actionable_message(status, cls):
    """Each status gets its class; the message has code, text and a hint."""
    body = b'{"code":"SOME_CODE","message":"Something happened."}'
    error = error_for_status(status, body, run_id='run-1')
    assert type(error) is cls
    assert error.status_code == status
    assert error.code == 'SOME_CODE'
    text = str(error)
    assert 'SOME_CODE' in text
    assert 'Something happened.' in text
    assert 'run-1' in text
    assert error.hint in text


def test_rate_limit_keeps_retry_after():
    """A 429 carries the server's Retry-After seconds."""
    error = error_for_status(429, b'{}', retry_after=2.5)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 2.5


def test_echoed_secret_is_scrubbed():
    """A server echoing the API key back never puts it in the message."""
    body = b'{"message":"bad token rf_live_SECRET"}'
    error = error_for_status(401, body, scrub=('rf_live_SECRET',))
    assert 'rf_live_SECRET' not in str(error)
    assert 'rf_live_SECRET' not in repr(error)
