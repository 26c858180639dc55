"""Keeping secrets out of messages, logs and files.

The API key and presigned query strings must never reach a message, a
log line or a record written to disk: URLs go through :func:`redact_url`,
records through :func:`scrub`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ['redact_url', 'scrub']

_URL = re.compile(r'https?://\S+', re.IGNORECASE)
_SECRET_NAME = re.compile(
    r'api[_-]?key|authorization|token|secret|password', re.IGNORECASE
)


def redact_url(url: str) -> str:
    """Return *url* without its query string and fragment.

    Presigned URLs carry their credentials in the query string, so every
    URL that may reach a message or a log line goes through here.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return '<unparsable url>'
    query = '<redacted>' if parts.query else ''
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ''))


def scrub(value: Any) -> Any:
    """A JSON-safe copy of *value* without secrets.

    Keys that name a secret (``api_key``, ``authorization``, ``token``,
    ...) are dropped, every URL loses its query string
    (:func:`redact_url`) and the value of
    ``RUNFLOW_API_KEY``, if set, is replaced wherever it appears.
    """
    key = os.environ.get('RUNFLOW_API_KEY') or ''
    key = key if len(key) >= 8 else ''  # too short to search for safely

    def clean(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {
                str(k): clean(v)
                for k, v in item.items()
                if not _SECRET_NAME.search(str(k))
            }
        if isinstance(item, list | tuple):
            return [clean(v) for v in item]
        if isinstance(item, str):
            text = _URL.sub(lambda m: redact_url(m.group(0)), item)
            return text.replace(key, '<redacted>') if key else text
        if item is None or isinstance(item, bool | int | float):
            return item
        if hasattr(item, 'item'):  # numpy scalars
            return clean(item.item())
        return clean(str(item))

    return clean(value)
