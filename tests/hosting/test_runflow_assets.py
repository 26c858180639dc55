"""RunflowAssetHost: upload, confirm, and delete on exit whatever happens."""

import logging

import httpx
import pytest

from napari_outpaint import (
    AuthenticationError,
    ConfigurationError,
    HostingError,
    InvalidInputError,
)
from napari_outpaint._runflow.client import RunflowClient
from napari_outpaint._runflow.retry import RetryPolicy
from napari_outpaint.hosting import ImageHost
from napari_outpaint.hosting.runflow_assets import (
    MAX_UPLOAD_BYTES,
    RunflowAssetHost,
)
from napari_outpaint.testing import RunflowStandIn

DATA = b'\x89PNG\r\n\x1a\n' + bytes(range(256)) * 4


def _host(server, **kwargs):
    return RunflowAssetHost(
        server.api_key,
        base_url=server.base_url,
        verify=server.ca_path,
        **kwargs,
    )


def test_is_an_image_host(runflow_standin):
    """It satisfies the ImageHost protocol."""
    assert isinstance(_host(runflow_standin), ImageHost)


def test_publish_uploads_exact_bytes_and_deletes_on_exit(runflow_standin):
    """The URL serves the exact bytes; leaving the block deletes it."""
    server = runflow_standin
    with _host(server).publish(DATA, 'image/png') as hosted:
        asset = server.assets[hosted.asset_id]
        assert asset.confirmed
        assert not asset.deleted
        assert asset.data == DATA
        assert asset.content_type == 'image/png'
        assert hosted.url.startswith('https://')
        with httpx.Client(verify=server.ssl_context()) as client:
            served = client.get(hosted.url)
        assert served.content == DATA
    assert asset.deleted
    put = next(r for r in server.requests if r.method == 'PUT')
    assert put.headers['content-length'] == str(len(DATA))
    assert 'authorization' not in put.headers


@pytest.mark.parametrize('exc_type', [RuntimeError, KeyboardInterrupt])
def test_asset_deleted_when_the_block_raises(runflow_standin, exc_type):
    """An error or Ctrl-C inside the block still deletes the asset."""
    server = runflow_standin
    with pytest.raises(exc_type), _host(server).publish(DATA, 'image/png'):
        raise exc_type('boom')
    (asset,) = server.assets.values()
    assert asset.deleted


@pytest.mark.parametrize('status', [405, 500])
def test_failed_delete_is_a_warning_naming_the_asset(
    runflow_standin, caplog, status
):
    """A 405/500 on delete logs a warning with the asset id, no crash."""
    server = runflow_standin
    server.fail_asset_delete(status=status)
    with (
        caplog.at_level(logging.WARNING),
        _host(server).publish(DATA, 'image/png') as hosted,
    ):
        pass
    assert hosted.asset_id in caplog.text
    assert str(status) in caplog.text
    assert not server.assets[hosted.asset_id].deleted


def test_a_delete_answered_404_is_already_gone_not_a_warning(
    runflow_standin, caplog
):
    server = runflow_standin
    server.fail_asset_delete(status=404)
    with (
        caplog.at_level(logging.INFO),
        _host(server).publish(DATA, 'image/png') as hosted,
    ):
        pass
    assert f'asset {hosted.asset_id} is already gone' in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.fixture
def fast_host(runflow_standin):
    """A host whose upload steps retry after 10 ms (4 attempts)."""
    server = runflow_standin
    with RunflowClient(
        server.api_key,
        base_url=server.base_url,
        verify=server.ca_path,
        create_retry=RetryPolicy(
            max_attempts=4, base_delay=0.01, max_delay=0.01
        ),
    ) as client:
        yield RunflowAssetHost(client=client)


def _steps(server):
    """(method, path kind) of every request, in order."""
    kinds = []
    for r in server.requests:
        if r.path == '/v1/asset-uploads':
            kinds.append('session')
        elif r.path.endswith('/confirmations'):
            kinds.append('confirm')
        elif r.path.startswith('/storage/uploads/'):
            kinds.append('upload')
        elif r.method == 'DELETE':
            kinds.append('delete')
    return kinds


@pytest.mark.parametrize(
    ('step', 'status'),
    [
        ('upload-session', 503),
        ('upload-session', 0),
        ('upload', 500),
        ('upload', 0),
        ('confirm', 502),
        ('confirm', 0),
    ],
)
def test_one_failed_upload_step_is_retried_and_one_asset_is_stored(
    runflow_standin, fast_host, caplog, step, status
):
    """A 5xx or a dropped connection on any upload step is retried; exactly
    one asset is confirmed and then deleted; no warning."""
    server = runflow_standin
    server.fail_step(step, status=status)
    with (
        caplog.at_level(logging.WARNING),
        fast_host.publish(DATA, 'image/png') as hosted,
    ):
        assert hosted.url.startswith('https://')
    confirmed = [a for a in server.assets.values() if a.confirmed]
    assert len(confirmed) == 1
    assert confirmed[0].deleted
    assert _steps(server).count('delete') == 1
    assert _steps(server).count(step.replace('upload-', '')) == 2
    assert caplog.records == []


def test_an_upload_that_never_worked_deletes_and_warns_about_nothing(
    runflow_standin, fast_host, caplog
):
    """Every PUT refused: a HostingError; no asset was ever stored, so no
    DELETE is sent and no warning about one is logged."""
    server = runflow_standin
    server.fail_step('upload', status=503, times=4)
    with (
        caplog.at_level(logging.WARNING),
        pytest.raises(HostingError, match='503'),
        fast_host.publish(DATA, 'image/png'),
    ):
        pass
    assert 'delete' not in _steps(server)
    assert not [a for a in server.assets.values() if a.confirmed]
    assert 'asset' not in caplog.text.lower()


def test_wrong_content_type_upload_is_a_hosting_error(runflow_standin):
    """A storage refusal of the PUT is a HostingError without the query."""
    server = runflow_standin

    class LyingClient(httpx.Client):
        def put(self, url, **kwargs):
            kwargs['headers'] = {'Content-Type': 'image/jpeg'}
            return super().put(url, **kwargs)

    with (
        LyingClient(verify=server.ssl_context()) as http,
        RunflowClient(
            server.api_key, base_url=server.base_url, http_client=http
        ) as client,
    ):
        host = RunflowAssetHost(client=client)
        with (
            pytest.raises(HostingError) as info,
            host.publish(DATA, 'image/png'),
        ):
            pass
    assert '403' in str(info.value)
    assert 'X-Amz' not in str(info.value)
    (asset,) = server.assets.values()
    assert asset.data is None


def test_bad_key_is_an_authentication_error():
    """A refused key fails at the first request, nothing uploaded."""
    with RunflowStandIn(api_key='right') as server:
        host = RunflowAssetHost(
            'wrong', base_url=server.base_url, verify=server.ca_path
        )
        with (
            pytest.raises(AuthenticationError),
            host.publish(DATA, 'image/png'),
        ):
            pass
        assert not server.assets


def test_too_big_or_empty_fails_before_any_request(runflow_standin):
    """Over 50 MiB or empty data is refused before a byte is sent."""
    server = runflow_standin
    host = _host(server)
    with (
        pytest.raises(InvalidInputError, match='50|limit'),
        host.publish(b'\0' * (MAX_UPLOAD_BYTES + 1), 'image/png'),
    ):
        pass
    with (
        pytest.raises(InvalidInputError, match='data'),
        host.publish(b'', 'image/png'),
    ):
        pass
    assert not server.requests


def test_missing_key_fails_in_the_constructor():
    """No key anywhere: ConfigurationError naming RUNFLOW_API_KEY."""
    with pytest.raises(ConfigurationError, match='RUNFLOW_API_KEY'):
        RunflowAssetHost()
