"""An HTTPS server on a background thread that stops cleanly.

Shared plumbing of :class:`~napari_outpaint.hosting.local_https.
LocalHTTPSHost` and the Runflow stand-in (:mod:`napari_outpaint.testing`):
TLS handshakes on each connection's own thread, a cap on open
connections, and a stop that closes every socket and joins every thread.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ['TLSServerThread']

logger = logging.getLogger(__name__)


class _TLSThreadingServer(ThreadingHTTPServer):
    """A threading HTTP server that speaks TLS and can drop its clients.

    The TLS handshake runs on the connection's own thread (never on the
    accepting thread), and every open connection is tracked so that
    :meth:`close_connections` can end idle keep-alive clients at once.
    """

    daemon_threads = True
    connection_timeout = 30.0

    def __init__(
        self,
        address: tuple[str, int],
        handler_cls: type[BaseHTTPRequestHandler],
        ssl_context: ssl.SSLContext,
        app: Any,
        max_connections: int | None = None,
    ) -> None:
        if ':' in address[0]:
            self.address_family = socket.AF_INET6
        self.ssl_context = ssl_context
        self.app = app
        self.max_connections = max_connections
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        super().__init__(address, handler_cls)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        # headers and body go out in separate writes: without NODELAY,
        # Nagle plus delayed ACKs add ~40 ms to every response
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        wrapped = self.ssl_context.wrap_socket(
            sock, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, address

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            full = self.max_connections is not None and (
                len(self._connections) >= self.max_connections
            )
        if full:  # a few slow clients must not pin every thread
            self.shutdown_request(request)
            return
        worker = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f'{threading.current_thread().name}-conn',
            daemon=True,
        )
        with self._lock:
            self._connections.add(request)
            self._workers.add(worker)
        worker.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            request.settimeout(self.connection_timeout)
            request.do_handshake()
            self.finish_request(request, client_address)
        except (OSError, ValueError):
            pass  # handshake failures, resets, timeouts: the client's loss
        except Exception as exc:  # noqa: BLE001 - keep serving others
            logger.error('request handler failed: %s', type(exc).__name__)
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._connections.discard(request)
                self._workers.discard(threading.current_thread())

    def close_connections(self) -> None:
        """Shut down every open client connection (ends idle keep-alive)."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            # the plain socket method: leave the TLS object alone
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection, socket.SHUT_RDWR)

    def join_workers(self, timeout: float) -> None:
        """Wait up to *timeout* seconds for the connection threads."""
        deadline = time.monotonic() + timeout
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))


class TLSServerThread:
    """An HTTPS server on a background thread, stopped cleanly.

    Handlers reach the object passed as *app* through ``self.server.app``.

    Parameters
    ----------
    handler_cls : type of BaseHTTPRequestHandler
        The request handler.
    ssl_context : ssl.SSLContext
        A server-side TLS context holding the certificate chain.
    app : object
        Whatever state the handler needs.
    bind : str
        Address to listen on.
    port : int
        Port, 0 for any free port.
    name : str
        Name of the serving thread.
    max_connections : int or None
        Refuse connections beyond this many open ones (None: no cap).
    """

    def __init__(
        self,
        handler_cls: type[BaseHTTPRequestHandler],
        ssl_context: ssl.SSLContext,
        app: Any,
        *,
        bind: str = '127.0.0.1',
        port: int = 0,
        name: str = 'napari-outpaint-https',
        max_connections: int | None = None,
    ) -> None:
        self._server = _TLSThreadingServer(
            (bind, port), handler_cls, ssl_context, app, max_connections
        )
        self.thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={'poll_interval': 0.05},
            name=name,
            daemon=True,
        )
        self.thread.start()

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` the listening socket is bound to."""
        host, port = self._server.socket.getsockname()[:2]
        return host, port

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close every socket, join every thread."""
        try:
            self._server.shutdown()
        finally:
            self._server.server_close()
            self._server.close_connections()
            self.thread.join(timeout)
            self._server.join_workers(timeout)
