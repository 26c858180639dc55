"""HTTP plumbing of the Runflow client: auth, retried GETs, typed errors.

The API key is sent only to the API base URL, as a bearer token; every
wait goes through a :class:`~napari_outpaint._progress.CancelToken` (or an
injected ``sleep``) and is bounded by the run's deadline.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Self

import httpx

from napari_outpaint._errors import (
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    OutpaintError,
    RunTimeoutError,
    ServiceUnavailableError,
)
from napari_outpaint._progress import CancelToken
from napari_outpaint._runflow.config import (
    VerifyTypes,
    resolve_base_url,
    ssl_verify,
)
from napari_outpaint._runflow.credentials import ENV_VAR
from napari_outpaint._runflow.errors import error_for_status
from napari_outpaint._runflow.redact_logs import install_httpx_log_redaction
from napari_outpaint._runflow.retry import (
    Deadline,
    RetryPolicy,
    backoff_delay,
    is_retryable_status,
    parse_retry_after,
)
from napari_outpaint._secrets import redact_url
from napari_outpaint._version import __version__

__all__ = [
    'CREATE_RETRY',
    'DEFAULT_HTTP_TIMEOUT',
    'NOT_SENT',
    'POLL_RETRY',
    'Retryable',
    'RunflowHTTP',
    'check_deadline',
    'fail_fast_on_tls',
    'failure_kind',
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
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RunflowHTTP:
    """Authenticated requests to the Runflow API, retried where safe.

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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections this client opened."""
        if self._owns_http:
            self._http.close()

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

        def attempt() -> Any:
            outcome = self._api_attempt('GET', path, run_id, params=params)
            if isinstance(outcome, Retryable):
                return outcome
            try:
                return parse(outcome.json())
            except ValueError:
                return Retryable(self._invalid_body(outcome, run_id))

        return self._retrying(
            f'GET {path}',
            attempt,
            policy=self.poll_retry,
            cancel=cancel,
            run_id=run_id,
            deadline=deadline,
        )

    def _api_retried(
        self,
        method: str,
        path: str,
        *,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """An API request that is safe to repeat, retried when transient.

        For the steps of an upload (session, confirmation): repeating one
        creates no run and bills nothing. 5xx, 408/429 and network errors
        are retried with backoff (honouring ``Retry-After``); other
        refusals raise their typed error at once.
        """
        return self._retrying(
            f'{method} {path}',
            lambda: self._api_attempt(method, path, None, **kwargs),
            policy=self.create_retry,
            cancel=cancel,
            deadline=deadline,
        )

    def _api_attempt(
        self, method: str, path: str, run_id: str | None, **kwargs: Any
    ) -> httpx.Response | Retryable:
        """One API request: the response, or a failure worth retrying."""
        try:
            response = self._api(method, path, **kwargs)
        except httpx.TransportError as exc:
            failure = self._connection_error(exc, run_id)
            fail_fast_on_tls(exc, failure)
            return Retryable(failure)
        if response.is_success:
            return response
        failure = self._status_error(response, run_id)
        if not is_retryable_status(response.status_code):
            raise failure
        return Retryable(failure, parse_retry_after(response.headers))

    def _retrying(
        self,
        label: str,
        attempt: Callable[[], Any],
        *,
        policy: RetryPolicy,
        cancel: CancelToken | None = None,
        run_id: str | None = None,
        deadline: Deadline | None = None,
    ) -> Any:
        """Call *attempt* until it returns something else than Retryable.

        At most ``policy.max_attempts`` calls, with backoff between them
        (bounded by *deadline*, ended at once by *cancel*); the last
        failure is raised.
        """
        cancel = cancel or CancelToken()
        for number in range(1, policy.max_attempts + 1):
            cancel.raise_if_cancelled(run_id)
            outcome = attempt()
            if not isinstance(outcome, Retryable):
                return outcome
            if number == policy.max_attempts:
                break
            delay = backoff_delay(
                number, policy, retry_after=outcome.retry_after
            )
            logger.info(
                '%s failed (%s); retry %d in %.2f s.',
                label,
                failure_kind(outcome.failure),
                number,
                delay,
            )
            self._pause(delay, cancel, run_id, deadline)
        raise outcome.failure

    def _pause(
        self,
        seconds: float,
        cancel: CancelToken,
        run_id: str | None,
        deadline: Deadline | None = None,
    ) -> None:
        """Wait *seconds* (bounded by *deadline*); cancel ends it at once."""
        if deadline is not None:
            check_deadline(deadline, run_id)
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


class Retryable(NamedTuple):
    """A failed attempt worth another one, and how long the server asked
    to wait (``Retry-After``) before it."""

    failure: OutpaintError
    retry_after: float | None = None


def check_deadline(deadline: Deadline | None, run_id: str | None) -> None:
    """Raise :class:`RunTimeoutError` once *deadline* has passed."""
    if deadline is not None and deadline.expired:
        raise RunTimeoutError(run_id, deadline.timeout)


def fail_fast_on_tls(exc: Exception, failure: OutpaintError) -> None:
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


def failure_kind(error: BaseException) -> str:
    """``HTTP <status>`` or the error's type name, for log lines."""
    status = getattr(error, 'status_code', None)
    return f'HTTP {status}' if status else type(error).__name__


def _user_agent() -> str:
    return f'napari-outpaint/{__version__}'
