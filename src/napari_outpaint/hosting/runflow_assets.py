"""Publish the input through Runflow's own asset upload (the default host).

``POST /v1/asset-uploads`` -> ``PUT`` the bytes to the presigned URL (no
``Authorization`` header, exact ``Content-Type`` and ``Content-Length``)
-> ``POST /v1/asset-uploads/{id}/confirmations`` -> the asset's ``url`` is
the ``image_url``. Leaving the ``with`` block deletes the asset, whatever
happened; a delete that fails is a warning naming the asset, not a crash.
No new third party sees the pixels: Runflow receives them anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx

from napari_outpaint._errors import (
    APIStatusError,
    HostingError,
    InvalidInputError,
    OutpaintError,
)
from napari_outpaint._runflow import (
    RunflowClient,
    VerifyTypes,
    resolve_api_key,
    resolve_base_url,
)
from napari_outpaint._secrets import redact_url
from napari_outpaint.hosting._base import HostedImage

__all__ = ['MAX_UPLOAD_BYTES', 'RunflowAssetHost']

logger = logging.getLogger(__name__)

#: Runflow's limit for one asset upload (``size_bytes`` <= 50 MiB).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class RunflowAssetHost:
    """An :class:`~napari_outpaint.hosting.ImageHost` backed by Runflow assets.

    Parameters
    ----------
    api_key : str, optional
        Argument, ``RUNFLOW_API_KEY``, then the keyring.
    base_url : str, optional
        Argument, ``RUNFLOW_BASE_URL``, then ``https://api.runflow.io``.
    verify : ssl.SSLContext, path or None
        TLS trust (None: httpx's default, ``SSL_CERT_FILE`` honoured).
    client : RunflowClient, optional
        Share an open client (the engine passes its own); then *api_key*,
        *base_url* and *verify* are unused and the client is not closed.

    Raises
    ------
    ConfigurationError
        Without a key, or for a non-HTTPS base URL (before any I/O).
    """

    name = 'runflow-assets'

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        verify: VerifyTypes = None,
        client: RunflowClient | None = None,
    ) -> None:
        self._client = client
        if client is None:
            self._api_key = resolve_api_key(api_key)
            self._base_url = resolve_base_url(base_url)
            self._verify = verify

    def __repr__(self) -> str:
        base = self._client.base_url if self._client else self._base_url
        return f'RunflowAssetHost(base_url={base!r})'

    @contextmanager
    def publish(
        self,
        data: bytes,
        content_type: str,
        *,
        filename: str = 'input.png',
    ) -> Iterator[HostedImage]:
        """Upload *data* as a Runflow asset; delete it on leaving the block.

        Raises
        ------
        InvalidInputError
            For empty data or data over 50 MiB (before any request).
        HostingError
            When the upload or its confirmation fails.
        APIStatusError
            For the API's refusals (401, 402, 403, ...).
        """
        if not data:
            raise InvalidInputError('data', 'nothing to upload (0 bytes).')
        if len(data) > MAX_UPLOAD_BYTES:
            raise InvalidInputError(
                'data',
                f"{len(data)} bytes is over Runflow's upload limit of "
                f'{MAX_UPLOAD_BYTES} bytes; use a smaller plane.',
            )
        with self._open_client() as client:
            asset_id = None
            try:
                session = client.create_asset_upload(
                    filename, content_type, len(data)
                )
                asset_id = session.asset_id
                logger.debug(
                    'Uploading %d bytes as asset %s to %s',
                    len(data),
                    asset_id,
                    redact_url(session.upload_url),
                )
                client.upload_to_presigned(
                    session.upload_url, data, content_type
                )
                asset = client.confirm_asset_upload(asset_id)
                url = asset.get('url')
                if not isinstance(url, str) or (
                    urlsplit(url).scheme != 'https'
                ):
                    raise HostingError(
                        f'Runflow confirmed asset {asset_id} without an '
                        'HTTPS url; try again later.'
                    )
                logger.info('Published the input as asset %s.', asset_id)
                yield HostedImage(url=url, asset_id=asset_id)
            finally:
                if asset_id is not None:
                    _delete_quietly(client, asset_id)

    @contextmanager
    def _open_client(self) -> Iterator[RunflowClient]:
        if self._client is not None:
            yield self._client
            return
        with RunflowClient(
            self._api_key, base_url=self._base_url, verify=self._verify
        ) as client:
            yield client


def _delete_quietly(client: RunflowClient, asset_id: str) -> None:
    """Delete the asset; any failure is a warning, never an exception."""
    try:
        client.delete_asset(asset_id)
    except APIStatusError as exc:
        logger.warning(
            'Could not delete Runflow asset %s (HTTP %d %s): it may stay in '
            'your Runflow asset library; delete it there if needed.',
            asset_id,
            exc.status_code,
            exc.code or '',
        )
    except (OutpaintError, httpx.HTTPError) as exc:
        logger.warning(
            'Could not delete Runflow asset %s (%s); delete it in your '
            'Runflow asset library if needed.',
            asset_id,
            type(exc).__name__,
        )
    else:
        logger.info('Deleted Runflow asset %s.', asset_id)
