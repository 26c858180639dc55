"""Publish the input through Runflow's own asset upload (the default host).

``POST /v1/asset-uploads`` -> ``PUT`` the bytes to the presigned URL (no
``Authorization`` header, exact ``Content-Type`` and ``Content-Length``)
-> ``POST /v1/asset-uploads/{id}/confirmations`` -> the asset's ``url`` is
the ``image_url``. Each step is retried when it fails transiently
(repeating one bills nothing). Leaving the ``with`` block deletes the
asset, whatever happened, unless :meth:`RunflowAssetHost.retain` kept it
for a run that may still read it; a delete that fails is a warning naming
the asset, not a crash, and an upload that was never confirmed has no
asset to delete. No new third party sees the pixels: Runflow receives
them anyway.
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
    NotFoundError,
    OutpaintError,
    PermissionDeniedError,
)
from napari_outpaint._progress import CancelToken
from napari_outpaint._runflow import (
    Deadline,
    RunflowClient,
    VerifyTypes,
    resolve_api_key,
    resolve_base_url,
)
from napari_outpaint._secrets import redact_url
from napari_outpaint.hosting._base import HostedImage

__all__ = [
    'DELETED',
    'FORBIDDEN',
    'FORBIDDEN_REASON',
    'MAX_UPLOAD_BYTES',
    'NOT_DELETED',
    'RETAINED',
    'RunflowAssetHost',
    'delete_asset_quietly',
]

logger = logging.getLogger(__name__)

#: ``RunflowAssetHost.left_behind``: kept for a run that may still read it.
RETAINED = 'retained'
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
    cancel : CancelToken, optional
        Ends the waits between retries of an upload step at once.
    deadline : Deadline, optional
        Bounds those waits (the run's overall deadline).

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
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self._client = client
        self._cancel = cancel
        self._deadline = deadline
        self._retained: set[str] = set()
        self._left: dict[str, str] = {}
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
        steps = {'cancel': self._cancel, 'deadline': self._deadline}
        with self._open_client() as client:
            asset_id = None
            confirming = False
            try:
                session = client.create_asset_upload(
                    filename, content_type, len(data), **steps
                )
                asset_id = session.asset_id
                logger.debug(
                    'Uploading %d bytes as asset %s to %s',
                    len(data),
                    asset_id,
                    redact_url(session.upload_url),
                )
                client.upload_to_presigned(
                    session.upload_url, data, content_type, **steps
                )
                confirming = True  # from here on the asset may exist
                asset = client.confirm_asset_upload(asset_id, **steps)
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
                if asset_id in self._retained:
                    self._retained.discard(asset_id)
                    self._left[asset_id] = RETAINED
                    logger.info(
                        'Kept Runflow asset %s: a run may still read it.',
                        asset_id,
                    )
                elif confirming:
                    outcome = delete_asset_quietly(client, asset_id)
                    if outcome != DELETED:
                        self._left[asset_id] = outcome

    def retain(self, asset_id: str) -> None:
        """Keep *asset_id* when its ``with`` block ends (do not delete it).

        For a run that is not over yet (a timeout, a cancel): deleting its
        input would make it fail. Whoever calls this deletes it later,
        once the run is over (see :func:`delete_asset_quietly`).
        """
        self._retained.add(asset_id)

    def left_behind(self, asset_id: str) -> str | None:
        """Why *asset_id* outlived its block, or None if it is gone.

        ``RETAINED`` (kept for a run), ``NOT_DELETED`` (the delete failed:
        try again later) or ``FORBIDDEN`` (the key may not delete it).
        """
        return self._left.get(asset_id)

    @contextmanager
    def _open_client(self) -> Iterator[RunflowClient]:
        if self._client is not None:
            yield self._client
            return
        with RunflowClient(
            self._api_key, base_url=self._base_url, verify=self._verify
        ) as client:
            yield client


#: ``delete_asset_quietly`` outcomes.
DELETED, NOT_DELETED, FORBIDDEN = 'deleted', 'not-deleted', 'forbidden'

#: Why an asset stays when the key may not delete it.
FORBIDDEN_REASON = (
    'Runflow refused to delete it (HTTP 403): the API key lacks the '
    'assets:delete scope. Delete it in your Runflow asset library, or add '
    'that scope to the key.'
)


def delete_asset_quietly(client: RunflowClient, asset_id: str) -> str:
    """Delete the asset; never raises.

    Returns
    -------
    str
        ``DELETED`` once it is gone (deleted, or never stored / already
        gone), ``FORBIDDEN`` when the key may not delete assets (retrying
        cannot help), else ``NOT_DELETED`` (try again later). Both of the
        last are a warning naming the asset.
    """
    try:
        client.delete_asset(asset_id)
    except NotFoundError:
        logger.info('Runflow asset %s is already gone.', asset_id)
        return DELETED
    except PermissionDeniedError:
        logger.warning(
            'Runflow asset %s (the uploaded input) stays in your Runflow '
            'asset library: %s',
            asset_id,
            FORBIDDEN_REASON,
        )
        return FORBIDDEN
    except APIStatusError as exc:
        logger.warning(
            'Could not delete Runflow asset %s (HTTP %d %s); it is tried '
            'again later.',
            asset_id,
            exc.status_code,
            exc.code or '',
        )
    except (OutpaintError, httpx.HTTPError) as exc:
        logger.warning(
            'Could not delete Runflow asset %s (%s); it is tried again later.',
            asset_id,
            type(exc).__name__,
        )
    else:
        logger.info('Deleted Runflow asset %s.', asset_id)
        return DELETED
    return NOT_DELETED
