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


@pytest.mark.parametrize('status', [404, 405])
def test_failed_delete_is_a_warning_naming_the_asset(
    runflow_standin, caplog, status
):
    """A 404/405 on delete logs a warning with the asset id, no crash."""
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


def test_wrong_content_type_upload_is_a_hosting_error(runflow_standin):
    """A storage refusal of the PUT is a HostingError without the query."""
    server = runflow_standin

    class LyingClient(httpx.Client):
        def put(self, url, **kwargs):
            kwargs['headers'] = {'Content-Type': 'image/jpeg'}
            return super().put(url, **kwargs)

    from napari_outpaint._runflow.client import RunflowClient

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
