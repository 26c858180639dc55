"""The Runflow engine: ``runflow/outpaint`` through Runflow's cloud API.

One outpaint is: encode a lossless PNG -> publish it at a temporary HTTPS
URL (a Runflow asset by default) -> create the run -> poll until terminal
-> revoke the hosted image -> download and decode the result. The HTTP
details live in :mod:`napari_outpaint._runflow`; this module only
orchestrates, reports progress and honours the cancel token between every
step. When the client stops following a run that is not over (timeout,
cancel, Ctrl-C), the hosted input is kept for it and named on the error
(:data:`HOSTED_INPUT_ATTRIBUTE`); :meth:`RunflowEngine.release_input`
deletes it once the run is over. With ``batch_route='auto'`` the create
and the polls of a batch's runs in flight together go through one Runflow
batch request instead (:mod:`.runflow_batch`); the rest is the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import numpy as np

from napari_outpaint._errors import (
    InvalidInputError,
    NotFoundError,
    ResultError,
    RunCanceledError,
    RunFailedError,
)
from napari_outpaint._expand import Expand, check_expand
from napari_outpaint._imaging import decode_image, encode_png, resample_rgb8
from napari_outpaint._progress import (
    CancelToken,
    ProgressCallback,
    ProgressEvent,
    Stage,
)
from napari_outpaint._runflow import (
    DEFAULT_BASE_URL,
    DEFAULT_POLL_SCHEDULE,
    Deadline,
    LinkExpiredError,
    PollPacer,
    PollSchedule,
    Run,
    RunDurations,
    RunflowClient,
    RunStatus,
    VerifyTypes,
    resolve_api_key,
    resolve_base_url,
    ssl_verify,
)
from napari_outpaint.engines import INPUT_LEFT, INPUT_RESIZED, EngineResult
from napari_outpaint.engines.runflow_batch import (
    BatchRoute,
    BatchTicket,
    batch_route_mode,
)
from napari_outpaint.hosting import HostedImage, ImageHost
from napari_outpaint.hosting.runflow_assets import (
    FORBIDDEN,
    FORBIDDEN_REASON,
    NOT_DELETED,
    RunflowAssetHost,
    delete_asset_quietly,
)

__all__ = [
    'CLIENT_REF_PREFIX',
    'HOSTED_INPUT_ATTRIBUTE',
    'RunflowEngine',
]

logger = logging.getLogger(__name__)

MODEL = 'runflow/outpaint'
PRICE_PER_IMAGE_USD = 0.55
#: Results are at most 4096 px on the long side; leave room for surprises.
DEFAULT_MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_PIXELS = 8192 * 8192
#: The docs' example failure: ``INPUT_VALIDATION_FAILED`` at ``preprocess``,
#: "image dimensions exceed 4096x4096".
DEFAULT_MAX_INPUT_SIDE = 4096
#: On an error (attribute) or in ``EngineResult.details`` (key): the hosted
#: input left for its run, ``{'asset_id': ..., 'run_id': ...}``; delete
#: it with :meth:`RunflowEngine.release_input` once the run is over.
HOSTED_INPUT_ATTRIBUTE = 'hosted_input'
#: ``collect('client_ref:<ref>')`` collects the run carrying that client_ref.
CLIENT_REF_PREFIX = 'client_ref:'


class RunflowEngine:
    """Outpaint through Runflow's ``runflow/outpaint`` model ($0.55/image).

    Parameters
    ----------
    api_key : str, optional
        Argument, ``RUNFLOW_API_KEY``, then the system keyring.
    base_url : str, optional
        Argument, ``RUNFLOW_BASE_URL``, then ``https://api.runflow.io``.
        HTTPS only.
    verify : ssl.SSLContext, path or None
        TLS trust: None is httpx's default (``SSL_CERT_FILE`` honoured); a
        CA bundle path or an ``SSLContext`` is used as given.
    host : ImageHost, optional
        Where the input is published; default: a Runflow asset
        (:class:`~napari_outpaint.hosting.runflow_assets.RunflowAssetHost`).
    timeout : float
        Overall deadline of one call, in seconds (default 10 minutes).
    poll_interval : float or PollSchedule, optional
        A fixed poll interval in seconds, or a schedule; default
        :data:`~napari_outpaint._runflow.retry.DEFAULT_POLL_SCHEDULE`
        (0.25 s growing x1.5 to 1.5 s, so 40 status reads per minute for
        a long run, and every 0.5 s where past runs ended, see
        :attr:`run_durations`; measured by ``bench/bench_polling.py``).
        All the runs this engine follows at once (a batch) share one
        gate of ``max_rate`` status reads per second (1.9).
    http_client : httpx.Client, optional
        Use this client (kept open) instead of one per call.
    max_download_bytes, max_pixels : int
        Limits on the result's size.
    max_input_side : int
        The longest side Runflow accepts as input (default 4096). A larger
        plane is resampled to fit before it is uploaded, so the service
        never refuses it after the upload; the generated border then
        comes at that resolution (the pipeline still pastes the original
        back bit-exact), and ``details['input_resized']`` says so.
    client_options : dict, optional
        Extra keyword arguments for the low-level client (retry policies,
        ``sleep`` and ``clock`` hooks for tests).
    batch_route : {'auto', 'off'}, optional
        ``'auto'``: the runs of a batch of planes that are in flight
        together go out as one Runflow batch request (``POST
        /v1/models/runflow/outpaint/batches``, one id polled for all;
        see :mod:`~napari_outpaint.engines.runflow_batch`), and after a
        422 (the model takes no batches) as single runs for the rest of
        this engine's life. ``'off'``: single runs only. Default
        ``NAPARI_OUTPAINT_BATCH_ROUTE``, else ``'off'``.

    Attributes
    ----------
    run_durations : RunDurations
        How long this engine's runs took (create to terminal), learned
        from each successful run and seeded from the cache folder by the
        caching layer; it tells the poller when the next run likely ends.

    Raises
    ------
    ConfigurationError
        Without an API key (naming ``RUNFLOW_API_KEY``) or with a
        non-HTTPS base URL, before any I/O.
    """

    name = 'runflow'
    model = MODEL
    price_per_image_usd = PRICE_PER_IMAGE_USD

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        verify: VerifyTypes = None,
        host: ImageHost | None = None,
        timeout: float = 600.0,
        poll_interval: float | PollSchedule | None = None,
        http_client: httpx.Client | None = None,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_input_side: int = DEFAULT_MAX_INPUT_SIDE,
        client_options: dict | None = None,
        batch_route: str | None = None,
    ) -> None:
        mode = batch_route_mode(batch_route)
        self._api_key = resolve_api_key(api_key)
        self.base_url = resolve_base_url(base_url)
        ssl_verify(verify)  # fail now on verify=False or a missing path
        if not timeout or timeout <= 0:
            raise InvalidInputError('timeout', 'must be a positive number.')
        self._verify = verify
        self._host = host
        self.timeout = float(timeout)
        self.poll_schedule = _schedule(poll_interval)
        self.run_durations = RunDurations()
        self._pacer = PollPacer(
            self.poll_schedule.reads_per_second, self.poll_schedule.burst
        )
        self._http_client = http_client
        self.max_download_bytes = int(max_download_bytes)
        self.max_pixels = int(max_pixels)
        if isinstance(max_input_side, bool) or not (
            isinstance(max_input_side, int | np.integer)
            and max_input_side >= 8
        ):
            raise InvalidInputError(
                'max_input_side', 'must be an int of pixels, at least 8.'
            )
        self.max_input_side = int(max_input_side)
        self._client_options = dict(client_options or {})
        self._batch_route = BatchRoute(
            mode,
            model=MODEL,
            open_client=self._client,
            schedule=self.poll_schedule,
            pacer=self._pacer,
            durations=self.run_durations,
            timeout=self.timeout,
        )

    @property
    def batch_route(self) -> BatchRoute:
        """The batch route: its ``mode``, whether ``supported``, ..."""
        return self._batch_route

    def planes_in_flight(self) -> int | None:
        """Planes a batch should keep in flight when nothing chose how
        many: the batch route's (one create carries them), or None with
        the route off."""
        return self._batch_route.in_flight

    def group_requests(
        self, expected: int, in_flight: int
    ) -> AbstractContextManager[None]:
        """Send the runs made inside the block as Runflow batches.

        A batch of planes enters it around its planes (see
        :meth:`BatchRoute.grouping`); with ``batch_route='off'`` it
        changes nothing.
        """
        return self._batch_route.grouping(expected, in_flight)

    def __repr__(self) -> str:
        return f'RunflowEngine(base_url={self.base_url!r})'

    @property
    def cache_namespace(self) -> str:
        """What tells this endpoint's results apart in the result cache.

        The model for ``https://api.runflow.io`` (so keys of real results
        never change), else ``'runflow/outpaint@host[:port][/path]'``:
        results of the offline stand-in or a proxy never answer a request
        to another endpoint.
        """
        return endpoint_namespace(self.model, self.base_url)

    def outpaint(
        self,
        image: np.ndarray,
        expand: Expand,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> EngineResult:
        """Outpaint one ``(rows, cols, 3)`` uint8 RGB plane.

        Returns
        -------
        EngineResult
            The whole expanded canvas at Runflow's resolution, with the run
            id, seed, cost, timings and the downloaded bytes.

        Raises
        ------
        InvalidInputError
            For a bad image or expand, before any request.
        OutpaintCancelled
            When *cancel* fires; the hosted image is deleted first, and an
            already created run may still complete and bill (Runflow has
            no public cancel).
        RunFailedError, RunCanceledError, RunTimeoutError, ResultError,
        APIStatusError, APIConnectionError, HostingError
            As their names say; messages name the run id when one exists.
        """
        check_expand(expand)
        report = _reporter(progress)
        cancel = cancel or CancelToken()
        timings: dict[str, float] = {}
        started = time.monotonic()
        deadline = Deadline(self.timeout)
        cancel.raise_if_cancelled()
        report(Stage.PUBLISHING, 'Encoding the input as PNG.', 0.0)
        image, resized = _fit_within(image, self.max_input_side)
        png = encode_png(image)  # validates the image before any I/O
        timings['encode'] = time.monotonic() - started
        with self._client() as client:
            host = self._host or RunflowAssetHost(
                client=client, cancel=cancel, deadline=deadline
            )
            cancel.raise_if_cancelled()
            report(Stage.PUBLISHING, 'Uploading the input image.', 0.02)
            mark = time.monotonic()
            kept: dict[str, str] | None = None
            stays: dict | None = None
            try:
                with host.publish(
                    png, 'image/png', filename='input.png'
                ) as hosted:
                    timings['publish'] = time.monotonic() - mark
                    cancel.raise_if_cancelled()
                    mark = time.monotonic()
                    model_input = {
                        'image_url': hosted.url,
                        **expand.to_runflow_input(),
                    }
                    ticket = self._batch_route.submit(
                        model_input, cancel=cancel, deadline=deadline
                    )
                    if ticket is None:
                        run = client.create_run(
                            MODEL,
                            model_input,
                            metadata={'source': 'napari-outpaint'},
                            cancel=cancel,
                            deadline=deadline,
                        )
                    else:  # an item of a batch: a normal run
                        run = Run(
                            id=str(ticket.run_id),
                            status=ticket.status,
                            client_ref=ticket.client_ref,
                        )
                    timings['create'] = time.monotonic() - mark
                    try:  # from here on the run may read the input
                        report(
                            Stage.QUEUED, f'Run {run.id} queued.', 0.1, run.id
                        )
                        if ticket is None:
                            run = self._follow(
                                client,
                                run,
                                report,
                                cancel,
                                deadline,
                                timings,
                                learn=True,
                            )
                        else:
                            run = self._follow_item(
                                client,
                                ticket,
                                report,
                                cancel,
                                deadline,
                                timings,
                            )
                    except BaseException:  # the run may still read it
                        if ticket is not None:
                            self._batch_route.leave(ticket)
                        kept = _retain(host, hosted, run.id)
                        raise
                # The hosted image is revoked here: the run no longer needs it.
                kept = kept or _left_behind(host, hosted, run.id)
                stays = _forbidden(host, hosted)
                result = self._fetch_result(
                    client, run, report, cancel, deadline, timings
                )
            except BaseException as exc:
                if kept is not None:
                    setattr(exc, HOSTED_INPUT_ATTRIBUTE, kept)
                raise
        details = dict(result.details)
        if kept is not None:
            details[HOSTED_INPUT_ATTRIBUTE] = kept
        if resized is not None:
            details[INPUT_RESIZED] = resized
        if stays is not None:
            details[INPUT_LEFT] = stays
        result = replace(result, details=details)
        timings['total'] = time.monotonic() - started
        return _with_timings(result, timings, report)

    def release_input(self, asset_id: str, run_id: str) -> bool:
        """Delete the hosted input of *run_id* once the run is over.

        Returns
        -------
        bool
            True when the asset is gone (deleted now, or already); False
            while the run may still read it, or when the delete failed
            (try again later).

        Raises
        ------
        APIConnectionError, APIStatusError
            When the run's status could not be read.
        """
        with self._client() as client:
            try:
                run = client.get_run(run_id, deadline=Deadline(30.0))
            except NotFoundError:
                run = None  # no such run any more: nothing reads it
            if run is not None and not run.is_terminal:
                return False
            # forbidden: retrying cannot help (the warning said why)
            return delete_asset_quietly(client, asset_id) != NOT_DELETED

    def collect(
        self,
        run_id: str,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> EngineResult:
        """Fetch the result of a run submitted earlier (waiting if needed).

        *run_id* may also be ``'client_ref:<ref>'``: the run whose
        ``client_ref`` is exactly ``<ref>`` (a request whose answer was
        lost, see :class:`~napari_outpaint.SubmissionUnknownError`).

        Raises
        ------
        InvalidInputError
            For an empty run id.
        NotFoundError
            When the run does not exist for this API key.
        """
        if not isinstance(run_id, str) or not run_id.strip():
            raise InvalidInputError('run_id', 'expected a Runflow run id.')
        run_id = run_id.strip()
        report = _reporter(progress)
        cancel = cancel or CancelToken()
        timings: dict[str, float] = {}
        started = time.monotonic()
        deadline = Deadline(self.timeout)
        with self._client() as client:
            if run_id.startswith(CLIENT_REF_PREFIX):
                run_id = _run_of_client_ref(
                    client, run_id.removeprefix(CLIENT_REF_PREFIX), cancel
                )
            cancel.raise_if_cancelled(run_id)
            run = client.get_run(run_id, cancel=cancel, deadline=deadline)
            report(
                _stage_of(run), f'Run {run.id} is {run.status}.', 0.1, run.id
            )
            if not run.is_terminal:
                run = self._follow(
                    client, run, report, cancel, deadline, timings
                )
            result = self._fetch_result(
                client, run, report, cancel, deadline, timings
            )
        timings['total'] = time.monotonic() - started
        return _with_timings(result, timings, report)

    # ------------------------------------------------------------ helpers

    @contextmanager
    def _client(self) -> Iterator[RunflowClient]:
        with RunflowClient(
            self._api_key,
            base_url=self.base_url,
            verify=self._verify,
            http_client=self._http_client,
            **self._client_options,
        ) as client:
            yield client

    def _follow(
        self,
        client: RunflowClient,
        submitted: Run,
        report: Callable[..., None],
        cancel: CancelToken,
        deadline: Deadline,
        timings: dict[str, float],
        *,
        learn: bool = False,
    ) -> Run:
        """Poll until terminal, reporting QUEUED -> RUNNING on the way.

        With *learn* (a run just created) the poller uses the window of
        :attr:`run_durations` and records this run's duration there.
        """
        mark = time.monotonic()
        running_since = None
        if submitted.status == RunStatus.RUNNING:
            running_since = mark
        latest = submitted
        last_pending = read = mark
        polls = (
            ()
            if submitted.is_terminal
            else client.iter_run(
                submitted.id,
                schedule=self.poll_schedule,
                cancel=cancel,
                deadline=deadline,
                window=self.run_durations.window() if learn else None,
                since=mark,
                pacer=self._pacer,
                read_first=False,  # the create (or collect) just read it
            )
        )
        for latest in polls:
            last_pending, read = read, time.monotonic()
            if running_since is None and (
                latest.status == RunStatus.RUNNING or latest.is_terminal
            ):
                running_since = time.monotonic()
                report(
                    Stage.RUNNING,
                    f'Run {latest.id} is running.',
                    0.3,
                    latest.id,
                )
        now = time.monotonic()
        running_since = running_since or now
        timings['queue'] = running_since - mark
        timings['run'] = now - running_since
        if learn and latest.succeeded:
            # the service's own clock; else it ended between the last two
            # reads: take the middle
            timings['service'] = latest.service_seconds or (
                (last_pending + read) / 2 - mark
            )
            self.run_durations.observe(timings['service'])
        logger.info('Run %s ended %s.', latest.id, latest.status)
        return latest

    def _follow_item(
        self,
        client: RunflowClient,
        ticket: BatchTicket,
        report: Callable[..., None],
        cancel: CancelToken,
        deadline: Deadline,
        timings: dict[str, float],
    ) -> Run:
        """Wait for a batch item's run (the batch's polls), then read it.

        The caller has reported the run id (the journal has it): only now
        may the batch be polled. The run is read once, when the batch
        says it is over, for its output, cost and failure.
        """
        route = self._batch_route
        route.acknowledge(ticket)
        mark = time.monotonic()
        running: list[float] = []

        def on_status(status: str) -> None:
            if status == RunStatus.RUNNING and not running:
                running.append(time.monotonic())
                report(
                    Stage.RUNNING,
                    f'Run {ticket.run_id} is running.',
                    0.3,
                    ticket.run_id,
                )

        route.wait_over(
            ticket, cancel=cancel, deadline=deadline, on_status=on_status
        )
        run_id = str(ticket.run_id)
        run = _run_of_item(ticket)
        if run is None:  # no output listed: read the run itself
            run = client.get_run(run_id, cancel=cancel, deadline=deadline)
        if not run.is_terminal:  # the batch said over, the run says not
            return self._follow(client, run, report, cancel, deadline, timings)
        now = time.monotonic()
        running_since = running[0] if running else now
        timings['queue'] = running_since - mark
        timings['run'] = now - running_since
        if run.succeeded:
            timings['service'] = run.service_seconds or (now - mark)
            self.run_durations.observe(timings['service'])
        logger.info('Run %s (a batch item) ended %s.', run.id, run.status)
        return run

    def _fetch_result(
        self,
        client: RunflowClient,
        run: Run,
        report: Callable[..., None],
        cancel: CancelToken,
        deadline: Deadline,
        timings: dict[str, float],
    ) -> EngineResult:
        """Turn a terminal run into an EngineResult (or a typed error)."""
        if run.status in (RunStatus.CANCELED, RunStatus.CANCELLED):
            raise RunCanceledError(
                run.id, run.status, run.failure_code, run.failure_message
            )
        if not run.succeeded:
            raise RunFailedError(
                run.id, run.status, run.failure_code, run.failure_message
            )
        url = run.output_url
        if url is None:
            raise ResultError(
                'The run succeeded but its output has no image URL; try '
                'collecting it again later',
                run_id=run.id,
            )
        cancel.raise_if_cancelled(run.id)
        report(Stage.DOWNLOADING, f'Downloading run {run.id}.', 0.9, run.id)
        mark = time.monotonic()
        fetch = {
            'max_bytes': self.max_download_bytes,
            'run_id': run.id,
            'cancel': cancel,
            'deadline': deadline,
        }
        try:
            data, content_type = client.download(url, **fetch)
        except LinkExpiredError:  # read the run again, signed afresh; once
            logger.info('The output link of run %s expired.', run.id)
            fresh = client.get_run(
                run.id, cancel=cancel, deadline=deadline, fresh_urls=True
            )
            if fresh.output_url is None:
                raise
            data, content_type = client.download(fresh.output_url, **fetch)
        timings['download'] = time.monotonic() - mark
        mark = time.monotonic()
        try:
            image = decode_image(data, max_pixels=self.max_pixels)
        except ResultError as exc:
            raise ResultError(str(exc), run_id=run.id) from exc
        timings['decode'] = time.monotonic() - mark
        return EngineResult(
            image=image,
            engine=self.name,
            model=self.model,
            run_id=run.id,
            seed=run.seed,
            cost_usd=run.cost_usd(self.price_per_image_usd),
            raw=data,
            raw_content_type=content_type,
            details={
                'status': run.status,
                'nsfw_detected': run.nsfw_detected,
                'client_ref': run.client_ref,
            },
        )


def _fit_within(
    image: np.ndarray, max_side: int
) -> tuple[np.ndarray, dict | None]:
    """*image* resampled so its long side is at most *max_side*.

    Returns the image and, when it was resampled, what was done (for the
    provenance). Anything but a uint8 RGB plane is left for
    :func:`encode_png` to refuse.
    """
    shape = getattr(image, 'shape', ())
    if (
        not isinstance(image, np.ndarray)
        or image.dtype != np.uint8
        or len(shape) != 3
        or shape[2] != 3
        or max(shape[:2]) <= max_side
    ):
        return image, None
    rows, cols = shape[:2]
    factor = max_side / max(rows, cols)
    fitted = (
        min(max_side, max(1, round(rows * factor))),
        min(max_side, max(1, round(cols * factor))),
    )
    logger.info(
        "The plane is %dx%d, over Runflow's %d px input limit: uploading "
        'it at %dx%d.',
        rows,
        cols,
        max_side,
        *fitted,
    )
    return resample_rgb8(image, fitted), {
        'from': [rows, cols],
        'to': list(fitted),
        'max_input_side': max_side,
    }


def _run_of_item(ticket: BatchTicket) -> Run | None:
    """The run of a succeeded batch item, as the batch's items list it.

    None unless the listing gave everything a result needs (a success
    with an output URL); a failure is read from the run itself, whose
    failure fields are documented.
    """
    if ticket.item is None or ticket.run_id is None:
        return None
    try:
        run = Run.from_json({**ticket.item.body, 'id': ticket.run_id})
    except ValueError:
        return None
    if not run.succeeded or run.output_url is None:
        return None
    return run


def _run_of_client_ref(
    client: RunflowClient, client_ref: str, cancel: CancelToken
) -> str:
    """The id of the run whose client_ref is *client_ref* exactly."""
    runs = client.find_runs_by_client_ref(client_ref, cancel=cancel)
    if not runs:
        raise NotFoundError(
            404,
            code='RUN_NOT_FOUND',
            api_message=f'no run carries client_ref {client_ref}',
            hint='None was created, so nothing was billed.',
        )
    return runs[0].id


def _retain(
    host: ImageHost, hosted: HostedImage, run_id: str
) -> dict[str, str] | None:
    """Keep the input of a run that is not over; what was kept, if any."""
    if not isinstance(host, RunflowAssetHost) or not hosted.asset_id:
        return None  # another host's URL lives as long as that host says
    host.retain(hosted.asset_id)
    return {'asset_id': hosted.asset_id, 'run_id': run_id}


def _left_behind(
    host: ImageHost, hosted: HostedImage, run_id: str
) -> dict[str, str] | None:
    """The input whose delete failed after the run ended (to try again)."""
    if not isinstance(host, RunflowAssetHost) or not hosted.asset_id:
        return None
    if host.left_behind(hosted.asset_id) != NOT_DELETED:
        return None
    return {'asset_id': hosted.asset_id, 'run_id': run_id}


def _forbidden(host: ImageHost, hosted: HostedImage) -> dict | None:
    """The input the key may not delete (it stays), for the provenance."""
    if not isinstance(host, RunflowAssetHost) or not hosted.asset_id:
        return None
    if host.left_behind(hosted.asset_id) != FORBIDDEN:
        return None
    return {'asset_id': hosted.asset_id, 'reason': FORBIDDEN_REASON}


def endpoint_namespace(model: str, base_url: str) -> str:
    """*model* at *base_url*: bare for the default Runflow endpoint.

    Only the host, a non-default port and the path take part (no user
    info, which could hold a secret); the host is lower-cased.
    """
    parts = urlsplit(base_url.strip().rstrip('/'))
    host = (parts.hostname or '').lower()
    try:
        port = parts.port
    except ValueError:  # a malformed port: keep it as written
        port = parts.netloc.rpartition('@')[2].rpartition(':')[2] or None
    path = parts.path.rstrip('/')
    default = urlsplit(DEFAULT_BASE_URL)
    if port in (None, 443) and not path and host == default.hostname:
        return model
    where = f'[{host}]' if ':' in host else host
    if port not in (None, 443):
        where = f'{where}:{port}'
    return f'{model}@{where}{path}'


def _schedule(poll_interval: float | PollSchedule | None) -> PollSchedule:
    if poll_interval is None:
        return DEFAULT_POLL_SCHEDULE
    if isinstance(poll_interval, PollSchedule):
        return poll_interval
    if isinstance(poll_interval, bool) or not isinstance(
        poll_interval, int | float
    ):
        raise InvalidInputError(
            'poll_interval', 'expected seconds (a number) or a PollSchedule.'
        )
    if not 0.05 <= poll_interval <= 60:
        raise InvalidInputError(
            'poll_interval', 'must be between 0.05 and 60 seconds.'
        )
    return PollSchedule.fixed(float(poll_interval))


def _stage_of(run: Run) -> Stage:
    if run.status == RunStatus.RUNNING or run.is_terminal:
        return Stage.RUNNING
    return Stage.QUEUED


def _reporter(progress: ProgressCallback | None) -> Callable[..., None]:
    def report(
        stage: Stage,
        message: str,
        fraction: float | None = None,
        run_id: str | None = None,
    ) -> None:
        if progress is not None:
            progress(ProgressEvent(stage, message, fraction, run_id))

    return report


def _with_timings(
    result: EngineResult,
    timings: dict[str, float],
    report: Callable[..., None],
) -> EngineResult:
    report(Stage.DONE, f'Run {result.run_id} done.', 1.0, result.run_id)
    return replace(result, timings=dict(timings))
