"""Serve the input image from this machine over HTTPS, for a short while.

For a tunnel, a reverse proxy or an on-premises deployment: the bytes are
served from memory at an unguessable capability URL, with the user's own
certificate, a fetch budget and a time-to-live, and the server stops when
the ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from os import PathLike
from typing import Any
from urllib.parse import quote, urlsplit

from napari_outpaint._errors import ConfigurationError, HostingError
from napari_outpaint.hosting._base import HostedImage

__all__ = ['LocalHTTPSHost']

logger = logging.getLogger(__name__)

_WILDCARD_BINDS = frozenset({'', '0.0.0.0', '::'})
#: Open connections served at once; more are closed on accept.
_MAX_CONNECTIONS = 8


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

    Shared plumbing of :class:`LocalHTTPSHost` and the Runflow stand-in.
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


class _Publication:
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
        with self._lock:
            self._in_flight -= 1
            if completed:
                self._completed += 1


class _HostedImageHandler(BaseHTTPRequestHandler):
    """GET/HEAD of exactly one capability path; everything else refused."""

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
        host: LocalHTTPSHost = self.server.app
        publication = host._find(self.path.split('?', 1)[0])
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


class LocalHTTPSHost:
    """Serve the image from this machine over HTTPS, with your certificate.

    For a tunnel, a reverse proxy or an on-premises deployment where the
    service can reach this machine. :meth:`publish` starts a small TLS
    server (TLS 1.2 or newer) that serves the bytes from memory at
    ``/<256-bit random token>/<filename>``, GET and HEAD only, and answers
    410 Gone after *max_fetches* completed GETs or *ttl* seconds. Leaving
    the ``with`` block revokes the URL and, once no other publication of
    this host is active (concurrent ones share the server and its port),
    stops the server and joins its threads, whatever happened inside.

    Parameters
    ----------
    certfile : str or PathLike
        PEM certificate chain the fetcher trusts (for the public name).
    keyfile : str or PathLike or None
        PEM private key, or None when it is inside *certfile*.
    bind : str
        Address to listen on; keep the default 127.0.0.1 behind a tunnel.
    port : int
        Port to listen on, 0 for any free port.
    public_base_url : str or None
        ``https://`` URL under which the tunnel or reverse proxy exposes
        this server; None means ``https://<bind>:<port>``.
    ttl : float
        Seconds a published URL stays valid.
    max_fetches : int
        Completed full-body GETs allowed (HEAD does not count).
    clock : callable
        Monotonic clock in seconds (injectable for tests).

    Raises
    ------
    ConfigurationError
        When the certificate or key cannot be loaded, or an argument is
        out of range.

    Examples
    --------
    >>> host = LocalHTTPSHost('cert.pem', 'key.pem',
    ...                       public_base_url='https://me.example.org')
    >>> with host.publish(png_bytes, 'image/png') as hosted:  # doctest: +SKIP
    ...     run(image_url=hosted.url)
    """

    name = 'local-https'

    def __init__(
        self,
        certfile: str | PathLike[str],
        keyfile: str | PathLike[str] | None,
        *,
        bind: str = '127.0.0.1',
        port: int = 0,
        public_base_url: str | None = None,
        ttl: float = 600.0,
        max_fetches: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not ttl > 0:
            raise ConfigurationError(
                f'ttl must be a positive number of seconds, got {ttl!r}; '
                'e.g. ttl=600.'
            )
        if isinstance(max_fetches, bool) or not isinstance(max_fetches, int):
            raise ConfigurationError(
                f'max_fetches must be an int, got {max_fetches!r}.'
            )
        if max_fetches < 1:
            raise ConfigurationError(
                f'max_fetches must be at least 1, got {max_fetches}; the '
                'service needs one GET, a few allow for its retries.'
            )
        if public_base_url is not None:
            if urlsplit(public_base_url).scheme != 'https':
                raise ConfigurationError(
                    'public_base_url must start with https:// (Runflow '
                    f'fetches over HTTPS only), got {public_base_url!r}.'
                )
        elif bind in _WILDCARD_BINDS:
            raise ConfigurationError(
                f'bind={bind!r} listens on every interface and has no '
                'URL of its own; set public_base_url to the https:// '
                'address the service reaches you at.'
            )
        self.bind = bind
        self.port = port
        self.public_base_url = public_base_url
        self.ttl = float(ttl)
        self.max_fetches = max_fetches
        self._clock = clock
        self._ssl_context = _server_context(certfile, keyfile)
        self._server: TLSServerThread | None = None
        self._active: tuple[_Publication, ...] = ()
        self._lifecycle = threading.Lock()

    @property
    def server_address(self) -> tuple[str, int] | None:
        """``(host, port)`` while publishing, else None."""
        server = self._server
        return None if server is None else server.address

    @contextmanager
    def publish(
        self,
        data: bytes,
        content_type: str,
        *,
        filename: str = 'input.png',
    ) -> Iterator[HostedImage]:
        """Serve *data* at a capability URL for the duration of the block.

        Parameters
        ----------
        data : bytes
            The encoded image.
        content_type : str
            Its exact MIME type, e.g. ``'image/png'``.
        filename : str
            Last path segment of the URL.

        Yields
        ------
        HostedImage
            ``url`` is the capability URL: treat it as a secret.

        Raises
        ------
        HostingError
            When the server cannot listen on ``bind:port``.
        """
        _check_publish_arguments(data, content_type, filename)
        publication = _Publication(
            bytes(data),
            content_type,
            filename,
            ttl=self.ttl,
            max_fetches=self.max_fetches,
            clock=self._clock,
        )
        server = self._add(publication)
        try:
            expires_at = datetime.now(UTC) + timedelta(seconds=self.ttl)
            yield HostedImage(
                url=self._base_url(server) + publication.path,
                asset_id=None,
                expires_at=expires_at,
            )
        finally:
            publication.revoke()
            self._remove(publication)

    def _add(self, publication: _Publication) -> TLSServerThread:
        """Register *publication*, starting the server for the first."""
        with self._lifecycle:
            if self._server is None:
                try:
                    self._server = TLSServerThread(
                        _HostedImageHandler,
                        self._ssl_context,
                        self,
                        bind=self.bind,
                        port=self.port,
                        name='napari-outpaint-local-https',
                        max_connections=_MAX_CONNECTIONS,
                    )
                except OSError as exc:
                    raise HostingError(
                        f'Cannot listen on {self.bind}:{self.port} '
                        f'({exc.strerror or exc}); choose another port or '
                        'bind address.'
                    ) from exc
            self._active = (*self._active, publication)
            return self._server

    def _remove(self, publication: _Publication) -> None:
        """Unregister *publication*; stop the server after the last."""
        with self._lifecycle:
            self._active = tuple(
                p for p in self._active if p is not publication
            )
            if self._active or self._server is None:
                return
            server, self._server = self._server, None
            server.stop()

    def _find(self, path: str) -> _Publication | None:
        """The active publication at *path* (constant-time compares)."""
        given = path.encode('utf-8', 'replace')
        found = None
        for publication in self._active:  # an immutable snapshot
            if hmac.compare_digest(given, publication.path.encode()):
                found = publication
        return found

    def _base_url(self, server: TLSServerThread) -> str:
        if self.public_base_url is not None:
            return self.public_base_url.rstrip('/')
        host, port = server.address
        if ':' in host:
            host = f'[{host}]'
        return f'https://{host}:{port}'


def _server_context(
    certfile: str | PathLike[str], keyfile: str | PathLike[str] | None
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f'Cannot load the TLS certificate {str(certfile)!r} / key '
            f'{str(keyfile)!r} ({exc}); pass PEM files of a certificate '
            'the service trusts and its private key.'
        ) from exc
    return context


def _check_publish_arguments(
    data: bytes, content_type: str, filename: str
) -> None:
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
