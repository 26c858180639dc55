"""LocalHTTPSHost: capability URL, methods, headers, budget, TTL, shutdown."""

from __future__ import annotations

import io
import socket
import ssl
import threading
import time

import httpx
import numpy as np
import pytest
import trustme
from PIL import Image

from napari_outpaint._errors import ConfigurationError, HostingError
from napari_outpaint.hosting import ImageHost
from napari_outpaint.hosting.local_https import LocalHTTPSHost
from napari_outpaint.testing import RunflowStandIn

THREAD = 'napari-outpaint-local-https'


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope='module')
def tls_files(tmp_path_factory):
    """A throw-away CA, and a certificate for 127.0.0.1 it signed."""
    directory = tmp_path_factory.mktemp('tls')
    authority = trustme.CA()
    certificate = authority.issue_cert('127.0.0.1', 'localhost')
    paths = {
        'ca': directory / 'ca.pem',
        'cert': directory / 'cert.pem',
        'key': directory / 'key.pem',
    }
    authority.cert_pem.write_to_path(paths['ca'])
    certificate.private_key_pem.write_to_path(paths['key'])
    for index, pem in enumerate(certificate.cert_chain_pems):
        pem.write_to_path(paths['cert'], append=index > 0)
    return paths


@pytest.fixture
def client(tls_files):
    """An httpx client trusting the test CA."""
    context = ssl.create_default_context(cafile=str(tls_files['ca']))
    with httpx.Client(verify=context, timeout=10) as http:
        yield http


@pytest.fixture
def png():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format='PNG')
    return buffer.getvalue()


def _host(tls_files, **kwargs) -> LocalHTTPSHost:
    return LocalHTTPSHost(
        str(tls_files['cert']), str(tls_files['key']), **kwargs
    )


def _serving_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD)]


def test_is_an_image_host(tls_files):
    """LocalHTTPSHost satisfies the ImageHost protocol."""
    assert isinstance(_host(tls_files), ImageHost)


def test_serves_the_exact_bytes_and_headers(tls_files, client, png):
    """GET returns the bytes with exact, no-store, nosniff headers."""
    with _host(tls_files).publish(png, 'image/png') as hosted:
        response = client.get(hosted.url)
    assert hosted.url.startswith('https://127.0.0.1:')
    token = hosted.url.split('/')[3]
    assert len(token) >= 43  # 32 random bytes, urlsafe base64
    assert hosted.url.endswith('/input.png')
    assert hosted.expires_at is not None
    assert response.status_code == 200
    assert response.content == png
    assert response.headers['content-type'] == 'image/png'
    assert response.headers['content-length'] == str(len(png))
    assert response.headers['cache-control'] == 'no-store'
    assert response.headers['x-content-type-options'] == 'nosniff'


def test_tokens_differ_between_publications(tls_files, png):
    """Every publication gets a fresh random path."""
    host = _host(tls_files)
    with host.publish(png, 'image/png') as first:
        pass
    with host.publish(png, 'image/png') as second:
        pass
    assert first.url.split('/')[3] != second.url.split('/')[3]


def test_other_paths_get_an_empty_404(tls_files, client, png):
    """A wrong token, a bare token or / answer 404 with no body."""
    with _host(tls_files).publish(png, 'image/png') as hosted:
        base, token, name = hosted.url.rsplit('/', 2)
        wrong = token[:-1] + ('A' if token[-1] != 'A' else 'B')
        for url in (
            f'{base}/{wrong}/{name}',
            f'{base}/{token}',
            f'{base}/{token}/other.png',
            f'{base}/',
        ):
            response = client.get(url)
            assert response.status_code == 404
            assert response.content == b''


def test_methods_other_than_get_and_head_get_405(tls_files, client, png):
    """POST, PUT and DELETE are refused with 405 and do not count."""
    host = _host(tls_files, max_fetches=1)
    with host.publish(png, 'image/png') as hosted:
        for method in ('POST', 'PUT', 'DELETE'):
            response = client.request(method, hosted.url, content=b'x')
            assert response.status_code == 405
            assert response.headers['allow'] == 'GET, HEAD'
        assert client.get(hosted.url).status_code == 200


def test_head_works_and_is_not_counted(tls_files, client, png):
    """HEAD gives the headers without a body and spends no fetch."""
    host = _host(tls_files, max_fetches=1)
    with host.publish(png, 'image/png') as hosted:
        for _ in range(3):
            head = client.head(hosted.url)
            assert head.status_code == 200
            assert head.content == b''
            assert head.headers['content-length'] == str(len(png))
        assert client.get(hosted.url).content == png
        assert client.head(hosted.url).status_code == 410


def test_fetch_budget_then_410(tls_files, client, png):
    """After max_fetches completed GETs the URL answers 410 Gone."""
    host = _host(tls_files, max_fetches=2)
    with host.publish(png, 'image/png') as hosted:
        assert client.get(hosted.url).status_code == 200
        assert client.get(hosted.url).status_code == 200
        gone = client.get(hosted.url)
    assert gone.status_code == 410
    assert gone.content == b''


def test_ttl_then_410(tls_files, client, png):
    """After ttl seconds (injected clock) the URL answers 410 Gone."""
    clock = FakeClock()
    host = _host(tls_files, ttl=60.0, clock=clock)
    with host.publish(png, 'image/png') as hosted:
        clock.now += 59.9
        assert client.get(hosted.url).status_code == 200
        clock.now += 0.1
        assert client.get(hosted.url).status_code == 410
        assert client.head(hosted.url).status_code == 410


def test_listens_on_loopback_only(tls_files, png):
    """By default the listening socket is bound to 127.0.0.1."""
    host = _host(tls_files)
    assert host.server_address is None
    with host.publish(png, 'image/png') as hosted:
        address, port = host.server_address
        assert hosted.url == (
            f'https://127.0.0.1:{port}' + hosted.url.split(str(port), 1)[1]
        )
    assert address == '127.0.0.1'


def test_exit_stops_the_server_and_joins_the_thread(tls_files, client, png):
    """After the block: connection refused, thread joined, URL dead."""
    host = _host(tls_files)
    with host.publish(png, 'image/png') as hosted:
        address = host.server_address
        assert client.get(hosted.url).status_code == 200  # keep-alive
        assert _serving_threads()
    assert _serving_threads() == []
    assert host.server_address is None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=2)
    with pytest.raises(httpx.ConnectError):
        client.get(hosted.url)


def test_overlapping_publications_share_one_server(tls_files, client, png):
    """Concurrent publications share a server that stops after the last."""
    host = _host(tls_files)
    with host.publish(png, 'image/png') as outer:
        address = host.server_address
        with host.publish(b'other', 'image/png', filename='b.png') as inner:
            assert host.server_address == address
            assert client.get(inner.url).content == b'other'
        assert client.get(inner.url).status_code == 404
        assert client.get(outer.url).content == png
        assert len(_serving_threads()) >= 1
    assert _serving_threads() == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=2)


def test_idle_connections_are_capped(tls_files, client, png):
    """Beyond 8 open connections new ones are closed until some end."""
    host = _host(tls_files)
    with host.publish(png, 'image/png') as hosted:
        idle = [
            socket.create_connection(host.server_address) for _ in range(8)
        ]
        try:
            with pytest.raises(httpx.TransportError):
                client.get(hosted.url)
        finally:
            for sock in idle:
                sock.close()
        deadline = time.monotonic() + 10
        while True:  # the server notices the closed sockets shortly
            try:
                response = client.get(hosted.url)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
    assert response.content == png


@pytest.mark.parametrize('error', [RuntimeError, KeyboardInterrupt])
def test_an_exception_inside_the_block_still_stops_it(tls_files, png, error):
    """Any exception, KeyboardInterrupt included, stops the server."""
    host = _host(tls_files)
    box = {}
    with pytest.raises(error):
        _raise_while_publishing(host, png, error, box)
    assert _serving_threads() == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(box['address'], timeout=2)


def _raise_while_publishing(host, data, error, box) -> None:
    with host.publish(data, 'image/png'):
        box['address'] = host.server_address
        raise error


def test_public_base_url_prefixes_the_capability_path(tls_files, client, png):
    """public_base_url replaces the local origin in the published URL."""
    host = _host(tls_files, public_base_url='https://tunnel.example.org/')
    with host.publish(png, 'image/webp', filename='in.webp') as hosted:
        path = hosted.url.removeprefix('https://tunnel.example.org')
        assert path.startswith('/')
        assert path.endswith('/in.webp')
        address, port = host.server_address
        local = client.get(f'https://{address}:{port}{path}')
    assert local.status_code == 200
    assert local.headers['content-type'] == 'image/webp'


@pytest.mark.parametrize(
    ('kwargs', 'match'),
    [
        ({'public_base_url': 'http://x.org'}, 'https://'),
        ({'bind': '0.0.0.0'}, 'public_base_url'),
        ({'max_fetches': 0}, 'max_fetches'),
        ({'ttl': 0}, 'ttl'),
    ],
)
def test_bad_configuration_is_refused(tls_files, kwargs, match):
    """Out-of-range settings raise ConfigurationError naming the setting."""
    with pytest.raises(ConfigurationError, match=match):
        _host(tls_files, **kwargs)


def test_unreadable_certificate_is_refused(tmp_path):
    """A missing certificate file fails at construction, not at publish."""
    with pytest.raises(ConfigurationError, match='certificate'):
        LocalHTTPSHost(tmp_path / 'nope.pem', tmp_path / 'nope.key')


def test_bad_publish_arguments_are_refused(tls_files, png):
    """Path-like filenames and non-image types are refused."""
    host = _host(tls_files)
    with (
        pytest.raises(HostingError, match='filename'),
        host.publish(png, 'image/png', filename='../x.png'),
    ):
        pass
    with (
        pytest.raises(HostingError, match='content_type'),
        host.publish(png, 'text/html'),
    ):
        pass
    assert _serving_threads() == []


def test_standin_fetches_the_published_image(tls_files, png):
    """A full stand-in run fetches the image from LocalHTTPSHost."""
    host = _host(tls_files, max_fetches=1)
    with (
        RunflowStandIn(
            processing_delay=0.0, extra_trusted_ca=tls_files['ca']
        ) as server,
        httpx.Client(
            base_url=server.base_url,
            verify=server.ssl_context(),
            headers={'Authorization': 'Bearer test-key'},
        ) as api,
    ):
        with host.publish(png, 'image/png') as hosted:
            created = api.post(
                '/v1/models/runflow/outpaint/runs',
                json={
                    'input': {
                        'image_url': hosted.url,
                        'expand_top': 0,
                        'expand_bottom': 0,
                        'expand_left': 50,
                        'expand_right': 50,
                    }
                },
            ).json()
            run = server.get_run(created['id'])
            assert run.wait_terminal(10)
        done = api.get(f'/v1/runs/{created["id"]}').json()
        assert done['status_code'] == 'succeeded'
        with httpx.Client(verify=server.ssl_context()) as storage:
            output = storage.get(done['output']['outputs'][0]['url'])
    assert run.fetched_image == png
    assert run.fetched_content_type == 'image/png'
    with Image.open(io.BytesIO(output.content)) as image:
        assert image.size == (30 + 15 + 15, 20)


def test_standin_does_not_trust_an_unknown_ca(tls_files, png):
    """Without extra_trusted_ca the stand-in's fetch fails TLS."""
    with (
        RunflowStandIn(processing_delay=0.0) as server,
        httpx.Client(
            base_url=server.base_url,
            verify=server.ssl_context(),
            headers={'Authorization': 'Bearer test-key'},
        ) as api,
    ):
        with _host(tls_files).publish(png, 'image/png') as hosted:
            created = api.post(
                '/v1/models/runflow/outpaint/runs',
                json={
                    'input': {
                        'image_url': hosted.url,
                        'expand_top': 10,
                        'expand_bottom': 0,
                        'expand_left': 0,
                        'expand_right': 0,
                    }
                },
            ).json()
            assert server.get_run(created['id']).wait_terminal(10)
        done = api.get(f'/v1/runs/{created["id"]}').json()
    assert done['status_code'] == 'failed'
    assert done['failure_code'] == 'INPUT_FETCH_FAILED'


def test_runflow_engine_end_to_end_through_local_https(tls_files):
    """RunflowEngine with LocalHTTPSHost: the stand-in fetches our server."""
    from napari_outpaint._expand import Expand
    from napari_outpaint.engines.runflow import RunflowEngine

    image = np.random.default_rng(2).integers(
        0, 256, (24, 32, 3), dtype=np.uint8
    )
    expand = Expand(top=25, bottom=0, left=0, right=50)
    with RunflowStandIn(
        processing_delay=0.0, extra_trusted_ca=tls_files['ca']
    ) as server:
        engine = RunflowEngine(
            server.api_key,
            base_url=server.base_url,
            verify=server.ssl_context(),
            host=_host(tls_files),
            poll_interval=0.05,
        )
        result = engine.outpaint(image, expand)
        assert server.assets == {}  # nothing went through the asset flow
        fetched = server.runs[0].fetched_image
    assert _serving_threads() == []
    assert result.image.shape == (24 + 6, 32 + 16, 3)
    np.testing.assert_array_equal(result.image[6:, :32], image)
    with Image.open(io.BytesIO(fetched)) as sent:
        np.testing.assert_array_equal(np.asarray(sent.convert('RGB')), image)
