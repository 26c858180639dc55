"""TLSServerThread: an HTTPS server on a background thread, stopped cleanly.

What this file checks
---------------------
- It serves HTTPS on the address it is bound to (a free port for 0),
  from a named daemon thread, and handlers reach ``app`` through
  ``self.server.app``.
- It speaks TLS only, and a client that fails the handshake (plain HTTP,
  an untrusted CA, a client that never sends its hello) does not hold
  up the others: handshakes run on each connection's own thread.
- Beyond ``max_connections`` open connections new ones are closed at
  once, and room comes back when one ends.
- A handler that raises is logged by its type only (its message may hold
  secrets) and the server keeps serving.
- ``stop`` closes the listening socket and every open connection, and
  joins every thread, without waiting for idle clients to time out.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
import trustme

from napari_outpaint.hosting._tls_server import TLSServerThread

APP = {'name': 'the-app'}


class Handler(BaseHTTPRequestHandler):
    """Answers GET with the app's name and the thread that served it."""

    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):  # noqa: A002
        """Keep the test output quiet."""

    def do_GET(self):
        if self.path == '/boom':
            raise RuntimeError('boom: secret-detail')
        body = json.dumps(
            {
                'app': self.server.app['name'],
                'thread': threading.current_thread().name,
            }
        ).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope='module')
def authority():
    """A throw-away CA."""
    return trustme.CA()


@pytest.fixture(scope='module')
def server_context(authority):
    """A server TLS context with a certificate for 127.0.0.1."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert('127.0.0.1').configure_cert(context)
    return context


@pytest.fixture
def client(authority):
    """An httpx client trusting the CA."""
    context = ssl.create_default_context()
    authority.configure_trust(context)
    with httpx.Client(verify=context, timeout=5) as http:
        yield http


@pytest.fixture
def serve(server_context, request):
    """Start a TLSServerThread named after the test; stopped afterwards."""
    started = []

    def start(**kwargs) -> TLSServerThread:
        kwargs.setdefault('name', f'tls-test-{request.node.name}'[:60])
        server = TLSServerThread(Handler, server_context, APP, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _url(server: TLSServerThread, path: str = '/') -> str:
    host, port = server.address
    return f'https://{host}:{port}{path}'


def _connection_threads(server: TLSServerThread) -> list[threading.Thread]:
    name = f'{server.thread.name}-conn'
    return [t for t in threading.enumerate() if t.name == name]


def _join_connection_threads(server: TLSServerThread) -> None:
    for thread in _connection_threads(server):
        thread.join(10)
        assert not thread.is_alive()


def test_serves_https_on_the_bound_address(serve, client):
    """GET over TLS reaches the handler, which sees the app object."""
    server = serve()
    host, port = server.address
    assert host == '127.0.0.1'
    assert port > 0
    response = client.get(_url(server, '/x'))
    assert response.status_code == 200
    assert response.json()['app'] == 'the-app'


def test_the_serving_thread_is_a_named_daemon(serve):
    """The thread has the given name and does not keep Python running."""
    server = serve(name='tls-test-named')
    assert server.thread.name == 'tls-test-named'
    assert server.thread.daemon
    assert server.thread.is_alive()


def test_port_0_picks_a_free_port_per_server(serve, client):
    """Two servers on port 0 listen on two different ports."""
    first, second = serve(name='tls-test-a'), serve(name='tls-test-b')
    assert first.address[1] != second.address[1]
    assert client.get(_url(first)).status_code == 200
    assert client.get(_url(second)).status_code == 200


def test_each_connection_is_served_on_its_own_thread(serve, client):
    """Requests are handled off the accepting thread, one per connection."""
    server = serve()
    served_by = client.get(_url(server)).json()['thread']
    assert served_by == f'{server.thread.name}-conn'
    assert served_by != server.thread.name


def test_plain_http_is_not_answered(serve, client):
    """Without TLS there is no HTTP response; TLS clients still work."""
    server = serve()
    host, port = server.address
    with pytest.raises(httpx.TransportError):
        httpx.get(f'http://{host}:{port}/', timeout=5)
    assert client.get(_url(server)).status_code == 200


def test_a_client_that_does_not_trust_the_ca_is_refused(serve, client):
    """The certificate is checked by clients; a failed handshake is theirs."""
    server = serve()
    with pytest.raises(httpx.ConnectError, match='CERTIFICATE_VERIFY_FAILED'):
        httpx.get(_url(server), timeout=5)  # default CAs only
    assert client.get(_url(server)).status_code == 200


def test_a_stalled_handshake_does_not_block_other_clients(serve, client):
    """A client that never sends its TLS hello holds only its own thread."""
    server = serve()
    with socket.create_connection(server.address, timeout=5):
        response = client.get(_url(server))  # would wait 30 s otherwise
    assert response.status_code == 200


def test_connections_beyond_the_cap_are_closed_until_one_ends(serve, client):
    """With max_connections=2, a third is dropped; room comes back."""
    server = serve(max_connections=2)
    idle = [socket.create_connection(server.address, timeout=5)]
    idle.append(socket.create_connection(server.address, timeout=5))
    try:
        with pytest.raises(httpx.TransportError):
            client.get(_url(server))
    finally:
        for sock in idle:
            sock.close()
    _join_connection_threads(server)
    assert client.get(_url(server)).status_code == 200


def test_no_cap_by_default(serve, client):
    """Without max_connections many open connections are all fine."""
    server = serve()
    idle = [socket.create_connection(server.address, timeout=5)]
    idle.extend(
        socket.create_connection(server.address, timeout=5) for _ in range(9)
    )
    try:
        assert client.get(_url(server)).status_code == 200
    finally:
        for sock in idle:
            sock.close()


def test_a_failing_handler_is_logged_by_type_and_serving_goes_on(
    serve, client, caplog
):
    """The exception's type is logged, never its message; others proceed."""
    caplog.set_level(logging.ERROR, logger='napari_outpaint')
    server = serve()
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(_url(server, '/boom'))
    _join_connection_threads(server)
    assert client.get(_url(server)).status_code == 200
    messages = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith('napari_outpaint')
    ]
    assert messages == ['request handler failed: RuntimeError']
    assert 'secret-detail' not in caplog.text


def test_stop_closes_everything_without_waiting_for_idle_clients(
    serve, client
):
    """Listening socket, keep-alive and half-open connections all end."""
    server = serve()
    address = server.address
    half_open = socket.create_connection(address, timeout=5)
    try:
        # accepted after the half-open one, so both are being served now
        assert client.get(_url(server)).status_code == 200  # kept alive
        assert len(_connection_threads(server)) == 2
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 10  # idle timeout is 30 s
        assert not server.thread.is_alive()
        assert _connection_threads(server) == []
        assert half_open.recv(1) == b''  # closed by the server
    finally:
        half_open.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=2)


def test_stop_twice_is_harmless(serve):
    """A second stop returns at once."""
    server = serve()
    server.stop()
    server.stop()
    assert not server.thread.is_alive()
