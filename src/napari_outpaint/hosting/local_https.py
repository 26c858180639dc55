"""Serve the input image from this machine over HTTPS, for a short while.

For a tunnel, a reverse proxy or an on-premises deployment: the bytes are
served from memory at an unguessable capability URL, with the user's own
certificate, a fetch budget and a time-to-live, and the server stops when
the ``with`` block ends.
"""

from __future__ import annotations

import hmac
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from os import PathLike
from urllib.parse import urlsplit

from napari_outpaint._errors import ConfigurationError, HostingError
from napari_outpaint.hosting._base import HostedImage
from napari_outpaint.hosting._publication import (
    HostedImageHandler,
    Publication,
    check_publish_arguments,
)
from napari_outpaint.hosting._tls_server import TLSServerThread

__all__ = ['LocalHTTPSHost']

_WILDCARD_BINDS = frozenset({'', '0.0.0.0', '::'})
#: Open connections served at once; more are closed on accept.
_MAX_CONNECTIONS = 8


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
        self._active: tuple[Publication, ...] = ()
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
        check_publish_arguments(data, content_type, filename)
        publication = Publication(
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

    def _add(self, publication: Publication) -> TLSServerThread:
        """Register *publication*, starting the server for the first."""
        with self._lifecycle:
            if self._server is None:
                try:
                    self._server = TLSServerThread(
                        HostedImageHandler,
                        self._ssl_context,
                        self._find,
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

    def _remove(self, publication: Publication) -> None:
        """Unregister *publication*; stop the server after the last."""
        with self._lifecycle:
            self._active = tuple(
                p for p in self._active if p is not publication
            )
            if self._active or self._server is None:
                return
            server, self._server = self._server, None
            server.stop()

    def _find(self, path: str) -> Publication | None:
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
