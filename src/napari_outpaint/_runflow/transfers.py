"""Bytes in and out of Runflow: asset uploads and result downloads.

Presigned storage URLs (uploads, outputs) must be HTTPS and get no
``Authorization`` header, even on the API's host. Upload steps are
retried like GETs (repeating one bills nothing); downloads are retried
too, refused beyond a size limit while streaming, and bounded by the
run's deadline and its cancel token even when storage never answers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from napari_outpaint._errors import (
    APIConnectionError,
    HostingError,
    OutpaintError,
    ResultError,
    RunTimeoutError,
    ServiceUnavailableError,
)
from napari_outpaint._progress import CancelToken
from napari_outpaint._runflow.http import (
    Retryable,
    RunflowHTTP,
    fail_fast_on_tls,
)
from napari_outpaint._runflow.models import AssetUpload
from napari_outpaint._runflow.retry import (
    Deadline,
    is_retryable_status,
    parse_retry_after,
)
from napari_outpaint._secrets import redact_url

__all__ = [
    'DOWNLOAD_STALL_S',
    'WAIT_TICK_S',
    'LinkExpiredError',
    'RunflowTransfers',
]

logger = logging.getLogger(__name__)

#: How often a waiting download looks at the cancel token and deadline.
WAIT_TICK_S = 0.05
#: A storage server silent this long is a failed attempt (then retried).
DOWNLOAD_STALL_S = 30.0


class RunflowTransfers(RunflowHTTP):
    """Asset uploads and presigned downloads over :class:`RunflowHTTP`.

    Every step of an upload is safe to repeat (no run, no bill), so each
    is retried on 5xx, 408/429 and dropped connections, with backoff. A
    download runs on a helper thread that the caller waits on, so a
    cancel ends it within :data:`WAIT_TICK_S` and the run's deadline
    covers it even when the storage server never answers.
    """

    def create_asset_upload(
        self,
        filename: str,
        mime_type: str,
        size_bytes: int,
        *,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
    ) -> AssetUpload:
        """``POST /v1/asset-uploads``: a presigned upload session."""
        response = self._api_retried(
            'POST',
            '/v1/asset-uploads',
            cancel=cancel,
            deadline=deadline,
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
        self,
        upload_url: str,
        data: bytes,
        content_type: str,
        *,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        """``PUT`` *data* to a presigned URL, without ``Authorization``."""
        if urlsplit(upload_url).scheme != 'https':
            raise HostingError(
                f'Refusing to upload to {redact_url(upload_url)}: not an '
                'HTTPS URL.'
            )

        def attempt() -> None | Retryable:
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
                failure = HostingError(
                    f'Uploading the image to {redact_url(upload_url)} '
                    f'failed ({type(exc).__name__}); check the connection '
                    'and try again.'
                )
                fail_fast_on_tls(exc, failure)
                return Retryable(failure)
            if response.is_success:
                return None
            failure = HostingError(
                f'Uploading the image to {redact_url(upload_url)} was '
                f'refused with HTTP {response.status_code}.'
                + (
                    ' The presigned URL may have expired; try again.'
                    if response.status_code == 403
                    else ' Try again later.'
                )
            )
            if is_retryable_status(response.status_code):
                return Retryable(failure, parse_retry_after(response.headers))
            raise failure

        self._retrying(
            'Upload',
            attempt,
            policy=self.create_retry,
            cancel=cancel,
            deadline=deadline,
        )

    def confirm_asset_upload(
        self,
        asset_id: str,
        *,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
    ) -> Mapping[str, Any]:
        """``POST /v1/asset-uploads/{id}/confirmations``: the asset record."""
        response = self._api_retried(
            'POST',
            f'/v1/asset-uploads/{quote(asset_id, safe="")}/confirmations',
            cancel=cancel,
            deadline=deadline,
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
        """``DELETE /v1/assets/{id}`` (once: a failure is the caller's)."""
        self._api_once('DELETE', f'/v1/assets/{quote(asset_id, safe="")}')

    def download(
        self,
        url: str,
        *,
        max_bytes: int,
        run_id: str | None = None,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
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
        RunTimeoutError
            When *deadline* passes first (``downloading=True``: the run
            succeeded, collect it later).
        OutpaintCancelled
            Within :data:`WAIT_TICK_S` of *cancel*.
        APIConnectionError
            When the storage server stayed unreachable.
        """
        cancel = cancel or CancelToken()
        if urlsplit(url).scheme != 'https':
            raise ResultError(
                f'Refusing to download the result from {redact_url(url)}: '
                'not an HTTPS URL.',
                run_id=run_id,
            )

        def attempt() -> tuple[bytes, str | None] | Retryable:
            try:
                return self._download_once(
                    url, max_bytes, run_id, cancel, deadline
                )
            except httpx.TransportError as exc:
                failure = APIConnectionError(
                    f'Could not download the result from '
                    f'{urlsplit(url).hostname} ({type(exc).__name__}); '
                    'check the connection.' + _collect_later(run_id)
                )
                fail_fast_on_tls(exc, failure)
                return Retryable(failure)
            except _RetryableDownload as exc:
                return Retryable(exc.error, exc.retry_after)

        try:
            return self._retrying(
                f'Download of run {run_id}',
                attempt,
                policy=self.poll_retry,
                cancel=cancel,
                run_id=run_id,
                deadline=deadline,
            )
        except RunTimeoutError as exc:  # the run is over: say so
            if exc.downloading:
                raise
            raise RunTimeoutError(
                run_id, exc.timeout, downloading=True
            ) from exc

    def _download_once(
        self,
        url: str,
        max_bytes: int,
        run_id: str | None,
        cancel: CancelToken,
        deadline: Deadline | None,
    ) -> tuple[bytes, str | None]:
        """One GET on a helper thread; wait for it, the cancel or the end."""
        timeout = _request_timeout(deadline)
        outcome: list[Any] = []
        done = threading.Event()

        def fetch() -> None:
            try:
                outcome.append(
                    self._stream_body(url, max_bytes, run_id, timeout)
                )
            except BaseException as exc:  # noqa: BLE001 - handed over
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(
            target=fetch, name='runflow-download', daemon=True
        ).start()
        # An abandoned fetch ends by itself within its request timeout.
        while not done.wait(WAIT_TICK_S):
            cancel.raise_if_cancelled(run_id)
            if deadline is not None and deadline.expired:
                raise RunTimeoutError(
                    run_id, deadline.timeout, downloading=True
                )
        cancel.raise_if_cancelled(run_id)
        (result,) = outcome
        if isinstance(result, BaseException):
            raise result
        return result

    def _stream_body(
        self,
        url: str,
        max_bytes: int,
        run_id: str | None,
        timeout: httpx.Timeout,
    ) -> tuple[bytes, str | None]:
        # A presigned URL: no Authorization header, whatever the host.
        with self._http.stream('GET', url, timeout=timeout) as response:
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
                kind = (
                    LinkExpiredError
                    if status in (401, 403, 410)
                    else (ResultError)
                )
                raise kind(
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


class LinkExpiredError(ResultError):
    """The output's presigned URL was refused (expired): read the run
    again (``add_signature=true``) for a fresh one."""


class _RetryableDownload(Exception):
    """Internal: a download failure worth another attempt."""

    def __init__(self, error: OutpaintError, retry_after: float | None):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _request_timeout(deadline: Deadline | None) -> httpx.Timeout:
    """Per-request timeouts that end just after the deadline (<= 30 s).

    The waiting caller notices the deadline first; this only bounds how
    long an abandoned helper thread lives.
    """
    limit = DOWNLOAD_STALL_S
    if deadline is not None:
        limit = max(0.1, min(limit, deadline.remaining() + 1.0))
    return httpx.Timeout(limit, connect=min(limit, 10.0))


def _collect_later(run_id: str | None) -> str:
    if not run_id:
        return ''
    return (
        f' Run {run_id} succeeded and is billed: collect it later with '
        f'`napari-outpaint collect {run_id}`.'
    )


def _too_big(size: int, max_bytes: int, run_id: str | None) -> ResultError:
    return ResultError(
        f'The result is larger than the limit of {max_bytes} bytes '
        f'({size} bytes so far); raise max_download_bytes if this is '
        'expected.',
        run_id=run_id,
    )
