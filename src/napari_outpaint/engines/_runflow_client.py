"""A small synchronous HTTP client for the Runflow API (httpx).

One job: speak Runflow's HTTP (runs, asset uploads, downloads) safely.

- The API key is sent only to the API base URL, as a bearer token. Presigned
  storage URLs (uploads, outputs) get no ``Authorization`` header, even on
  the same host.
- A run is paid for: :meth:`RunflowClient.create_run` retries at once
  only when the server surely made no run (connection refused, 429, 503);
  when it may have made one (the connection broke after the request went
  out, 500/502/504, an unreadable 2xx), it first looks the run up by its
  ``client_ref`` and adopts it, and creates again only if none exists.
- GETs are retried on 5xx, 408/429, network errors and unparsable bodies,
  with exponential backoff and jitter, honouring ``Retry-After``.
- Every wait goes through a :class:`~napari_outpaint._progress.CancelToken`
  (or an injected ``sleep``), so a cancel ends it at once.
"""

from __future__ import annotations

import logging
import ssl
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from napari_outpaint._credentials import ENV_VAR
from napari_outpaint._errors import (
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    HostingError,
    OutpaintError,
    ResultError,
    RunTimeoutError,
    ServiceUnavailableError,
    redact_url,
)
from napari_outpaint._progress import CancelToken
from napari_outpaint.engines._redact_logs import install_httpx_log_redaction
from napari_outpaint.engines._retry import (
    DEFAULT_POLL_SCHEDULE,
    Deadline,
    PollSchedule,
    RetryPolicy,
    backoff_delay,
    is_retryable_status,
    parse_retry_after,
)
from napari_outpaint.engines._runflow_config import (
    VerifyTypes,
    resolve_base_url,
    ssl_verify,
)
from napari_outpaint.engines._runflow_errors import error_for_status
from napari_outpaint.engines._runflow_models import AssetUpload, Run

__all__ = [
    'CREATE_RETRY',
    'DEFAULT_HTTP_TIMEOUT',
    'POLL_RETRY',
    'RunflowClient',
]

logger = logging.getLogger(__name__)
install_httpx_log_redaction()

#: Per request, not per run: the run's own deadline is a separate knob.
DEFAULT_HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: Create retries: Runflow's guidance (5 attempts, capped at 32 s).
CREATE_RETRY = RetryPolicy()
#: Poll retries: more patient, a paid run is waiting on the other side.
POLL_RETRY = RetryPolicy(max_attempts=8)

Sleep = Callable[[float], None]

# Errors raised before the request left the machine: no run can exist.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RunflowClient:
    """Runflow's HTTP API: runs, asset uploads and downloads.

    Parameters
    ----------
    api_key : str
        The bearer token; sent to *base_url* only.
    base_url : str, optional
        Resolved with :func:`resolve_base_url`.
    verify : ssl.SSLContext, path or None
        TLS trust; see :func:`ssl_verify`. Ignored with *http_client*.
    timeout : httpx.Timeout, optional
        Per-request timeouts.
    http_client : httpx.Client, optional
        Use this client (not closed here) instead of opening one.
    create_retry, poll_retry : RetryPolicy, optional
        Retry policies for run creation and for GETs.
    sleep : callable, optional
        ``sleep(seconds)`` used instead of waiting on the cancel token
        (tests use it to record delays without waiting).
    clock : callable, optional
        Monotonic clock for deadlines.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        verify: VerifyTypes = None,
        timeout: httpx.Timeout = DEFAULT_HTTP_TIMEOUT,
        http_client: httpx.Client | None = None,
        create_retry: RetryPolicy = CREATE_RETRY,
        poll_retry: RetryPolicy = POLL_RETRY,
        sleep: Sleep | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not api_key:
            raise ConfigurationError(f'No Runflow API key; set {ENV_VAR}.')
        self._api_key = api_key
        self.base_url = resolve_base_url(base_url)
        self.create_retry = create_retry
        self.poll_retry = poll_retry
        self._sleep = sleep
        self.clock = clock
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            verify=ssl_verify(verify),
            timeout=timeout,
            follow_redirects=False,
            headers={'User-Agent': _user_agent()},
        )

    def __repr__(self) -> str:
        return f'RunflowClient(base_url={self.base_url!r})'

    def __enter__(self) -> RunflowClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections this client opened."""
        if self._owns_http:
            self._http.close()

    # ---------------------------------------------------------------- runs

    def create_run(
        self,
        model: str,
        model_input: Mapping[str, Any],
        *,
        metadata: Mapping[str, Any] | None = None,
        client_ref: str | None = None,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
    ) -> Run:
        """Create one run, never two, and return it (usually ``queued``).

        A fresh ``client_ref`` and ``Idempotency-Key`` are made for this
        submission and reused by every retry of it.

        Raises
        ------
        APIStatusError
            The typed subclass for the API's answer (402, 422, ...).
        APIConnectionError
            When Runflow stayed unreachable.
        """
        cancel = cancel or CancelToken()
        client_ref = client_ref or f'napari-outpaint-{uuid.uuid4().hex}'
        headers = {'Idempotency-Key': str(uuid.uuid4())}
        body = {
            'input': dict(model_input),
            'metadata': dict(metadata or {}),
            'client_ref': client_ref,
        }
        path = f'/v1/models/{_model_path(model)}/runs'
        policy = self.create_retry
        for attempt in range(1, policy.max_attempts + 1):
            cancel.raise_if_cancelled()
            outcome = self._try_create(path, body, headers, cancel)
            if isinstance(outcome, Run):
                logger.info('Run %s exists (%s).', outcome.id, model)
                return outcome
            failure, retry_after = outcome
            if attempt == policy.max_attempts:
                break
            delay = backoff_delay(attempt, policy, retry_after=retry_after)
            logger.info(
                'Run creation attempt %d failed (%s); retrying in %.2f s.',
                attempt,
                _kind(failure),
                delay,
            )
            self._pause(delay, cancel, None, deadline)
        raise failure

    def _try_create(
        self,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str],
        cancel: CancelToken,
    ) -> Run | tuple[OutpaintError, float | None]:
        """One create attempt: the run, or (retryable failure, Retry-After).

        Non-retryable refusals (401, 402, 403, 409, 422, ...) raise. When
        the server may have made the run (connection lost after sending,
        500/502/504, an unreadable 2xx) it is looked up by ``client_ref``
        and adopted if found.
        """
        client_ref = body['client_ref']
        try:
            response = self._api('POST', path, json=body, headers=headers)
        except _NOT_SENT as exc:  # nothing reached the server
            failure = self._connection_error(exc)
            _fail_fast_on_tls(exc, failure)
            return failure, None
        except httpx.TransportError as exc:  # sent; outcome unknown
            logger.warning(
                'The connection broke after the run request was sent (%s); '
                'looking the run up by client_ref %s before creating '
                'another.',
                type(exc).__name__,
                client_ref,
            )
            return self._adopt(client_ref, cancel) or (
                self._connection_error(exc),
                None,
            )
        if response.is_success:
            try:
                return Run.from_json(response.json())
            except ValueError:
                failure = self._invalid_body(response)
                return self._adopt(client_ref, cancel) or (failure, None)
        failure = self._status_error(response)
        if response.status_code in (429, 503):  # surely no run made
            return failure, parse_retry_after(response.headers)
        if response.status_code >= 500:
            return self._adopt(client_ref, cancel) or (failure, None)
        raise failure

    def get_run(
        self,
        run_id: str,
        *,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
    ) -> Run:
        """Fetch a run, retrying transient failures (5xx, network, JSON)."""
        path = f'/v1/runs/{quote(run_id, safe="")}'
        return self._get_json(
            path,
            Run.from_json,
            run_id=run_id,
            cancel=cancel,
            deadline=deadline,
        )

    def find_runs_by_client_ref(
        self, client_ref: str, *, cancel: CancelToken | None = None
    ) -> list[Run]:
        """Runs whose ``client_ref`` is *client_ref* (``GET /v1/runs?q=``)."""

        def parse(data: object) -> list[Run]:
            items = data.get('items') if isinstance(data, Mapping) else data
            if not isinstance(items, list):
                raise ValueError('a run search must return {"items": [...]}')
            runs = [Run.from_json(item) for item in items]
            return [r for r in runs if r.client_ref in (None, client_ref)]

        return self._get_json(
            '/v1/runs',
            parse,
            params={'q': f'client_ref:{client_ref}'},
            cancel=cancel,
        )

    def iter_run(
        self,
        run_id: str,
        *,
        schedule: PollSchedule = DEFAULT_POLL_SCHEDULE,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
    ) -> Iterator[Run]:
        """Poll a run, yielding it each time, until it is terminal.

        Raises
        ------
        RunTimeoutError
            Naming the run, when *deadline* passes first.
        OutpaintCancelled
            When *cancel* is cancelled (between polls or during a wait).
        """
        cancel = cancel or CancelToken()
        delays = schedule.delays()
        while True:
            cancel.raise_if_cancelled(run_id)
            _check_deadline(deadline, run_id)
            run = self.get_run(run_id, cancel=cancel, deadline=deadline)
            yield run
            if run.is_terminal:
                return
            self._pause(next(delays), cancel, run_id, deadline)

    def wait_run(
        self,
        run_id: str,
        *,
        schedule: PollSchedule = DEFAULT_POLL_SCHEDULE,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
    ) -> Run:
        """Poll until terminal and return the terminal run."""
        runs = self.iter_run(
            run_id, schedule=schedule, cancel=cancel, deadline=deadline
        )
        run = None
        for run in runs:  # noqa: B007 - the last one is the terminal run
            pass
        assert run is not None  # iter_run yields at least once
        return run

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
                _fail_fast_on_tls(exc, failure)
                retry_after = None
            except _RetryableDownload as exc:
                failure = exc.error
                retry_after = exc.retry_after
            if attempt < policy.max_attempts:
                delay = backoff_delay(attempt, policy, retry_after=retry_after)
                logger.info(
                    'Download of run %s failed (%s); retrying in %.2f s.',
                    run_id,
                    _kind(failure),
                    delay,
                )
                self._pause(delay, cancel, run_id)
        raise failure

    # -------------------------------------------------------------- assets

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

    # ------------------------------------------------------------ plumbing

    def _api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request to the API, with the bearer token (httpx errors)."""
        headers = {
            'Authorization': f'Bearer {self._api_key}',
            'Accept': 'application/json',
            **kwargs.pop('headers', {}),
        }
        url = f'{self.base_url}{path}'
        logger.debug('%s %s', method, redact_url(url))
        return self._http.request(method, url, headers=headers, **kwargs)

    def _api_once(
        self, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        """One API request; typed errors for transport and status."""
        try:
            response = self._api(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc
        if not response.is_success:
            raise self._status_error(response)
        return response

    def _get_json(
        self,
        path: str,
        parse: Callable[[object], Any],
        *,
        params: Mapping[str, str] | None = None,
        run_id: str | None = None,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
    ) -> Any:
        """GET and parse, retrying what is transient."""
        cancel = cancel or CancelToken()
        policy = self.poll_retry
        for attempt in range(1, policy.max_attempts + 1):
            retry_after = None
            try:
                response = self._api('GET', path, params=params)
            except httpx.TransportError as exc:
                failure: OutpaintError = self._connection_error(exc, run_id)
                _fail_fast_on_tls(exc, failure)
            else:
                if response.is_success:
                    try:
                        return parse(response.json())
                    except ValueError:
                        failure = self._invalid_body(response, run_id)
                else:
                    failure = self._status_error(response, run_id)
                    if not is_retryable_status(response.status_code):
                        raise failure
                    retry_after = parse_retry_after(response.headers)
            if attempt == policy.max_attempts:
                break
            delay = backoff_delay(attempt, policy, retry_after=retry_after)
            logger.info(
                'GET %s failed (%s); retry %d in %.2f s.',
                path,
                _kind(failure),
                attempt,
                delay,
            )
            self._pause(delay, cancel, run_id, deadline)
        raise failure

    def _adopt(self, client_ref: str, cancel: CancelToken) -> Run | None:
        """The run a lost create made, if any (looked up by client_ref)."""
        runs = self.find_runs_by_client_ref(client_ref, cancel=cancel)
        if runs:
            logger.warning(
                'Adopting run %s created by the interrupted request '
                '(client_ref %s); no second run is created.',
                runs[0].id,
                client_ref,
            )
            return runs[0]
        logger.info('No run has client_ref %s; creating it again.', client_ref)
        return None

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

    def _pause(
        self,
        seconds: float,
        cancel: CancelToken,
        run_id: str | None,
        deadline: Deadline | None = None,
    ) -> None:
        """Wait *seconds* (bounded by *deadline*); cancel ends it at once."""
        if deadline is not None:
            _check_deadline(deadline, run_id)
            seconds = min(seconds, deadline.remaining())
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            cancel.wait(seconds)
        cancel.raise_if_cancelled(run_id)

    def _status_error(
        self, response: httpx.Response, run_id: str | None = None
    ) -> APIStatusError:
        return error_for_status(
            response.status_code,
            response.content,
            retry_after=parse_retry_after(response.headers),
            run_id=run_id,
            scrub=(self._api_key,),
        )

    def _invalid_body(
        self, response: httpx.Response, run_id: str | None = None
    ) -> ServiceUnavailableError:
        return ServiceUnavailableError(
            response.status_code,
            code='INVALID_RESPONSE',
            api_message='the response body was not the expected JSON',
            run_id=run_id,
        )

    def _connection_error(
        self, exc: httpx.TransportError, run_id: str | None = None
    ) -> APIConnectionError:
        detail = str(exc).replace(self._api_key, '***') or 'no detail'
        where = f' while following run {run_id}' if run_id else ''
        later = (
            f' The run may still finish: collect it later with its id '
            f'{run_id}.'
            if run_id
            else ''
        )
        return APIConnectionError(
            f'Could not reach Runflow at {self.base_url}{where} '
            f'({type(exc).__name__}: {detail}). Check the network '
            f'connection and try again.{later}'
        )


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


def _check_deadline(deadline: Deadline | None, run_id: str | None) -> None:
    if deadline is not None and deadline.expired:
        raise RunTimeoutError(run_id, deadline.timeout)


def _fail_fast_on_tls(exc: Exception, failure: OutpaintError) -> None:
    """Certificate problems do not heal by retrying: raise at once."""
    cause: BaseException | None = exc
    for _ in range(8):  # a bounded walk down the exception chain
        if cause is None:
            return
        if isinstance(cause, ssl.SSLCertVerificationError) or (
            'CERTIFICATE_VERIFY_FAILED' in str(cause)
        ):
            raise APIConnectionError(
                f'{failure} The TLS certificate was not trusted: pass '
                'verify=<CA bundle path> or set SSL_CERT_FILE if you use a '
                'private certificate authority.'
            ) from exc
        cause = cause.__cause__ or cause.__context__


def _kind(error: BaseException) -> str:
    status = getattr(error, 'status_code', None)
    return f'HTTP {status}' if status else type(error).__name__


def _model_path(model: str) -> str:
    segments = model.split('/')
    if any(s in ('', '.', '..') for s in segments):
        raise ConfigurationError(f'Invalid Runflow model id {model!r}.')
    return '/'.join(quote(s, safe='') for s in segments)


def _user_agent() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f'napari-outpaint/{version("napari-outpaint")}'
    except PackageNotFoundError:  # pragma: no cover - not installed
        return 'napari-outpaint'
