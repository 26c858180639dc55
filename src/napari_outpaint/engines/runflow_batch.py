"""Runflow's batch route: the runs of many planes as one batch request.

Inside :meth:`BatchRoute.grouping` (a batch of planes says how many paid
runs it expects and how many are in flight at once), the ``outpaint``
calls of one :class:`~napari_outpaint.engines.runflow.RunflowEngine`
that arrive together are sent as one ``POST /v1/models/{model}/batches``
(up to 100 items) instead of one run each, and one id is polled for all
of them (``GET /v1/batches/{id}``, on the engine's schedule and through
its one :class:`~napari_outpaint._runflow.PollPacer`). Everything else of
a call stays its own: each uploads its input, gets its item's run id
(reported at once, so the cache's journal records it before the first
poll), reads its run once it is over, downloads its output and deletes
its input; each keeps its own cancel token and deadline.

A group is sent when every call it waits for has joined (the expected
runs, at most those in flight and 100), or when no call joined for
:data:`LINGER_SECONDS`. A group of one is a single run. A 422 on the
create means the model takes no batches ("per-provider-only models return
422"): the group's calls fall back to single runs, and the route is off
for the rest of the engine's life (one 422 per session).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from napari_outpaint._errors import (
    ConfigurationError,
    InvalidInputError,
    OutpaintCancelled,
    OutpaintError,
    RunTimeoutError,
    SubmissionUnknownError,
    ValidationError,
)
from napari_outpaint._progress import CancelToken
from napari_outpaint._runflow import (
    Batch,
    BatchItem,
    Deadline,
    PollPacer,
    PollSchedule,
    RunDurations,
    RunflowClient,
)
from napari_outpaint._runflow.client import MAX_BATCH_ITEMS

__all__ = [
    'BATCH_ROUTE_ENV',
    'BATCH_ROUTE_IN_FLIGHT',
    'BATCH_ROUTE_MODES',
    'LINGER_SECONDS',
    'BatchRoute',
    'BatchTicket',
    'batch_route_mode',
]

logger = logging.getLogger(__name__)

#: ``'auto'`` (batches of >= 2 runs, single runs after a 422) or ``'off'``.
BATCH_ROUTE_MODES = ('auto', 'off')
#: Environment variable giving the default mode (unset: ``'off'``).
BATCH_ROUTE_ENV = 'NAPARI_OUTPAINT_BATCH_ROUTE'
#: A group is sent once no call joined it for this long.
LINGER_SECONDS = 1.0
#: ... and at the latest this long after its first call joined.
LINGER_MAX_SECONDS = 5.0
#: Planes a batch keeps in flight when the route is on and no concurrency
#: is given: the most items one create carries, memory permitting.
BATCH_ROUTE_IN_FLIGHT = 16
#: How often a waiting call looks at its cancel token.
_CHECK_SECONDS = 0.05
_GROUP_NUMBERS = itertools.count(1)


@dataclass(eq=False)
class _Group:
    tickets: list[BatchTicket] = field(default_factory=list)
    opened: float = field(default_factory=time.monotonic)
    last_join: float = field(default_factory=time.monotonic)
    sending: bool = False
    created: float | None = None
    cancel: CancelToken = field(default_factory=CancelToken)


@dataclass(eq=False)
class BatchTicket:
    """One call's place in a batch: its item, then its run's status.

    Attributes
    ----------
    client_ref : str
        Stored on the item's run.
    run_id : str or None
        Once the create answered.
    status : str
        The item's last status (``'queued'`` until read).
    single : bool
        True when the call must create its own run instead (a group of
        one, or the route refused with 422).
    error : BaseException or None
        Why the group failed the item (its create, or its polls).
    """

    model_input: Mapping[str, Any]
    client_ref: str
    run_id: str | None = None
    status: str = 'queued'
    single: bool = False
    error: BaseException | None = None
    terminal: bool = False
    left: bool = False
    acknowledged: bool = False
    group: _Group | None = field(default=None, repr=False)
    #: The item as ``GET /v1/batches/{id}/items`` listed it once over.
    item: BatchItem | None = field(default=None, repr=False)


class BatchRoute:
    """Groups one engine's concurrent runs into Runflow batches.

    Parameters
    ----------
    mode : {'auto', 'off'}
    model : str
        The model the batches are created for.
    open_client : callable
        Returns a context manager of a :class:`RunflowClient` (the
        engine's).
    schedule, pacer, durations
        The engine's poll schedule, its one read gate, and where its runs
        end (a group learns each succeeded item's duration).
    timeout : float
        The deadline of a group's create and polls, in seconds.

    Attributes
    ----------
    supported : bool or None
        None until a batch create answered; False after a 422.
    batches_created : int
        Batch creates that answered with a batch.
    items_route : bool
        Whether items that are over are read from ``GET
        /v1/batches/{id}/items`` (one request for all); False after it
        failed once, then each caller reads its run.
    linger, linger_max : float
        A group is sent once no call joined it for *linger* seconds, and
        at the latest *linger_max* seconds after it opened
        (:data:`LINGER_SECONDS`, :data:`LINGER_MAX_SECONDS`).
    """

    def __init__(
        self,
        mode: str,
        *,
        model: str,
        open_client: Callable[[], AbstractContextManager[RunflowClient]],
        schedule: PollSchedule,
        pacer: PollPacer,
        durations: RunDurations,
        timeout: float,
    ) -> None:
        self.mode = mode
        self.model = model
        self.supported: bool | None = None
        self.batches_created = 0
        self.items_route = True
        self.linger = LINGER_SECONDS
        self.linger_max = LINGER_MAX_SECONDS
        self._open_client = open_client
        self._schedule = schedule
        self._pacer = pacer
        self._durations = durations
        self._timeout = timeout
        self._changed = threading.Condition()
        self._open: _Group | None = None
        self._expected = 0  # calls the open groupings still expect
        self._in_flight = 0  # calls those groupings run at once
        self._groupings = 0

    @property
    def active(self) -> bool:
        """Whether a call now would be sent through the batch route."""
        return (
            self.mode == 'auto'
            and self.supported is not False
            and self._groupings > 0
        )

    @contextlib.contextmanager
    def grouping(self, expected: int, in_flight: int) -> Iterator[None]:
        """Group the calls made inside the block into batches.

        Parameters
        ----------
        expected : int
            Paid runs the caller expects to make (its planes not cached,
            times the passes of each); each group sent takes its calls
            off.
        in_flight : int
            Calls it makes at once (its worker threads).
        """
        with self._changed:
            self._groupings += 1
            self._expected += max(0, int(expected))
            self._in_flight += max(1, int(in_flight))
        try:
            yield
        finally:
            with self._changed:
                self._groupings -= 1
                self._in_flight -= max(1, int(in_flight))
                if self._groupings == 0:
                    self._expected = self._in_flight = 0
                self._changed.notify_all()

    @property
    def in_flight(self) -> int | None:
        """Planes a batch should keep in flight for this route, or None.

        :data:`BATCH_ROUTE_IN_FLIGHT` while the route may be used (mode
        ``'auto'``, not refused); None otherwise (the batch's default).
        """
        if self.mode != 'auto' or self.supported is False:
            return None
        return BATCH_ROUTE_IN_FLIGHT

    # -- one call --------------------------------------------------------

    def submit(
        self,
        model_input: Mapping[str, Any],
        *,
        cancel: CancelToken,
        deadline: Deadline,
    ) -> BatchTicket | None:
        """Join a batch and wait until its create answered.

        Returns
        -------
        BatchTicket or None
            With the item's ``run_id``; None when the call must create a
            single run instead (the route is off, refused, or the group
            held only this call).

        Raises
        ------
        OutpaintCancelled, RunTimeoutError
            Before the group was sent (nothing was submitted).
        SubmissionUnknownError
            Naming this item's ``client_ref``, when the create's outcome
            stayed unknown.
        APIStatusError, APIConnectionError
            When the create was refused (not with 422).
        """
        ticket = BatchTicket(
            model_input, f'napari-outpaint-{uuid.uuid4().hex}'
        )
        with self._changed:
            if not self.active:
                return None
            group = self._open
            if (
                group is None
                or group.sending
                or len(group.tickets) >= MAX_BATCH_ITEMS
            ):
                group = self._open = _Group()
                threading.Thread(
                    target=self._serve,
                    args=(group,),
                    name=f'runflow-batch-{next(_GROUP_NUMBERS)}',
                    daemon=True,
                ).start()
            group.tickets.append(ticket)
            ticket.group = group
            group.last_join = time.monotonic()
            self._changed.notify_all()
            while ticket.run_id is None and not (
                ticket.single or ticket.error
            ):
                if not group.sending and (
                    cancel.cancelled or deadline.expired
                ):
                    group.tickets.remove(ticket)  # never sent
                    ticket.left = True
                    self._changed.notify_all()
                    cancel.raise_if_cancelled()
                    raise RunTimeoutError(None, deadline.timeout)
                self._changed.wait(_CHECK_SECONDS)
        if ticket.error is not None:
            if isinstance(ticket.error, SubmissionUnknownError):
                raise SubmissionUnknownError(
                    ticket.client_ref, 'the batch request went unanswered'
                ) from ticket.error
            raise _own(ticket.error) from ticket.error
        return None if ticket.single else ticket

    def acknowledge(self, ticket: BatchTicket) -> None:
        """Say the item's run id is recorded: the group may poll."""
        with self._changed:
            ticket.acknowledged = True
            self._changed.notify_all()

    def wait_over(
        self,
        ticket: BatchTicket,
        *,
        cancel: CancelToken,
        deadline: Deadline,
        on_status: Callable[[str], None],
    ) -> None:
        """Wait until the item's run is over, as the batch's polls see it.

        *on_status* is called (outside the lock) with each new status.

        Raises
        ------
        OutpaintCancelled, RunTimeoutError
            Naming the run: it may still complete and bill.
        APIStatusError, APIConnectionError
            When the batch could not be read.
        """
        seen = ticket.status
        try:
            while True:
                with self._changed:
                    while (
                        ticket.status == seen
                        and not ticket.terminal
                        and ticket.error is None
                        and not cancel.cancelled
                        and not deadline.expired
                    ):
                        self._changed.wait(
                            min(_CHECK_SECONDS, deadline.remaining())
                        )
                    status, error = ticket.status, ticket.error
                    terminal = ticket.terminal
                if status != seen:
                    seen = status
                    on_status(status)
                if terminal:
                    return
                if error is not None:
                    raise _own(error) from error
                cancel.raise_if_cancelled(ticket.run_id)
                if deadline.expired:
                    raise RunTimeoutError(ticket.run_id, deadline.timeout)
        finally:
            self.leave(ticket)

    def leave(self, ticket: BatchTicket) -> None:
        """The call no longer waits for its item (done, failed, stopped).

        Once no call of a group waits any more, its polls stop.
        """
        with self._changed:
            ticket.left = True
            group = ticket.group
            if group is not None and self._done(group.tickets):
                group.cancel.cancel()
            self._changed.notify_all()

    # -- the group's thread ------------------------------------------------

    def _target(self, group: _Group) -> int:
        """How many calls the open group waits for before it is sent."""
        return max(1, min(MAX_BATCH_ITEMS, self._expected, self._in_flight))

    def _wait_to_send(self, group: _Group) -> list[BatchTicket]:
        """Hold the group until it is full or idle; then close it."""
        with self._changed:
            while True:
                now = time.monotonic()
                full = len(group.tickets) >= self._target(group)
                idle = now - group.last_join >= self.linger
                old = now - group.opened >= self.linger_max
                if group.tickets and (full or idle or old):
                    break
                if not group.tickets and (idle or self._groupings == 0):
                    break  # everyone left before it was sent
                self._changed.wait(
                    max(0.0, min(group.last_join + self.linger - now, 0.1))
                )
            group.sending = True
            if self._open is group:
                self._open = None
            tickets = list(group.tickets[:MAX_BATCH_ITEMS])
            for extra in group.tickets[MAX_BATCH_ITEMS:]:
                extra.single = True  # never more than 100 in one create
            self._expected = max(0, self._expected - len(tickets))
            if len(tickets) == 1:
                tickets[0].single = True
                tickets = []
            self._changed.notify_all()
            return tickets

    def _serve(self, group: _Group) -> None:
        """Send the group, hand out run ids, poll the batch to its end."""
        tickets = self._wait_to_send(group)
        if not tickets:
            return
        deadline = Deadline(self._timeout)
        try:
            with self._open_client() as client:
                batch = self._create(client, tickets, group, deadline)
                if batch is None:
                    return
                self._follow(client, batch, tickets, group, deadline)
        except BaseException as exc:  # noqa: BLE001 - handed to the callers
            self._fail(tickets, exc)

    def _create(
        self,
        client: RunflowClient,
        tickets: list[BatchTicket],
        group: _Group,
        deadline: Deadline,
    ) -> Batch | None:
        try:
            batch = client.create_batch(
                self.model,
                [ticket.model_input for ticket in tickets],
                client_refs=[ticket.client_ref for ticket in tickets],
                metadata={'source': 'napari-outpaint'},
                deadline=deadline,
            )
        except ValidationError as exc:
            logger.warning(
                'Runflow refused a batch of %s (%s); sending single runs '
                'from now on.',
                self.model,
                exc,
            )
            with self._changed:
                self.supported = False
                for ticket in tickets:
                    ticket.single = True
                self._changed.notify_all()
            return None
        group.created = time.monotonic()
        if not _all_mapped(batch, tickets):  # the guide's short answer
            batch = client.get_batch(batch.id, deadline=deadline)
        runs = _run_ids(batch, tickets)
        with self._changed:
            self.supported = True
            self.batches_created += 1
            for ticket in tickets:
                run_id = runs.get(ticket.client_ref)
                if run_id is None:
                    ticket.error = SubmissionUnknownError(
                        ticket.client_ref, 'the batch did not list this item'
                    )
                else:
                    ticket.run_id = run_id
            self._changed.notify_all()
        logger.info('Batch %s: %d runs.', batch.id, len(runs))
        return batch

    def _follow(
        self,
        client: RunflowClient,
        batch: Batch,
        tickets: list[BatchTicket],
        group: _Group,
        deadline: Deadline,
    ) -> None:
        with self._changed:  # every run id journalled before the 1st poll
            while not all(
                t.acknowledged or t.left or t.run_id is None for t in tickets
            ):
                self._changed.wait(_CHECK_SECONDS)
        try:
            self._update(client, batch, tickets, deadline)
            if batch.is_terminal or self._done(tickets):
                return
            polls = client.iter_batch(
                batch.id,
                schedule=self._schedule,
                cancel=group.cancel,
                deadline=deadline,
                window=self._durations.window(),
                since=group.created,
                pacer=self._pacer,
                read_first=False,  # the create just answered
            )
            for batch in polls:
                self._update(client, batch, tickets, deadline)
                if self._done(tickets):
                    return
            self._update(client, batch, tickets, deadline, final=True)
        except OutpaintCancelled:
            return  # every caller left: nobody waits for the rest
        finally:
            group.cancel.cancel()

    @staticmethod
    def _done(tickets: list[BatchTicket]) -> bool:
        return all(
            t.left or t.terminal or t.single or t.error for t in tickets
        )

    def _update(
        self,
        client: RunflowClient,
        batch: Batch,
        tickets: list[BatchTicket],
        deadline: Deadline,
        *,
        final: bool = False,
    ) -> None:
        """Hand each item's status to its caller, and the items just over
        their outputs (one ``GET /v1/batches/{id}/items`` for all)."""
        by_ref = {item.client_ref: item for item in batch.items}
        by_run = {item.run_id: item for item in batch.items}
        found = {
            id(t): by_run.get(t.run_id) or by_ref.get(t.client_ref)
            for t in tickets
        }
        ending = [
            t
            for t in tickets
            if not t.terminal
            and not t.left
            and (final or (found[id(t)] and found[id(t)].is_terminal))
        ]
        outputs = self._outputs(client, batch, deadline) if ending else {}
        with self._changed:
            for ticket in tickets:
                item = found[id(ticket)]
                if item is not None and item.status:
                    ticket.status = item.status
                if ticket in ending and ticket.error is None:
                    ticket.item = outputs.get(str(ticket.run_id))
                    ticket.terminal = True  # the caller reads its run
            self._changed.notify_all()

    def _outputs(
        self, client: RunflowClient, batch: Batch, deadline: Deadline
    ) -> dict[str, BatchItem]:
        """The batch's items with their outputs, by run id; empty when
        the service will not list them (each caller then reads its run)."""
        if not self.items_route:
            return {}
        try:
            items = client.get_batch_items(batch.id, deadline=deadline)
        except OutpaintError as exc:
            logger.info(
                'Could not list the items of batch %s (%s); reading each '
                'run instead.',
                batch.id,
                exc,
            )
            self.items_route = False
            return {}
        return {item.run_id: item for item in items if item.run_id}

    def _fail(self, tickets: list[BatchTicket], exc: BaseException) -> None:
        if not isinstance(exc, OutpaintError):
            logger.error('The batch thread failed: %r', exc)
        with self._changed:
            for ticket in tickets:
                if not ticket.terminal and ticket.error is None:
                    ticket.error = exc
            self._changed.notify_all()


def _own(error: BaseException) -> BaseException:
    """A copy of *error* (shared by a group's calls) for one call.

    Each call adds its own facts to the error it raises (the hosted input
    it keeps): the calls must not share one exception object.
    """
    try:
        copy = type(error).__new__(type(error), *error.args)
        copy.__dict__.update(error.__dict__)
    except (TypeError, AttributeError):  # an exotic exception: as it is
        return error
    return copy


def _all_mapped(batch: Batch, tickets: list[BatchTicket]) -> bool:
    return len(_run_ids(batch, tickets)) == len(tickets)


def _run_ids(batch: Batch, tickets: list[BatchTicket]) -> dict[str, str]:
    """client_ref -> run id, by the items' client_ref, else their index."""
    runs: dict[str, str] = {}
    for item in batch.items:
        if item.run_id and item.client_ref:
            runs[item.client_ref] = item.run_id
    for item in batch.items:
        index = item.sequence_index
        if item.run_id and index is not None and 0 <= index < len(tickets):
            runs.setdefault(tickets[index].client_ref, item.run_id)
    return runs


def batch_route_mode(value: str | None) -> str:
    """The batch route's mode: *value*, else ``NAPARI_OUTPAINT_BATCH_ROUTE``.

    Unset or empty: ``'off'``.

    Raises
    ------
    InvalidInputError
        Naming ``batch_route``, for a value not in :data:`BATCH_ROUTE_MODES`.
    ConfigurationError
        Naming the variable, when it holds anything else.
    """
    if value is None:
        text = os.environ.get(BATCH_ROUTE_ENV, '').strip().lower()
        if not text:
            return 'off'
        if text not in BATCH_ROUTE_MODES:
            raise ConfigurationError(
                f'{BATCH_ROUTE_ENV} must be auto or off'
                f' (send a batch of planes as one Runflow batch request, or '
                f'not), got {text!r}; fix it, or unset it for off.'
            )
        return text
    if value not in BATCH_ROUTE_MODES:
        raise InvalidInputError(
            'batch_route',
            f"must be 'auto' or 'off', got {value!r}.",
        )
    return value
