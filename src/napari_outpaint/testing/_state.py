"""StandInState: what the routes and the request handler see of a stand-in.

:class:`~napari_outpaint.testing.RunflowStandIn` satisfies it; the
routes (``_api``), the route type (``_replies.Route``) and the handler
(``_handler``) are typed against this protocol only, so none of them
imports the stand-in, which imports the handler to serve. It imports
nothing of the stand-in's but its records and faults.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from napari_outpaint.testing._faults import Faults
from napari_outpaint.testing._records import (
    RecordedAsset,
    RecordedBatch,
    RecordedRequest,
    RecordedRun,
)

__all__ = ['StandInState']


class StandInState(Protocol):
    """The state and helpers of a stand-in that a request may reach.

    Attributes
    ----------
    output_format : str
        Encoding of run outputs (``'png'`` or ``'webp'``).
    runs : list of RecordedRun
        Every run created, in order.
    assets : dict of str to RecordedAsset
        Every upload session and asset, by id.
    """

    output_format: str
    runs: list[RecordedRun]
    assets: dict[str, RecordedAsset]
    batches: list[RecordedBatch]
    #: Whether batch creates are accepted (else the documented 422).
    supports_batches: bool
    #: Guards ``runs``, ``assets`` and ``_idempotency``; reentrant.
    _lock: threading.RLock
    #: Injected faults, consumed by the routes.
    _faults: Faults
    #: Idempotency-Key -> (request body fingerprint, the reply sent).
    _idempotency: dict[str, tuple[str, Any]]

    def get_run(self, run_id: str) -> RecordedRun:
        """The recorded run with this id (KeyError if unknown)."""
        ...

    def _record(self, request: RecordedRequest) -> None:
        """Append *request* to the recorded requests."""
        ...

    def _authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries the API key."""
        ...

    def _presign(self, path: str, epoch: int = 0) -> str:
        """A presigned-style URL of *path* on this server."""
        ...

    def _signature_ok(self, path: str, query: str) -> bool:
        """Whether *query* carries the right signature for *path*."""
        ...

    def _url_expired(self, query: str) -> bool:
        """Whether an output URL's signature is from before an expiry."""
        ...

    def _upload_path(self, asset: RecordedAsset) -> str:
        """Storage path that receives the upload of *asset*."""
        ...

    def _asset_path(self, asset: RecordedAsset) -> str:
        """Storage path that serves the confirmed *asset*."""
        ...

    def _output_url(self, run: RecordedRun, fresh: bool = False) -> str:
        """Presigned URL of the output of *run* (*fresh*: signed now)."""
        ...

    def _new_asset(
        self, filename: str, mime_type: str, size: int
    ) -> RecordedAsset:
        """Record a new upload session."""
        ...

    def _create_run(
        self,
        body: dict[str, Any],
        idempotency_key: str | None,
        *,
        batch_id: str | None = None,
    ) -> RecordedRun:
        """Record a validated run and start processing it."""
        ...

    def _create_batch(
        self,
        body: dict[str, Any],
        shape: str,
        items: list[tuple[dict[str, Any], str | None]],
        idempotency_key: str | None,
    ) -> RecordedBatch:
        """Record a validated batch and create a run for each item."""
        ...
