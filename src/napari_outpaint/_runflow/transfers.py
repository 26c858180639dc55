"""Bytes in and out of Runflow: asset uploads and result downloads.

Presigned storage URLs (uploads, outputs) must be HTTPS and get no
``Authorization`` header, even on the API's host. Downloads are retried
like GETs and refused beyond a size limit while streaming.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from napari_outpaint._errors import (
    HostingError,
    OutpaintError,
    ResultError,
    ServiceUnavailableError,
)
from napari_outpaint._progress import CancelToken
from napari_outpaint._runflow.http import (
    RunflowHTTP,
    fail_fast_on_tls,
    failure_kind,
)
from napari_outpaint._runflow.models import AssetUpload
from napari_outpaint._runflow.retry import (
    backoff_delay,
    is_retryable_status,
    parse_retry_after,
)
from napari_outpaint._secrets import redact_url

__all__ = ['RunflowTransfers']

logger = logging.getLogger(__name__)


class RunflowTransfers(RunflowHTTP):
    """Asset uploads and presigned downloads over :class:`RunflowHTTP`."""

    def create_asset_upload(
        self, filename: str, mime_type: str, size_bytes: int
    ) -> AssetUpload:
        """``POST /v1/asset-uploads``: a presigned upload session."""
        response = self._api_once(
            'POST',
            '/v1/asset-uploads',
            json={
                'filename': filename,
                'mime_type': mime_type,
                'size_bytes': size_bytes,
            },
        )
        try:
            return AssetUpload.from_json(response.json())
        except ValueError as exc:
            raise HostingError(
                'Runflow answered the upload request without an asset id '
                'and upload URL; try again later.'
            ) from exc

    def upload_to_presigned(
        self, upload_url: str, data: bytes, content_type: str
    ) -> None:
        """``PUT`` *data* to a presigned URL, without ``Authorization``."""
        if urlsplit(upload_url).scheme != 'https':
            raise HostingError(
                f'Refusing to upload to {redact_url(upload_url)}: not an '
                'HTTPS URL.'
            )
        try:
            response = self._http.put(
                upload_url,
                content=data,
                headers={
                    'Content-Type': content_type,
                    'Content-Length': str(len(data)),
                },
            )
        except httpx.TransportError as exc:
            raise HostingError(
                f'Uploading the image to {redact_url(upload_url)} failed '
                f'({type(exc).__name__}); check the connection and try '
                'again.'
            ) from exc
        if not response.is_success:
            hint = (
                ' The presigned URL may have expired; try again.'
                if response.status_code == 403
                else ' Try again later.'
            )
            raise HostingError(
                f'Uploading the image to {redact_url(upload_url)} was '
                f'refused with HTTP {response.status_code}.{hint}'
            )

    def confirm_asset_upload(self, asset_id: str) -> Mapping[str, Any]:
        """``POST /v1/asset-uploads/{id}/confirmations``: the asset record."""
        response = self._api_once(
            'POST',
            f'/v1/asset-uploads/{quote(asset_id, safe="")}/confirmations',
            json={},
        )
        try:
            asset = response.json()
        except ValueError:
            asset = None
        if not isinstance(asset, Mapping):
            raise HostingError(
                f'Runflow confirmed asset {asset_id} without an asset '
                'record; try again later.'
            )
        return asset

    def delete_asset(self, asset_id: str) -> None:
        """``DELETE /v1/assets/{id}``."""
        self._api_once('DELETE', f'/v1/assets/{quote(asset_id, safe="")}')

    def download(
        self,
        url: str,
        *,
        max_bytes: int,
        run_id: str | None = None,
        cancel: CancelToken | None = None,
    ) -> tuple[bytes, str | None]:
        """Download a presigned output URL (HTTPS only, no auth header).

        Returns
        -------
        (bytes, str or None)
            The body and its ``Content-Type``.

        Raises
        ------
        ResultError
            For a non-HTTPS URL, a refused URL, or a body over *max_bytes*.
        """
        cancel = cancel or CancelToken()
        if urlsplit(url).scheme != 'https':
            raise ResultError(
                f'Refusing to download the result from {redact_url(url)}: '
                'not an HTTPS URL.',
                run_id=run_id,
            )
        policy = self.poll_retry
        for attempt in range(1, policy.max_attempts + 1):
            cancel.raise_if_cancelled(run_id)
            try:
                return self._stream_body(url, max_bytes, run_id)
            except httpx.TransportError as exc:
                failure: OutpaintError = self._connection_error(exc)
                fail_fast_on_tls(exc, failure)
                retry_after = None
            except _RetryableDownload as exc:
                failure = exc.error
                retry_after = exc.retry_after
            if attempt < policy.max_attempts:
                delay = backoff_delay(attempt, policy, retry_after=retry_after)
                logger.info(
                    'Download of run %s failed (%s); retrying in %.2f s.',
                    run_id,
                    failure_kind(failure),
                    delay,
                )
                self._pause(delay, cancel, run_id)
        raise failure

    def _stream_body(
        self, url: str, max_bytes: int, run_id: str | None
    ) -> tuple[bytes, str | None]:
        # A presigned URL: no Authorization header, whatever the host.
        with self._http.stream('GET', url) as response:
            if not response.is_success:
                status = response.status_code
                if is_retryable_status(status):
                    raise _RetryableDownload(
                        ServiceUnavailableError(
                            status,
                            api_message='the result download failed',
                            run_id=run_id,
                        ),
                        parse_retry_after(response.headers),
                    )
                raise ResultError(
                    f'Downloading the result from {redact_url(url)} was '
                    f'refused with HTTP {status}; the link may have expired: '
                    'collect the run again to get a fresh one.',
                    run_id=run_id,
                )
            declared = response.headers.get('Content-Length', '')
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_big(int(declared), max_bytes, run_id)
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise _too_big(size, max_bytes, run_id)
                chunks.append(chunk)
            return b''.join(chunks), response.headers.get('Content-Type')


class _RetryableDownload(Exception):
    """Internal: a download failure worth another attempt."""

    def __init__(self, error: OutpaintError, retry_after: float | None):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _too_big(size: int, max_bytes: int, run_id: str | None) -> ResultError:
    return ResultError(
        f'The result is larger than the limit of {max_bytes} bytes '
        f'({size} bytes so far); raise max_download_bytes if this is '
        'expected.',
        run_id=run_id,
    )
