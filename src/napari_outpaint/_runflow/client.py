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

This module holds the run calls; the HTTP plumbing is in
:mod:`._runflow_http`, uploads and downloads in :mod:`._runflow_transfers`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from napari_outpaint._errors import (
    APIStatusError,
    ConfigurationError,
    InvalidInputError,
    OutpaintError,
    RunTimeoutError,
    SubmissionUnknownError,
    ValidationError,
)
from napari_outpaint._progress import CancelToken
from napari_outpaint._runflow.http import (
    CREATE_RETRY,
    DEFAULT_HTTP_TIMEOUT,
    NOT_SENT,
    POLL_RETRY,
    check_deadline,
    fail_fast_on_tls,
    failure_kind,
)
from napari_outpaint._runflow.models import Batch, BatchItem, Run
from napari_outpaint._runflow.pacing import PollPacer
from napari_outpaint._runflow.retry import (
    DEFAULT_POLL_SCHEDULE,
    Deadline,
    PollSchedule,
    backoff_delay,
    parse_retry_after,
)
from napari_outpaint._runflow.transfers import RunflowTransfers

__all__ = [
    'CREATE_RETRY',
    'DEFAULT_HTTP_TIMEOUT',
    'MAX_BATCH_ITEMS',
    'POLL_RETRY',
    'RunflowClient',
]

#: Items one batch create may carry (the API reference: 1-100).
MAX_BATCH_ITEMS = 100

logger = logging.getLogger(__name__)


class RunflowClient(RunflowTransfers):
    """Runflow's HTTP API: runs, asset uploads and downloads.

    Parameters are those of
    :class:`~napari_outpaint._runflow.http.RunflowHTTP`: the API
    key (sent to the base URL only), base URL, TLS trust, timeouts, an
    optional ``httpx.Client``, retry policies, ``sleep`` and ``clock``.
    """

    def __repr__(self) -> str:
        return f'RunflowClient(base_url={self.base_url!r})'

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
        unknown = False  # some attempt may have made a run we never found
        for attempt in range(1, policy.max_attempts + 1):
            cancel.raise_if_cancelled()
            outcome = self._try_create(path, body, headers, cancel)
            if isinstance(outcome, Run):
                logger.info('Run %s exists (%s).', outcome.id, model)
                return outcome
            failure, retry_after, sent = outcome
            unknown = unknown or sent
            if attempt == policy.max_attempts:
                break
            if not unknown:
                _give_up_if_told_to_wait_past(deadline, failure, retry_after)
            delay = backoff_delay(attempt, policy, retry_after=retry_after)
            logger.info(
                'Run creation attempt %d failed (%s); retrying in %.2f s.',
                attempt,
                failure_kind(failure),
                delay,
            )
            try:
                self._pause(delay, cancel, None, deadline)
            except RunTimeoutError:
                if unknown:
                    raise SubmissionUnknownError(
                        client_ref, 'the deadline passed'
                    ) from None
                raise
        if unknown:
            raise SubmissionUnknownError(
                client_ref, failure_kind(failure)
            ) from failure
        raise failure

    def _try_create(
        self,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str],
        cancel: CancelToken,
    ) -> Run | tuple[OutpaintError, float | None, bool]:
        """One create attempt: the run, or (failure, Retry-After, unknown).

        Non-retryable refusals (401, 402, 403, 409, 422, ...) raise. When
        the server may have made the run (connection lost after sending,
        500/502/504, an unreadable 2xx) it is looked up by ``client_ref``
        and adopted if found; *unknown* is True when that lookup could
        not settle whether a run exists.
        """
        client_ref = body['client_ref']
        try:
            response = self._api('POST', path, json=body, headers=headers)
        except NOT_SENT as exc:  # nothing reached the server
            failure = self._connection_error(exc)
            fail_fast_on_tls(exc, failure)
            return failure, None, False
        except httpx.TransportError as exc:  # sent; outcome unknown
            logger.warning(
                'The connection broke after the run request was sent (%s); '
                'looking the run up by client_ref %s before creating '
                'another.',
                type(exc).__name__,
                client_ref,
            )
            return self._adopt_or(
                client_ref, cancel, self._connection_error(exc)
            )
        if response.is_success:
            try:
                return Run.from_json(response.json())
            except ValueError:
                failure = self._invalid_body(response)
                return self._adopt_or(client_ref, cancel, failure)
        failure = self._status_error(response)
        if response.status_code in (429, 503):  # surely no run made
            return failure, parse_retry_after(response.headers), False
        if response.status_code >= 500:
            return self._adopt_or(client_ref, cancel, failure)
        raise failure

    def _adopt_or(
        self, client_ref: str, cancel: CancelToken, failure: OutpaintError
    ) -> Run | tuple[OutpaintError, float | None, bool]:
        """The run a lost create made, or (failure, None, unknown)."""
        try:
            run = self._adopt(client_ref, cancel)
        except OutpaintError as exc:  # the search itself failed
            logger.warning(
                'Could not look up client_ref %s (%s); retrying the same '
                'request (same Idempotency-Key) instead.',
                client_ref,
                failure_kind(exc),
            )
            return failure, None, True
        if run is not None:
            return run
        return failure, None, False

    def get_run(
        self,
        run_id: str,
        *,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
        fresh_urls: bool = False,
    ) -> Run:
        """Fetch a run, retrying transient failures (5xx, network, JSON).

        With *fresh_urls*, ask for freshly signed output URLs
        (``?add_signature=true``, as Runflow's own tools do); a service
        that refuses the parameter is asked again without it.
        """
        path = f'/v1/runs/{quote(run_id, safe="")}'
        if fresh_urls:
            try:
                return self._get_json(
                    path,
                    Run.from_json,
                    params={'add_signature': 'true'},
                    run_id=run_id,
                    cancel=cancel,
                    deadline=deadline,
                )
            except ValidationError as exc:
                logger.info('add_signature refused (%s).', failure_kind(exc))
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
        """Runs whose ``client_ref`` equals *client_ref* exactly.

        Searches ``GET /v1/runs`` with the documented ``client_ref:<ref>``
        filter, and with ``client_ref.EQ:'<ref>'`` (Runflow's own tools'
        exact-match form) when the first is refused. Whatever the service
        returns is filtered again here: a run without a ``client_ref``, or
        with another one, is never returned (a filter the service ignores
        finds nothing).

        Raises
        ------
        APIStatusError
            When the service refuses both forms of the search.
        """

        def parse(data: object) -> list[Run]:
            items = data.get('items') if isinstance(data, Mapping) else data
            if not isinstance(items, list):
                raise ValueError('a run search must return {"items": [...]}')
            runs = [Run.from_json(item) for item in items]
            return [r for r in runs if r.client_ref == client_ref]

        queries = (f'client_ref:{client_ref}', f"client_ref.EQ:'{client_ref}'")
        for number, query in enumerate(queries, start=1):
            try:
                return self._get_json(
                    '/v1/runs', parse, params={'q': query}, cancel=cancel
                )
            except APIStatusError as exc:
                if number == len(queries) or exc.status_code not in (400, 422):
                    raise
                logger.info(
                    'The run search refused q=%s (HTTP %d); trying %s.',
                    query,
                    exc.status_code,
                    queries[number],
                )
        raise AssertionError('unreachable')  # pragma: no cover

    def iter_run(
        self,
        run_id: str,
        *,
        schedule: PollSchedule = DEFAULT_POLL_SCHEDULE,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
        window: tuple[float, float] | None = None,
        since: float | None = None,
        pacer: PollPacer | None = None,
        read_first: bool = True,
    ) -> Iterator[Run]:
        """Poll a run, yielding it each time, until it is terminal.

        Parameters
        ----------
        window : (float, float), optional
            Seconds after *since* in which the run likely ends: polled
            every ``schedule.dense`` seconds (see
            :meth:`PollSchedule.next_delay`).
        since : float, optional
            ``time.monotonic()`` of the create; default now.
        pacer : PollPacer, optional
            The gate shared with the other runs being followed; each read
            waits its turn there.
        read_first : bool
            Read at once (default); False when the caller has just read
            the run (e.g. the create's answer): wait first.

        Raises
        ------
        RunTimeoutError
            Naming the run, when *deadline* passes first.
        OutpaintCancelled
            When *cancel* is cancelled (between polls or during a wait).
        """
        yield from self._poll(
            lambda cancel, deadline: self.get_run(
                run_id, cancel=cancel, deadline=deadline
            ),
            run_id,
            schedule=schedule,
            cancel=cancel,
            deadline=deadline,
            window=window,
            since=since,
            pacer=pacer,
            read_first=read_first,
        )

    def _poll(
        self,
        read: Callable[[CancelToken, Deadline | None], Any],
        run_id: str | None,
        *,
        schedule: PollSchedule,
        cancel: CancelToken | None,
        deadline: Deadline | None,
        window: tuple[float, float] | None,
        since: float | None,
        pacer: PollPacer | None,
        read_first: bool,
    ) -> Iterator[Any]:
        """Yield ``read(cancel, deadline)`` on *schedule* until what it
        reads ``is_terminal`` (a run or a batch); errors name *run_id*."""
        cancel = cancel or CancelToken()
        since = time.monotonic() if since is None else since
        delay = None
        if not read_first:
            delay = self._wait_to_poll(
                schedule, since, delay, window, pacer, cancel, deadline, run_id
            )
        while True:
            cancel.raise_if_cancelled(run_id)
            check_deadline(deadline, run_id)
            record = read(cancel, deadline)
            yield record
            if record.is_terminal:
                return
            delay = self._wait_to_poll(
                schedule, since, delay, window, pacer, cancel, deadline, run_id
            )

    def _wait_to_poll(
        self, schedule, since, delay, window, pacer, cancel, deadline, run_id
    ) -> float:
        """Wait the schedule's next delay (or the pacer's turn); return it."""
        now = time.monotonic()
        delay = schedule.next_delay(now - since, delay, window)
        if pacer is None:
            self._pause(delay, cancel, run_id, deadline)
        else:
            pacer.wait_turn(
                now + delay, cancel=cancel, deadline=deadline, run_id=run_id
            )
        return delay

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

    # -- batches ---------------------------------------------------------

    def create_batch(
        self,
        model: str,
        inputs: Sequence[Mapping[str, Any]],
        *,
        client_refs: Sequence[str],
        metadata: Mapping[str, Any] | None = None,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
    ) -> Batch:
        """Create one batch of runs, one item per input, never two.

        The body is the API reference's ``{"input": [{<input>,
        "client_ref"}, ...], "metadata"}``. One ``Idempotency-Key`` is
        sent with every retry of it: on this route the same key and body
        replay the first answer ("same batch_id, no second batch"), so a
        request whose answer was lost is simply sent again.

        Parameters
        ----------
        inputs : sequence of mapping
            Each item's model input (1-100 items).
        client_refs : sequence of str
            One per item, stored on the item's run (``collect
            client_ref:<ref>`` finds it).

        Raises
        ------
        ValidationError
            A 422: the items are invalid, or the model takes no batches
            ("per-provider-only models return 422").
        SubmissionUnknownError
            When the request went out and its outcome stayed unknown; it
            names the first item's ``client_ref``.
        APIStatusError, APIConnectionError
            As for :meth:`create_run`.
        """
        if not 1 <= len(inputs) <= MAX_BATCH_ITEMS:
            raise InvalidInputError(
                'inputs', f'a batch takes 1-{MAX_BATCH_ITEMS} items.'
            )
        if len(client_refs) != len(inputs):
            raise InvalidInputError(
                'client_refs', 'give exactly one per input.'
            )
        cancel = cancel or CancelToken()
        headers = {'Idempotency-Key': str(uuid.uuid4())}
        body = {
            'input': [
                {**dict(item), 'client_ref': ref}
                for item, ref in zip(inputs, client_refs, strict=True)
            ],
            'metadata': dict(metadata or {}),
        }
        path = f'/v1/models/{_model_path(model)}/batches'
        policy = self.create_retry
        unknown = False  # some attempt may have made the batch
        failure: OutpaintError | None = None
        for attempt in range(1, policy.max_attempts + 1):
            cancel.raise_if_cancelled()
            retry_after = None
            try:
                response = self._api('POST', path, json=body, headers=headers)
            except NOT_SENT as exc:  # nothing reached the server
                failure = self._connection_error(exc)
                fail_fast_on_tls(exc, failure)
            except httpx.TransportError as exc:  # sent; outcome unknown
                failure = self._connection_error(exc)
                unknown = True
            else:
                if response.is_success:
                    try:
                        batch = Batch.from_json(response.json())
                    except ValueError:
                        failure = self._invalid_body(response)
                        unknown = True
                    else:
                        logger.info(
                            'Batch %s exists (%d items).',
                            batch.id,
                            len(inputs),
                        )
                        return batch
                else:
                    failure = self._status_error(response)
                    if response.status_code in (429, 503):
                        retry_after = parse_retry_after(response.headers)
                    elif response.status_code >= 500:
                        unknown = True
                    else:
                        raise failure
            if attempt == policy.max_attempts:
                break
            if not unknown:
                _give_up_if_told_to_wait_past(deadline, failure, retry_after)
            delay = backoff_delay(attempt, policy, retry_after=retry_after)
            logger.info(
                'Batch creation attempt %d failed (%s); retrying in %.2f s '
                'with the same Idempotency-Key.',
                attempt,
                failure_kind(failure),
                delay,
            )
            try:
                self._pause(delay, cancel, None, deadline)
            except RunTimeoutError:
                if unknown:
                    raise SubmissionUnknownError(
                        client_refs[0], 'the deadline passed'
                    ) from None
                raise
        assert failure is not None  # the loop returns on success
        if unknown:
            raise SubmissionUnknownError(
                client_refs[0], failure_kind(failure)
            ) from failure
        raise failure

    def get_batch(
        self,
        batch_id: str,
        *,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
    ) -> Batch:
        """Fetch a batch and its items' statuses (transient errors retried)."""
        return self._get_json(
            f'/v1/batches/{quote(batch_id, safe="")}',
            Batch.from_json,
            cancel=cancel,
            deadline=deadline,
        )

    def get_batch_items(
        self,
        batch_id: str,
        *,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
    ) -> list[BatchItem]:
        """The items of a batch, with their outputs once they have them."""

        def parse(data: object) -> list[BatchItem]:
            items = data.get('items') if isinstance(data, Mapping) else data
            if not isinstance(items, list):
                raise ValueError('batch items must be {"items": [...]}')
            return [BatchItem.from_json(item) for item in items]

        return self._get_json(
            f'/v1/batches/{quote(batch_id, safe="")}/items',
            parse,
            cancel=cancel,
            deadline=deadline,
        )

    def iter_batch(
        self,
        batch_id: str,
        *,
        schedule: PollSchedule = DEFAULT_POLL_SCHEDULE,
        cancel: CancelToken | None = None,
        deadline: Deadline | None = None,
        window: tuple[float, float] | None = None,
        since: float | None = None,
        pacer: PollPacer | None = None,
        read_first: bool = True,
    ) -> Iterator[Batch]:
        """Poll a batch, yielding it each time, until it is terminal.

        The parameters are those of :meth:`iter_run`: one id read on the
        same schedule, window and pacer as a single run.
        """
        yield from self._poll(
            lambda cancel, deadline: self.get_batch(
                batch_id, cancel=cancel, deadline=deadline
            ),
            None,  # a batch's errors name no run
            schedule=schedule,
            cancel=cancel,
            deadline=deadline,
            window=window,
            since=since,
            pacer=pacer,
            read_first=read_first,
        )

    def _adopt(self, client_ref: str, cancel: CancelToken) -> Run | None:
        """The run a lost create made, if any (its client_ref is ours)."""
        runs = self.find_runs_by_client_ref(client_ref, cancel=cancel)
        if runs:
            logger.warning(
                'Adopting run %s created by the interrupted request '
                '(client_ref %s); no second run is created.',
                runs[0].id,
                client_ref,
            )
            return runs[0]
        logger.info(
            'No run has client_ref %s; sending the same request again.',
            client_ref,
        )
        return None


def _give_up_if_told_to_wait_past(
    deadline: Deadline | None,
    failure: OutpaintError,
    retry_after: float | None,
) -> None:
    """Raise *failure* now when its ``Retry-After`` ends past *deadline*.

    Waiting out the deadline only to time out would say less: no run
    exists yet, so the message says that nothing was submitted.
    """
    if deadline is None or retry_after is None:
        return
    left = deadline.remaining()
    if retry_after <= left or not isinstance(failure, APIStatusError):
        return
    hint = (
        f'Runflow asked to wait {retry_after:g} s before trying again, '
        f'past the {deadline.timeout:g} s deadline ({left:.0f} s left): '
        'no run was created, so nothing was submitted and nothing will be '
        'billed. Try again later, or allow more time (timeout=, '
        '--timeout).'
    )
    raise failure.with_hint(hint)


def _model_path(model: str) -> str:
    segments = model.split('/')
    if any(s in ('', '.', '..') for s in segments):
        raise ConfigurationError(f'Invalid Runflow model id {model!r}.')
    return '/'.join(quote(s, safe='') for s in segments)
