"""One exception hierarchy for napari-outpaint, with actionable messages.

::

    OutpaintError
    ├── InvalidInputError(ValueError)   bad arguments, before any I/O
    ├── ConfigurationError(ValueError)  no API key, non-HTTPS URL, ...
    ├── OutpaintCancelled               the caller cancelled (.run_id)
    ├── APIConnectionError              the API could not be reached
    │   └── SubmissionUnknownError      a create went unanswered
    ├── APIStatusError                  the API answered an error status
    │   ├── AuthenticationError         401
    │   ├── InsufficientCreditError     402
    │   ├── PermissionDeniedError       403
    │   ├── NotFoundError               404
    │   ├── ConflictError               409
    │   ├── ValidationError             422 (.errors: field details)
    │   ├── RateLimitError              429 (.retry_after)
    │   └── ServiceUnavailableError     5xx
    ├── RunFailedError                  the run ended failed
    │   └── RunCanceledError            ... canceled by the service
    ├── RunTimeoutError(TimeoutError)   the deadline passed (.run_id)
    ├── ResultError                     output missing, too big, no image
    ├── HostingError                    publishing the input failed
    └── BudgetError                     a spend cap stops new runs

No message, ``repr`` or attribute ever holds the API key or a presigned
query string: callers pass URLs through
:func:`napari_outpaint._secrets.redact_url` first.
"""

from __future__ import annotations

from typing import Any, Self

__all__ = [
    'STOP_ALL_RUNS',
    'APIConnectionError',
    'APIStatusError',
    'AuthenticationError',
    'BudgetError',
    'ConfigurationError',
    'ConflictError',
    'HostingError',
    'InsufficientCreditError',
    'InvalidInputError',
    'NotFoundError',
    'OutpaintCancelled',
    'OutpaintError',
    'PermissionDeniedError',
    'RateLimitError',
    'ResultError',
    'RunCanceledError',
    'RunFailedError',
    'RunTimeoutError',
    'ServiceUnavailableError',
    'SubmissionUnknownError',
    'ValidationError',
]


class OutpaintError(Exception):
    """Base class of every error napari-outpaint raises on purpose."""


class InvalidInputError(OutpaintError, ValueError):
    """An argument is invalid; raised before any byte leaves the machine.

    Attributes
    ----------
    field : str
        The name of the offending argument or field.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f'{field}: {message}')
        self.field = field


class ConfigurationError(OutpaintError, ValueError):
    """The plugin is not configured to do what was asked (key, URL, ...)."""


class OutpaintCancelled(OutpaintError):
    """The caller cancelled the operation.

    Attributes
    ----------
    run_id : str or None
        The remote run, when one was already created. Runflow has no public
        cancel, so that run may still complete and be billed.
    """

    def __init__(self, message: str = 'Cancelled.', *, run_id=None) -> None:
        super().__init__(message)
        self.run_id = run_id


class APIConnectionError(OutpaintError):
    """The API could not be reached (DNS, refused, TLS, timeout, reset)."""


class SubmissionUnknownError(APIConnectionError):
    """A run request went out but its outcome stayed unknown.

    The connection broke (or the answer was unreadable) after the request
    was sent, on every attempt, and looking the run up by its
    ``client_ref`` did not settle it: a run may exist and be billed.

    Attributes
    ----------
    client_ref : str
        The reference the request carried; ``napari-outpaint collect
        client_ref:<ref>`` finds and fetches the run if it exists.
    run_id : None
        No run id is known.
    """

    def __init__(self, client_ref: str, detail: str) -> None:
        self.client_ref = client_ref
        self.run_id = None
        super().__init__(
            f'The run request was sent but its outcome is unknown '
            f'({detail}); a run may have been created and billed. It '
            f'carries client_ref {client_ref}: collect it with '
            f'`napari-outpaint collect client_ref:{client_ref}` (free if it '
            'exists; if none exists, nothing was billed).'
        )


class APIStatusError(OutpaintError):
    """The API answered with an error status.

    Attributes
    ----------
    status_code : int
        The HTTP status.
    code : str or None
        The API's stable error code (e.g. ``INSUFFICIENT_CREDIT``).
    api_message : str or None
        The API's own message, as sent.
    errors : list
        Field-level details (422), as sent.
    run_id : str or None
        The run concerned, when known.
    """

    default_hint = 'Try again later; if it persists, contact Runflow support.'

    def __init__(
        self,
        status_code: int,
        *,
        code: str | None = None,
        api_message: str | None = None,
        errors: list[Any] | None = None,
        hint: str | None = None,
        run_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.api_message = api_message
        self.errors = list(errors or [])
        self.run_id = run_id
        self.hint = hint or self.default_hint
        super().__init__(self._compose())

    def with_hint(self, hint: str) -> Self:
        """A copy of this error whose advice is *hint*."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__, hint=hint)
        Exception.__init__(clone, clone._compose())
        return clone

    def _compose(self) -> str:
        head = f'Runflow API error {self.status_code}'
        if self.code:
            head += f' {self.code}'
        text = f'{head}: {self.api_message}' if self.api_message else head
        if self.run_id:
            text += f' (run {self.run_id})'
        stop = '' if text.endswith(('.', '!', '?')) else '.'
        return f'{text}{stop} {self.hint}'


class AuthenticationError(APIStatusError):
    """401: the API key is missing or not valid."""

    default_hint = (
        'Check the API key: set RUNFLOW_API_KEY, pass api_key=, or paste '
        'it in the widget (create one at app.runflow.io > Settings > '
        'API Keys).'
    )


class InsufficientCreditError(APIStatusError):
    """402: the account has no credit left for a new run."""

    default_hint = (
        'Top up your Runflow credit at app.runflow.io (Settings > Billing); '
        'finished results are kept.'
    )


class PermissionDeniedError(APIStatusError):
    """403: the key lacks a scope, or the account is not verified."""

    default_hint = (
        'Give the API key the scopes runs:create, runs:read, '
        'assets:create, assets:read and assets:edit, or verify the '
        "account's e-mail address."
    )


class NotFoundError(APIStatusError):
    """404: the run or asset does not exist or belongs to another org."""

    default_hint = (
        'Check the run id, that the API key belongs to the same '
        'organisation, and the base URL (RUNFLOW_BASE_URL: the API root, '
        'without /v1).'
    )


class ConflictError(APIStatusError):
    """409: a duplicate create or a race on the same resource."""

    default_hint = (
        'A request with the same idempotency key but a different body was '
        'sent; start a new submission.'
    )


class ValidationError(APIStatusError):
    """422: the API rejected the input; ``errors`` names the fields."""

    default_hint = 'Fix the fields named above and submit again.'

    def _compose(self) -> str:
        text = super()._compose()
        fields = []
        for item in self.errors:
            if isinstance(item, dict):
                loc = item.get('loc') or item.get('field') or ''
                if isinstance(loc, list | tuple):
                    loc = '.'.join(str(p) for p in loc)
                msg = item.get('msg') or item.get('message') or ''
                fields.append(f'{loc}: {msg}'.strip(': '))
            else:
                fields.append(str(item))
        if fields:
            text += ' Fields: ' + '; '.join(fields)
        return text


class RateLimitError(APIStatusError):
    """429: too many requests.

    Attributes
    ----------
    retry_after : float or None
        Seconds the server asked to wait, when it said so.
    """

    default_hint = 'Wait a moment and try again, or lower the concurrency.'

    def __init__(self, *args, retry_after: float | None = None, **kw):
        self.retry_after = retry_after
        super().__init__(*args, **kw)


class ServiceUnavailableError(APIStatusError):
    """5xx: Runflow is failing or overloaded."""

    default_hint = (
        'Runflow is unavailable; try again in a few minutes '
        '(status: GET /v1/health).'
    )


class RunFailedError(OutpaintError):
    """The run reached a terminal status other than success.

    Attributes
    ----------
    run_id : str
    status : str
    failure_code : str or None
    failure_message : str or None
    """

    def __init__(
        self,
        run_id: str,
        status: str,
        failure_code: str | None = None,
        failure_message: str | None = None,
    ) -> None:
        self.run_id = run_id
        self.status = status
        self.failure_code = failure_code
        self.failure_message = failure_message
        super().__init__(self._compose())

    @property
    def reason(self) -> str:
        """``' (CODE: message)'``, or ``''`` when the service said none."""
        parts = (self.failure_code, self.failure_message)
        reason = ': '.join(p for p in parts if p)
        return f' ({reason})' if reason else ''

    def _compose(self) -> str:
        return (
            f'Run {self.run_id} ended {self.status}{self.reason}. Failed '
            'runs are not billed; try again, or try smaller expansions if '
            'it fails repeatedly.'
        )


class RunCanceledError(RunFailedError):
    """The service canceled the run (``canceled`` or ``cancelled``).

    Runflow has no public cancel: an administrator or the platform ended
    the run. No result exists, nothing is cached, and, as cancellation
    does not auto-refund, the run may still be billed.
    """

    def __init__(
        self,
        run_id: str,
        status: str = 'canceled',
        failure_code: str | None = None,
        failure_message: str | None = None,
    ) -> None:
        super().__init__(run_id, status, failure_code, failure_message)

    def _compose(self) -> str:
        return (
            f'Run {self.run_id} was canceled by Runflow{self.reason}; it '
            'produced no result and nothing was cached. Cancellation does '
            'not auto-refund, so it may still be billed (see your Runflow '
            'dashboard); run the request again to retry.'
        )


class RunTimeoutError(OutpaintError, TimeoutError):
    """The overall deadline passed before the run's result was in hand.

    Attributes
    ----------
    run_id : str or None
        None when no run was created: then nothing was submitted.
    timeout : float
    downloading : bool
        True when the run had succeeded and its download ran out of time.
    """

    def __init__(
        self, run_id: str | None, timeout: float, *, downloading: bool = False
    ) -> None:
        self.run_id = run_id
        self.timeout = timeout
        self.downloading = downloading
        collect = f'`napari-outpaint collect {run_id}`'
        if run_id is None:
            text = (
                f'Gave up after {timeout:g} s before Runflow accepted the '
                'request: no run was created, so nothing was submitted and '
                'nothing will be billed. Try again later, or allow more '
                'time (timeout=, --timeout).'
            )
        elif downloading:
            text = (
                f'Run {run_id} succeeded, but its result did not download '
                f'within the {timeout:g} s deadline (the storage server did '
                'not answer in time). It is billed and kept by Runflow for '
                f'a while: collect it later with {collect}.'
            )
        else:
            text = (
                f'Gave up waiting for run {run_id} after {timeout:g} s; it '
                f'may still finish and be billed. Collect it later with '
                f'{collect}.'
            )
        super().__init__(text)


class ResultError(OutpaintError):
    """The run succeeded but its output could not be used.

    Attributes
    ----------
    run_id : str or None
    """

    def __init__(self, message: str, *, run_id: str | None = None) -> None:
        self.run_id = run_id
        suffix = f' (run {run_id})' if run_id else ''
        super().__init__(f'{message}{suffix}')


class HostingError(OutpaintError):
    """Publishing the input image at a temporary HTTPS URL failed."""


class BudgetError(OutpaintError):
    """A spend cap, or a missing confirmation, stops new paid runs."""


#: Errors after which no new run can succeed: the key, the account, the
#: spend cap or the user stops every run. A batch then stops new runs
#: (finished planes are kept; cached ones still served) and the command
#: line does not try its next input files.
STOP_ALL_RUNS: tuple[type[OutpaintError], ...] = (
    AuthenticationError,
    BudgetError,
    ConfigurationError,
    InsufficientCreditError,
    OutpaintCancelled,
    PermissionDeniedError,
)
