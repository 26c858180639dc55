"""RunflowStandIn: a Runflow-compatible HTTPS server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import shutil
import ssl
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from os import PathLike
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, quote

from napari_outpaint.hosting._tls_server import TLSServerThread
from napari_outpaint.testing._faults import (
    DROP_CONNECTION,
    ERROR_CODES,
    STEPS,
    Faults,
    Rejection,
    RunEnding,
    RunFailure,
    check_times,
)
from napari_outpaint.testing._handler import StandInHandler
from napari_outpaint.testing._images import MAX_LONG_SIDE
from napari_outpaint.testing._records import (
    RecordedAsset,
    RecordedBatch,
    RecordedRequest,
    RecordedRun,
)
from napari_outpaint.testing._runs import process_run
from napari_outpaint.testing._tls import make_server_certificate

__all__ = ['RunflowStandIn']

_OUTPUT_FORMATS = ('png', 'webp', 'jpg')
_PRESIGN_SECONDS = 86400


class RunflowStandIn:
    """A Runflow-compatible HTTPS server on 127.0.0.1, for offline tests.

    It speaks the subset of the Runflow API that ``runflow/outpaint``
    clients use, over real TLS (a throw-away trustme CA), and behaves
    like the service where it matters: bearer auth, the asset upload flow
    with presigned storage URLs, strict 422 validation, idempotency keys,
    runs that go ``queued`` -> ``running`` -> ``succeeded`` over time,
    and an ``image_url`` that it really downloads over HTTPS. The output
    is the expanded canvas (the same padding rule as the plugin), filled
    by mirror reflection, optionally upscaled. Everything it receives is
    recorded.

    Faults are opt-in, each consumed by the next matching request or run:
    refused or dropped creates (:meth:`reject_creates`,
    :meth:`drop_connection_after_create`), failing polls
    (:meth:`fail_polls`, :meth:`invalid_json_polls`), refused asset
    deletion (:meth:`fail_asset_delete`), failing or dropped transfer
    steps (:meth:`fail_step`), stalled downloads (:meth:`stall_downloads`),
    refused batch creates (:meth:`reject_batch_creates`), and runs that
    end otherwise than ``succeeded``: :meth:`fail_next_run`,
    :meth:`cancel_next_run`
    (``canceled``/``cancelled``), :meth:`partially_succeed_next_run`
    (``partial_succeeded`` with or without an output) and
    :meth:`corrupt_next_output`. ``dispatch_delay`` makes runs pass
    through ``dispatching``.

    Batches (``POST /v1/models/runflow/outpaint/batches``, ``GET
    /v1/batches/{id}`` and ``GET /v1/batches/{id}/items``) take the API
    reference's body ``{"input": [{<item input>, "client_ref"?}, ...]}``
    and the batch guide's ``{"items": [{"input": {...}}]}`` (the sources
    disagree), 1-100 items each validated as a single run's input; each
    item is a normal run, in :attr:`runs` and billed like one. Runflow's
    docs say only template-backed models support batches ("per-provider-
    only models return 422") and not whether ``runflow/outpaint`` is one:
    the stand-in supports them by default, and ``supports_batches=False``
    (or :meth:`set_batch_support`) gives the documented 422 instead.

    Parameters
    ----------
    api_key : str
        The only bearer token it accepts on ``/v1/*``.
    processing_delay : float
        Seconds a run stays ``running`` (at least until its output is
        ready).
    queue_delay : float
        Seconds a run stays ``queued``.
    dispatch_delay : float
        Seconds a run then stays ``dispatching`` (not terminal), before
        ``running``; 0 skips that status.
    upscale_long_side : int or None
        Resize the output so its long side has this many pixels (at most
        4096), like the service's upscaler; None keeps the canvas size.
    output_format : {'png', 'webp', 'jpg'}
        Encoding of the output image.
    extra_trusted_ca : str or PathLike or None
        PEM file of another CA to trust when fetching ``image_url``
        (its own CA is always trusted), e.g. for a LocalHTTPSHost.
    max_input_side : int
        An input with a longer side fails like the service's
        (``INPUT_VALIDATION_FAILED`` at ``preprocess``: "image dimensions
        exceed 4096x4096"); default 4096.
    supports_batches : bool
        Whether the model accepts batch creates (default True); False
        answers every one with 422, as for a per-provider-only model.

    Attributes
    ----------
    runs : list of RecordedRun
        Every run created, in order (batch items included).
    batches : list of RecordedBatch
        Every batch created, in order.
    assets : dict of str to RecordedAsset
        Every upload session and asset, by id.
    requests : list of RecordedRequest
        Every request received, in order (search it for leaked keys).

    Examples
    --------
    >>> import httpx
    >>> with RunflowStandIn(api_key='test-key') as server:
    ...     with httpx.Client(base_url=server.base_url,
    ...                       verify=server.ssl_context(),
    ...                       headers={'Authorization': 'Bearer test-key'}
    ...                       ) as client:
    ...         client.get('/v1/health').json()['status']
    'ok'
    """

    model = 'runflow/outpaint'

    def __init__(
        self,
        api_key: str = 'test-key',
        *,
        processing_delay: float = 0.2,
        queue_delay: float = 0.0,
        dispatch_delay: float = 0.0,
        upscale_long_side: int | None = None,
        output_format: str = 'png',
        extra_trusted_ca: str | PathLike[str] | None = None,
        max_input_side: int = MAX_LONG_SIDE,
        supports_batches: bool = True,
    ) -> None:
        if not isinstance(api_key, str) or not api_key:
            raise ValueError('api_key must be a non-empty string')
        if upscale_long_side is not None and not (
            isinstance(upscale_long_side, int)
            and 1 <= upscale_long_side <= MAX_LONG_SIDE
        ):
            raise ValueError(
                f'upscale_long_side must be None or an int in 1-'
                f'{MAX_LONG_SIDE}, got {upscale_long_side!r}'
            )
        if output_format not in _OUTPUT_FORMATS:
            raise ValueError(
                f'output_format must be one of {_OUTPUT_FORMATS}, got '
                f'{output_format!r}'
            )
        self.api_key = api_key
        self.upscale_long_side = upscale_long_side
        self.output_format = output_format
        self.extra_trusted_ca = extra_trusted_ca
        self.max_input_side = int(max_input_side)
        self.runs: list[RecordedRun] = []
        self.batches: list[RecordedBatch] = []
        self.supports_batches = bool(supports_batches)
        self.assets: dict[str, RecordedAsset] = {}
        self.requests: list[RecordedRequest] = []
        self._faults = Faults()
        self._lock = threading.RLock()
        self._idempotency: dict[str, tuple[str, Any]] = {}
        self._queue_delay = 0.0
        self._processing_delay = 0.0
        self._dispatch_delay = 0.0
        self._processing_spread = 0.0
        self._spread_rng = random.Random(0)
        self.set_delays(
            queue_delay=queue_delay,
            processing_delay=processing_delay,
            dispatch_delay=dispatch_delay,
        )
        self._signing_key = secrets.token_bytes(32)
        self._output_epoch = 0
        self._server: TLSServerThread | None = None
        self._tempdir: str | None = None
        self._ca_path: str | None = None
        self._fetch_context: ssl.SSLContext | None = None
        self._workers: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------

    def start(self) -> Self:
        """Issue the certificate and start serving (``with`` does this)."""
        if self._server is not None:
            raise RuntimeError('the stand-in is already running')
        self._tempdir = tempfile.mkdtemp(prefix='runflow-standin-')
        try:
            server_context, self._ca_path = make_server_certificate(
                self._tempdir
            )
            self._fetch_context = ssl.create_default_context(
                cafile=self._ca_path
            )
            if self.extra_trusted_ca is not None:
                self._fetch_context.load_verify_locations(
                    self.extra_trusted_ca
                )
            self._server = TLSServerThread(
                StandInHandler,
                server_context,
                self,
                bind='127.0.0.1',
                port=0,
                name='runflow-standin',
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving, join every thread, delete the CA file."""
        server, self._server = self._server, None
        self._faults.released.set()  # end every stalled reply first
        try:
            if server is not None:
                server.stop()
        finally:
            with self._lock:
                workers = list(self._workers)
            deadline = time.monotonic() + 15.0
            for worker in workers:
                worker.join(max(0.0, deadline - time.monotonic()))
            if self._tempdir is not None:
                shutil.rmtree(self._tempdir, ignore_errors=True)
                self._tempdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``'https://127.0.0.1:<port>'`` (no trailing slash)."""
        if self._server is None:
            raise RuntimeError('start the stand-in first (use `with`)')
        host, port = self._server.address
        return f'https://{host}:{port}'

    @property
    def ca_path(self) -> str:
        """PEM file of the CA that signed the server certificate."""
        if self._ca_path is None or self._server is None:
            raise RuntimeError('start the stand-in first (use `with`)')
        return self._ca_path

    @property
    def thread(self) -> threading.Thread | None:
        """The serving thread, while running."""
        return None if self._server is None else self._server.thread

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context trusting this server (for ``verify=``)."""
        return ssl.create_default_context(cafile=self.ca_path)

    def get_run(self, run_id: str) -> RecordedRun:
        """The recorded run with this id (KeyError if unknown)."""
        with self._lock:
            for run in self.runs:
                if run.id == run_id:
                    return run
        raise KeyError(run_id)

    def get_batch(self, batch_id: str) -> RecordedBatch:
        """The recorded batch with this id (KeyError if unknown)."""
        with self._lock:
            for batch in self.batches:
                if batch.id == batch_id:
                    return batch
        raise KeyError(batch_id)

    # -- fault injection -------------------------------------------------

    def set_batch_support(self, supported: bool) -> None:
        """Accept batch creates, or refuse each with the documented 422."""
        self.supports_batches = bool(supported)

    def reject_batch_creates(
        self,
        status: int = 503,
        times: int = 1,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Refuse the next *times* batch creations (no batch, no run).

        Parameters are those of :meth:`reject_creates`.
        """
        code = code or ERROR_CODES.get(status, 'ERROR')
        rejection = Rejection(status, code, retry_after)
        self._faults.add_batch_rejections(rejection, check_times(times))

    def fail_polls(self, status: int = 503, times: int = 1) -> None:
        """Answer the next *times* ``GET /v1/runs/{id}`` with *status*."""
        rejection = Rejection(status, ERROR_CODES.get(status, 'ERROR'))
        self._faults.add_poll_failures(rejection, check_times(times))

    def invalid_json_polls(self, times: int = 1) -> None:
        """Answer the next *times* run polls with 200 and a non-JSON body."""
        self._faults.add_invalid_json_polls(check_times(times))

    def reject_creates(
        self,
        status: int = 429,
        times: int = 1,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Refuse the next *times* run creations (no run is created).

        Parameters
        ----------
        status : int
            HTTP status, e.g. 401, 402, 403, 422, 429, 503.
        times : int
            How many creations to refuse.
        code : str or None
            The error ``code``; None uses Runflow's code for *status*
            (``RATE_LIMITED`` for 429, ``INSUFFICIENT_CREDIT`` for 402...).
        retry_after : float or None
            Value of a ``Retry-After`` header, when given.
        """
        code = code or ERROR_CODES.get(status, 'ERROR')
        rejection = Rejection(status, code, retry_after)
        self._faults.add_create_rejections(rejection, check_times(times))

    def drop_connection_after_create(self, times: int = 1) -> None:
        """Create the next *times* runs, then close without a response."""
        self._faults.add_dropped_creates(check_times(times))

    def fail_next_run(
        self,
        failure_code: str = 'PROVIDER_ERROR',
        failure_message: str = 'The provider failed to process the image.',
    ) -> None:
        """Make the next run created end ``failed`` with these fields."""
        self._faults.add_run_failure(RunFailure(failure_code, failure_message))

    def cancel_next_run(self, spelling: str = 'canceled') -> None:
        """Make the next run created end canceled, as by an administrator.

        It is canceled while queued: it never fetches its ``image_url``
        and has no output.

        Parameters
        ----------
        spelling : {'canceled', 'cancelled'}
            The ``status_code`` (newer docs spell it with one l).
        """
        if spelling not in ('canceled', 'cancelled'):
            raise ValueError(
                f"spelling must be 'canceled' or 'cancelled', got {spelling!r}"
            )
        self._faults.add_run_ending(RunEnding(spelling))

    def partially_succeed_next_run(self, with_output: bool = True) -> None:
        """Make the next run created end ``partial_succeeded``.

        With *with_output* its output URL is there (and billed); without,
        the run has no output at all.
        """
        self._faults.add_run_ending(
            RunEnding('partial_succeeded', bool(with_output))
        )

    def corrupt_next_output(self) -> None:
        """Make the next run's output URL serve bytes that are no image."""
        self._faults.add_corrupt_output()

    def fail_step(self, step: str, status: int = 503, times: int = 1) -> None:
        """Fail the next *times* requests of one transfer *step*.

        Parameters
        ----------
        step : {'upload-session', 'upload', 'confirm', 'download'}
            ``POST /v1/asset-uploads``, the presigned ``PUT``, the
            confirmation, or the output's ``GET``. The failed request does
            nothing (no session, no bytes stored, nothing confirmed).
        status : int
            The HTTP status to answer, or 0 to close the connection
            without any response.
        times : int
            How many requests of that step fail.
        """
        if step not in STEPS:
            raise ValueError(f'step must be one of {STEPS}, got {step!r}')
        code = (
            'DROPPED'
            if status == DROP_CONNECTION
            else ERROR_CODES.get(status, 'ERROR')
        )
        self._faults.add_step_failures(
            step, Rejection(status, code), check_times(times)
        )

    def stall_downloads(
        self, seconds: float = 3600.0, times: int = 1
    ) -> threading.Event:
        """Answer the next *times* output downloads only after *seconds*.

        A storage server that says nothing (no headers, no bytes); stopping
        the stand-in ends every stall at once.

        Returns
        -------
        threading.Event
            Set when the first of these downloads starts being stalled.
        """
        if not seconds > 0:
            raise ValueError(f'seconds must be > 0, got {seconds!r}')
        return self._faults.add_stalls(float(seconds), check_times(times))

    def expire_output_urls(self) -> None:
        """Make every output URL handed out so far expire (403).

        Like a presigned URL past its lifetime: downloading it answers
        ``403 AccessDenied: Request has expired``. A plain run read keeps
        giving the run's first URL (expired now); a read with
        ``?add_signature=true`` gives a freshly signed one.
        """
        with self._lock:
            self._output_epoch += 1

    def set_run_search(self, mode: str = 'both') -> None:
        """How ``GET /v1/runs?q=...`` treats a client_ref filter.

        Parameters
        ----------
        mode : {'both', 'eq-only', 'ignored', 'refused'}
            ``'both'`` filters ``client_ref:<ref>`` (the docs' form) and
            ``client_ref.EQ:'<ref>'`` (Runflow's tools' form);
            ``'eq-only'`` refuses the first with 422; ``'ignored'`` lists
            every run whatever ``q`` says; ``'refused'`` answers 422 to
            any ``q``.
        """
        modes = ('both', 'eq-only', 'ignored', 'refused')
        if mode not in modes:
            raise ValueError(f'mode must be one of {modes}, got {mode!r}')
        self._faults.run_search = mode

    def fail_asset_delete(self, status: int = 405, times: int = 1) -> None:
        """Answer the next *times* ``DELETE /v1/assets/{id}`` with *status*.

        The asset is not deleted.
        """
        rejection = Rejection(status, ERROR_CODES.get(status, 'ERROR'))
        self._faults.add_asset_delete_failures(rejection, check_times(times))

    def set_delays(
        self,
        *,
        queue_delay: float | None = None,
        processing_delay: float | None = None,
        dispatch_delay: float | None = None,
        processing_spread: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Change the delays of runs created from now on.

        ``processing_spread`` makes runs vary in length like the
        service's: each run's processing delay is drawn uniformly from
        ``[processing_delay, processing_delay + processing_spread]``
        (reproducibly, with *seed*); 0 (the default) makes them all equal.
        """
        for name, value in (
            ('queue_delay', queue_delay),
            ('processing_delay', processing_delay),
            ('dispatch_delay', dispatch_delay),
            ('processing_spread', processing_spread),
        ):
            if value is not None and not value >= 0:
                raise ValueError(f'{name} must be >= 0, got {value!r}')
        with self._lock:
            if queue_delay is not None:
                self._queue_delay = float(queue_delay)
            if processing_delay is not None:
                self._processing_delay = float(processing_delay)
            if dispatch_delay is not None:
                self._dispatch_delay = float(dispatch_delay)
            if processing_spread is not None:
                self._processing_spread = float(processing_spread)
            if seed is not None:
                self._spread_rng = random.Random(seed)

    # -- used by the request handler ---------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries the API key."""
        if not header:
            return False
        scheme, _, token = header.partition(' ')
        if scheme.lower() != 'bearer':
            return False
        return hmac.compare_digest(
            token.strip().encode(), self.api_key.encode()
        )

    def _signature(self, path: str, epoch: int = 0) -> str:
        return hmac.new(
            self._signing_key, f'{path}@{epoch}'.encode(), hashlib.sha256
        ).hexdigest()

    def _presign(self, path: str, epoch: int = 0) -> str:
        """A presigned-style URL of *path* on this server."""
        query = (
            'X-Amz-Algorithm=AWS4-HMAC-SHA256'
            '&X-Amz-Credential=standin%2Fauto%2Fs3%2Faws4_request'
            f'&X-Amz-Date={epoch}'
            f'&X-Amz-Expires={_PRESIGN_SECONDS}'
            '&X-Amz-SignedHeaders=host'
            f'&X-Amz-Signature={self._signature(path, epoch)}'
        )
        return f'{self.base_url}{path}?{query}'

    def _signature_ok(self, path: str, query: str) -> bool:
        """Whether *query* carries the right signature for *path*."""
        fields = parse_qs(query)
        given = fields.get('X-Amz-Signature', [''])[-1]
        epoch = fields.get('X-Amz-Date', ['0'])[-1]
        if not epoch.isdigit():
            return False
        return hmac.compare_digest(
            given.encode(), self._signature(path, int(epoch)).encode()
        )

    def _url_expired(self, query: str) -> bool:
        """Whether a (validly signed) output URL was signed before the
        last :meth:`expire_output_urls`."""
        epoch = parse_qs(query).get('X-Amz-Date', ['0'])[-1]
        return int(epoch) < self._output_epoch

    def _upload_path(self, asset: RecordedAsset) -> str:
        return f'/storage/uploads/{asset.id}'

    def _asset_path(self, asset: RecordedAsset) -> str:
        return f'/storage/assets/{asset.id}/{quote(asset.filename)}'

    def _output_path(self, run: RecordedRun) -> str:
        return f'/storage/outputs/{run.id}.{self.output_format}'

    def _output_url(self, run: RecordedRun, fresh: bool = False) -> str:
        epoch = self._output_epoch if fresh else run.signed_epoch
        return self._presign(self._output_path(run), epoch)

    def _new_asset(
        self, filename: str, mime_type: str, size: int
    ) -> RecordedAsset:
        asset = RecordedAsset(
            id=str(uuid.uuid4()),
            filename=filename,
            mime_type=mime_type,
            size_bytes=size,
            created_at=datetime.now(UTC),
        )
        with self._lock:
            self.assets[asset.id] = asset
        return asset

    def _create_batch(
        self,
        body: dict[str, Any],
        shape: str,
        items: list[tuple[dict[str, Any], str | None]],
        idempotency_key: str | None,
    ) -> RecordedBatch:
        """Record a validated batch and create a run for each item."""
        with self._lock:
            batch = RecordedBatch(
                id=str(uuid.uuid4()),
                run_ids=[],
                body_shape=shape,
                metadata=body.get('metadata'),
                callback_url=body.get('callback_url'),
                idempotency_key=idempotency_key,
                created_at=datetime.now(UTC),
                created_monotonic=time.monotonic(),
            )
            for model_input, client_ref in items:
                run = self._create_run(
                    {
                        'input': model_input,
                        'metadata': body.get('metadata'),
                        'client_ref': client_ref,
                    },
                    None,
                    batch_id=batch.id,
                )
                batch.run_ids.append(run.id)
            self.batches.append(batch)
        return batch

    def _create_run(
        self,
        body: dict[str, Any],
        idempotency_key: str | None,
        *,
        batch_id: str | None = None,
    ) -> RecordedRun:
        """Record a validated run and start processing it."""
        with self._lock:
            run = RecordedRun(
                id=str(uuid.uuid4()),
                input=body['input'],
                metadata=body.get('metadata'),
                client_ref=body.get('client_ref'),
                idempotency_key=idempotency_key,
                callback_url=body.get('callback_url'),
                created_at=datetime.now(UTC),
                created_monotonic=time.monotonic(),
                queue_delay=self._queue_delay,
                dispatch_delay=self._dispatch_delay,
                processing_delay=self._processing_delay
                + self._processing_spread * self._spread_rng.random(),
                seed=random.randrange(2**31),
                signed_epoch=self._output_epoch,
                batch_id=batch_id,
            )
            self.runs.append(run)
            worker = threading.Thread(
                target=process_run,
                args=(run,),
                kwargs={
                    'verify': self._fetch_context,
                    'upscale_long_side': self.upscale_long_side,
                    'output_format': self.output_format,
                    'failure': self._faults.take_run_failure(),
                    'corrupt': self._faults.take_corrupt_output(),
                    'ending': self._faults.take_run_ending(),
                    'max_input_side': self.max_input_side,
                },
                name=f'runflow-standin-run-{run.id[:8]}',
                daemon=True,
            )
            self._workers = [w for w in self._workers if w.is_alive()]
            self._workers.append(worker)
        worker.start()
        return run
