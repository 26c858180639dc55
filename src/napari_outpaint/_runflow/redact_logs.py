"""Keep presigned query strings out of httpx's own log lines.

httpx logs every request URL at INFO on the ``httpx`` logger; for a
presigned upload or output URL that would put its credentials in the log.
A filter on that logger redacts such query strings (and only those).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx

from napari_outpaint._secrets import redact_url

__all__ = ['install_httpx_log_redaction']

_PRESIGNED_MARKERS = ('x-amz-', 'signature=', 'x-goog-', 'sig=', 'token=')


class _RedactPresignedURLs(logging.Filter):
    """Strip presigned query strings from httpx's own request log lines.

    httpx logs every request URL at INFO; for a presigned upload or
    output URL that would put its credentials in the log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_redact_arg(arg) for arg in record.args)
        return True


def _redact_arg(arg: object) -> object:
    # Some log-record factories turn args into strings: accept both.
    if not isinstance(arg, httpx.URL | str):
        return arg
    text = str(arg)
    if not text.startswith(('https://', 'http://')):
        return arg
    query = urlsplit(text).query.lower()
    if any(marker in query for marker in _PRESIGNED_MARKERS):
        return redact_url(text)
    return arg


def install_httpx_log_redaction() -> None:
    """Add the redacting filter to the ``httpx`` logger (once)."""
    httpx_logger = logging.getLogger('httpx')
    if not any(
        isinstance(f, _RedactPresignedURLs) for f in httpx_logger.filters
    ):
        httpx_logger.addFilter(_RedactPresignedURLs())
