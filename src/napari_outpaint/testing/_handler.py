"""The stand-in's request handler: read, record, route, answer."""

from __future__ import annotations

import contextlib
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from napari_outpaint.testing._api import route
from napari_outpaint.testing._records import RecordedRequest
from napari_outpaint.testing._replies import (
    DROP,
    Reply,
    Request,
    error_reply,
    storage_error,
)
from napari_outpaint.testing._state import StandInState

__all__ = ['StandInHandler']

_MAX_BODY = 60 * 1024 * 1024


class StandInHandler(BaseHTTPRequestHandler):
    """Reads, records and answers one request at a time (keep-alive)."""

    protocol_version = 'HTTP/1.1'
    server_version = 'runflow-standin'
    sys_version = ''

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Log nothing: request lines carry presigned signatures."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    def _handle(self) -> None:
        standin: StandInState = self.server.app
        split = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        too_big = self._unreadable_body(headers)
        body = b'' if too_big else self._read_body(headers)
        request = Request(self.command, split.path, split.query, headers, body)
        standin._record(
            RecordedRequest(
                request.method,
                request.path,
                request.query,
                headers,
                body,
                time.monotonic(),
            )
        )
        reply = too_big or route(standin, request)
        if reply is DROP:
            self.close_connection = True
            with contextlib.suppress(OSError):
                socket.socket.shutdown(self.connection, socket.SHUT_RDWR)
            return
        self._send(reply)

    def _unreadable_body(self, headers: dict[str, str]) -> Reply | None:
        if 'chunked' in headers.get('transfer-encoding', '').lower():
            self.close_connection = True
            return storage_error(
                411, 'MissingContentLength', 'Send a Content-Length.'
            )
        try:
            length = int(headers.get('content-length', '0'))
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self.close_connection = True
            return error_reply(413, 'PAYLOAD_TOO_LARGE', 'Body too large.')
        return None

    def _read_body(self, headers: dict[str, str]) -> bytes:
        length = int(headers.get('content-length', '0'))
        return self.rfile.read(length) if length else b''

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header('Content-Type', reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.status not in (204, 304):
            self.send_header('Content-Length', str(len(reply.body)))
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        if self.command != 'HEAD' and reply.status not in (204, 304):
            self.wfile.write(reply.body)
        self.wfile.flush()
