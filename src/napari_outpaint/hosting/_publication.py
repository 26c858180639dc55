"""One image served at a capability URL: its budget and its handler.

A :class:`Publication` holds the bytes, the unguessable path, the fetch
budget and the time-to-live; :class:`HostedImageHandler` serves GET/HEAD
of active publications only.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote

from napari_outpaint._errors import HostingError

__all__ = ['HostedImageHandler', 'Publication', 'check_publish_arguments']


class Publication:
    """One published image: its bytes, capability path and budget."""

    def __init__(
        self,
        data: bytes,
        content_type: str,
        filename: str,
        *,
        ttl: float,
        max_fetches: int,
        clock: Callable[[], float],
    ) -> None:
        self.data = data
        self.content_type = content_type
        self.filename = filename
        self.token = secrets.token_urlsafe(32)
        self.path = f'/{self.token}/{quote(filename)}'
        self._clock = clock
        self._deadline = clock() + ttl
        self._max_fetches = max_fetches
        self._lock = threading.Lock()
        self._completed = 0
        self._in_flight = 0
        self._revoked = False

    @property
    def completed_fetches(self) -> int:
        """Number of full-body GETs served so far."""
        return self._completed

    def revoke(self) -> None:
        """Stop serving it (its URL answers 410 from now on)."""
        with self._lock:
            self._revoked = True

    def admit(self, *, counted: bool) -> bool:
        """Whether a request may be served (reserving a GET's slot)."""
        with self._lock:
            if self._revoked or self._clock() >= self._deadline:
                return False
            if self._completed + self._in_flight >= self._max_fetches:
                return False
            if counted:
                self._in_flight += 1
            return True

    def release(self, *, completed: bool) -> None:
        """End a GET admitted by :meth:`admit`."""
        with self._lock:
            self._in_flight -= 1
            if completed:
                self._completed += 1


class HostedImageHandler(BaseHTTPRequestHandler):
    """GET/HEAD of exactly one capability path; everything else refused.

    The server's ``app`` is a function from a request path to its active
    :class:`Publication` (or None).
    """

    protocol_version = 'HTTP/1.1'
    server_version = 'napari-outpaint'
    sys_version = ''

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Log nothing: the request line carries the capability token."""

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _not_allowed(self) -> None:
        self.close_connection = True
        self.send_response(405)
        self.send_header('Allow', 'GET, HEAD')
        self.send_header('Content-Length', '0')
        self.send_header('Connection', 'close')
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed
    do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    def _empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.send_header('Cache-Control', 'no-store')
        self.end_headers()

    def _serve(self, *, head: bool) -> None:
        find: Callable[[str], Publication | None] = self.server.app
        publication = find(self.path.split('?', 1)[0])
        if publication is None:
            self._empty(404)
            return
        if not publication.admit(counted=not head):
            self._empty(410)
            return
        completed = False
        try:
            self.send_response(200)
            self.send_header('Content-Type', publication.content_type)
            self.send_header('Content-Length', str(len(publication.data)))
            self.send_header('Cache-Control', 'no-store')
            self.send_header('X-Content-Type-Options', 'nosniff')
            self.send_header(
                'Content-Disposition',
                f'inline; filename="{publication.filename}"',
            )
            self.end_headers()
            if not head:
                self.wfile.write(publication.data)
                self.wfile.flush()
                completed = True
        finally:
            if not head:
                publication.release(completed=completed)


def check_publish_arguments(
    data: bytes, content_type: str, filename: str
) -> None:
    """Raise :class:`HostingError` for empty data or an unsafe name."""
    if not isinstance(data, bytes | bytearray | memoryview) or not data:
        raise HostingError('Nothing to publish: data must be non-empty bytes.')
    if not content_type.startswith('image/'):
        raise HostingError(
            f'content_type must be an image MIME type such as image/png, '
            f'got {content_type!r}.'
        )
    unsafe = any(c in '/\\"' or ord(c) < 32 for c in filename)
    if not filename or unsafe or filename in {'.', '..'}:
        raise HostingError(
            f'filename must be a plain file name such as input.png, got '
            f'{filename!r}.'
        )
