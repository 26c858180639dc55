"""What the stand-in saw and did: requests, assets and runs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = ['RecordedAsset', 'RecordedBatch', 'RecordedRequest', 'RecordedRun']

TERMINAL_STATUSES = frozenset(
    {'succeeded', 'partial_succeeded', 'failed', 'canceled', 'cancelled'}
)


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as received (search it for leaked secrets).

    Attributes
    ----------
    method : str
        ``'GET'``, ``'POST'``, ...
    path : str
        The path without the query string.
    query : str
        The raw query string (may be empty).
    headers : dict of str to str
        Request headers, names in lower case.
    body : bytes
        The raw request body.
    received_monotonic : float
        ``time.monotonic()`` when the request was read.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    received_monotonic: float


@dataclass
class RecordedAsset:
    """An upload session, and the asset once uploaded and confirmed.

    Attributes
    ----------
    id : str
        The asset id (``asset_id`` of the upload session).
    filename, mime_type : str
        As declared when the session was created.
    size_bytes : int
        As declared when the session was created.
    data : bytes or None
        The bytes received by the presigned ``PUT``, if any.
    content_type : str or None
        The ``Content-Type`` of that ``PUT``.
    confirmed : bool
        Whether ``POST /v1/asset-uploads/{id}/confirmations`` succeeded.
    deleted : bool
        Whether ``DELETE /v1/assets/{id}`` succeeded.
    """

    id: str
    filename: str
    mime_type: str
    size_bytes: int
    created_at: datetime
    data: bytes | None = None
    content_type: str | None = None
    confirmed: bool = False
    deleted: bool = False


@dataclass
class RecordedRun:
    """A run created through ``POST /v1/models/runflow/outpaint/runs``.

    Its status follows elapsed time: ``queued`` for ``queue_delay``
    seconds, ``dispatching`` for ``dispatch_delay`` seconds, then
    ``running`` for ``processing_delay`` seconds and until the output is
    ready, then ``succeeded`` or ``failed`` (or the ``end_status`` a fault
    chose: ``canceled``, ``cancelled``, ``partial_succeeded``).

    Attributes
    ----------
    id : str
        The run id (a UUID).
    input, metadata : dict
        As sent by the client.
    client_ref, idempotency_key, callback_url : str or None
        As sent by the client.
    fetched_image : bytes or None
        What the stand-in downloaded from ``input['image_url']``.
    fetched_content_type : str or None
        The ``Content-Type`` it was served with.
    created_monotonic : float
        ``time.monotonic()`` when the run was created.
    """

    id: str
    input: dict[str, Any]
    metadata: dict[str, Any] | None
    client_ref: str | None
    idempotency_key: str | None
    callback_url: str | None
    created_at: datetime
    created_monotonic: float
    queue_delay: float
    processing_delay: float
    seed: int
    dispatch_delay: float = 0.0
    #: The output URLs' signing epoch a plain read gives (see
    #: ``RunflowStandIn.expire_output_urls``).
    signed_epoch: int = 0
    #: The batch this run is an item of (None for a single run).
    batch_id: str | None = None
    end_status: str | None = None
    fetched_image: bytes | None = None
    fetched_content_type: str | None = None
    fetch_error: str | None = None
    output: bytes | None = None
    output_content_type: str | None = None
    output_shape: tuple[int, int] | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    failure_stage_code: str | None = None
    ready_monotonic: float | None = None
    _ready: threading.Event = field(
        default_factory=threading.Event, repr=False, compare=False
    )

    def mark_ready(self) -> None:
        """Called by the worker once the output (or failure) is final."""
        self.ready_monotonic = time.monotonic()
        self._ready.set()

    def wait_processed(self, timeout: float) -> bool:
        """Wait until the output (or the failure) is ready."""
        return self._ready.wait(timeout)

    def wait_terminal(self, timeout: float) -> bool:
        """Wait until the run is terminal; False on timeout."""
        deadline = time.monotonic() + timeout
        if not self._ready.wait(timeout):
            return False
        terminal = self.terminal_monotonic()
        if terminal > deadline:
            return False
        time.sleep(max(0.0, terminal - time.monotonic()))
        return True

    @property
    def outcome(self) -> str:
        """The terminal status, once processed.

        ``'failed'`` when the run failed, else the ``end_status`` a fault
        chose, else ``'succeeded'``.
        """
        if self.failure_code:
            return 'failed'
        return self.end_status or 'succeeded'

    def terminal_monotonic(self) -> float | None:
        """The instant the run becomes terminal (None: not yet known)."""
        if self.ready_monotonic is None:
            return None
        scheduled = (
            self.created_monotonic
            + self.queue_delay
            + self.dispatch_delay
            + self.processing_delay
        )
        return max(scheduled, self.ready_monotonic)

    def status_at(self, now: float) -> str:
        """The ``status_code`` at monotonic time *now*."""
        if now <= self.created_monotonic + self.queue_delay:
            return 'queued'
        if now <= self.started_monotonic:
            return 'dispatching'
        terminal = self.terminal_monotonic()
        if terminal is None or now < terminal:
            return 'running'
        return self.outcome

    @property
    def started_monotonic(self) -> float:
        """When the run starts ``running`` (after queue and dispatch)."""
        return self.created_monotonic + self.queue_delay + self.dispatch_delay

    @property
    def status(self) -> str:
        """The ``status_code`` now."""
        return self.status_at(time.monotonic())

    @property
    def completed_monotonic(self) -> float | None:
        """When the run became terminal, or None while it is not."""
        terminal = self.terminal_monotonic()
        if terminal is None or time.monotonic() < terminal:
            return None
        return terminal

    def wall_time(self, monotonic: float) -> datetime:
        """The wall-clock time of a monotonic instant of this run."""
        return self.created_at + timedelta(
            seconds=monotonic - self.created_monotonic
        )


@dataclass
class RecordedBatch:
    """A batch created through ``POST /v1/models/runflow/outpaint/batches``.

    Each item is a normal :class:`RecordedRun` (in ``runs`` too, polled
    with ``GET /v1/runs/{id}`` and billed like a run); the batch's status
    is read from its items' at poll time.

    Attributes
    ----------
    id : str
        The batch id (a UUID).
    run_ids : list of str
        The run of each item, in ``sequence_index`` order.
    body_shape : str
        ``'input'`` (the API reference's ``{"input": [...]}``) or
        ``'items'`` (the guide's ``{"items": [{"input": ...}]}``).
    metadata : dict or None
    callback_url, idempotency_key : str or None
        As sent by the client.
    """

    id: str
    run_ids: list[str]
    body_shape: str
    metadata: dict[str, Any] | None
    callback_url: str | None
    idempotency_key: str | None
    created_at: datetime
    created_monotonic: float
