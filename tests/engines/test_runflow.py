"""RunflowEngine against the Runflow stand-in, over real TLS on loopback."""

import contextlib
import io
import threading
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from napari_outpaint import (
    AuthenticationError,
    ConflictError,
    Expand,
    InsufficientCreditError,
    InvalidInputError,
    NotFoundError,
    OutpaintCancelled,
    PermissionDeniedError,
    RateLimitError,
    ResultError,
    RunCanceledError,
    RunFailedError,
    RunTimeoutError,
    ServiceUnavailableError,
    Stage,
    SubmissionUnknownError,
    ValidationError,
)
from napari_outpaint._cache import ResultCache
from napari_outpaint._imaging.codecs import encode_png
from napari_outpaint._pipeline import outpaint_array
from napari_outpaint._progress import CancelToken
from napari_outpaint._runflow.client import RunflowClient
from napari_outpaint._runflow.retry import PollSchedule, RetryPolicy
from napari_outpaint.engines import INPUT_LEFT
from napari_outpaint.engines.runflow import (
    HOSTED_INPUT_ATTRIBUTE,
    RunflowEngine,
)
from napari_outpaint.hosting import HostedImage
from napari_outpaint.testing import RunflowStandIn

FAST_RETRY = RetryPolicy(
    max_attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=0.3
)
FAST_POLL = PollSchedule(initial=0.02, factor=1.5, cap=0.1)
EXPAND = Expand(top=10, bottom=20, left=30, right=0)


def _engine(server, **kwargs):
    options = {'create_retry': FAST_RETRY, 'poll_retry': FAST_RETRY}
    options.update(kwargs.pop('client_options', {}))
    kwargs.setdefault('poll_interval', FAST_POLL)
    return RunflowEngine(
        server.api_key,
        base_url=server.base_url,
        verify=server.ca_path,
        client_options=options,
        **kwargs,
    )


def _image(rows=40, cols=50, seed=1):
    return np.random.default_rng(seed).integers(
        0, 256, (rows, cols, 3), dtype=np.uint8
    )


def _creates(server):
    return [
        r
        for r in server.requests
        if r.method == 'POST' and r.path.endswith('/runs')
    ]


def _polls(server):
    return [
        r
        for r in server.requests
        if r.method == 'GET' and r.path.startswith('/v1/runs/')
    ]


def _assert_input_kept_for_the_run(server, error):
    """The run may still read its input: kept, and named on *error*."""
    (asset,) = server.assets.values()
    assert asset.confirmed
    assert not asset.deleted
    assert error.hosted_input == {
        'asset_id': asset.id,
        'run_id': server.runs[0].id,
    }


def _assert_assets_deleted(server):
    assert server.assets, 'no asset was uploaded'
    assert all(asset.deleted for asset in server.assets.values())


def test_full_flow_returns_the_expanded_canvas(runflow_standin):
    """One call uploads, runs, polls, downloads and cleans up."""
    server = runflow_standin
    image = _image()
    events = []
    result = _engine(server).outpaint(image, EXPAND, progress=events.append)

    rows, cols = EXPAND.canvas_shape(40, 50)
    pad = EXPAND.padding(40, 50)
    assert result.image.shape == (rows, cols, 3)
    assert result.image.dtype == np.uint8
    np.testing.assert_array_equal(
        result.image[pad.top : pad.top + 40, pad.left : pad.left + 50], image
    )
    (run,) = server.runs
    assert result.run_id == run.id
    assert result.seed == run.seed
    assert result.cost_usd == pytest.approx(0.55)
    assert (result.engine, result.model) == ('runflow', 'runflow/outpaint')
    assert result.raw_content_type == 'image/png'
    assert result.raw.startswith(b'\x89PNG')
    assert result.details['status'] == 'succeeded'
    assert result.details['nsfw_detected'] is False
    for stage in ('publish', 'create', 'queue', 'run', 'download', 'total'):
        assert result.timings[stage] >= 0
    # what Runflow fetched is the input, losslessly, as a PNG
    assert run.fetched_content_type == 'image/png'
    fetched = np.asarray(Image.open(io.BytesIO(run.fetched_image)))
    np.testing.assert_array_equal(fetched, image)
    assert run.input['expand_top'] == 10
    assert run.input['expand_left'] == 30
    assert run.client_ref
    assert run.idempotency_key
    _assert_assets_deleted(server)
    stages = [e.stage for e in events]
    assert stages[0] == Stage.PUBLISHING
    assert stages.index(Stage.QUEUED) < stages.index(Stage.RUNNING)
    assert stages.index(Stage.RUNNING) < stages.index(Stage.DOWNLOADING)
    assert stages[-1] == Stage.DONE
    queued = next(e for e in events if e.stage == Stage.QUEUED)
    assert queued.run_id == run.id


def test_key_goes_only_to_the_api_never_to_storage(runflow_standin):
    """Bearer key on /v1/ requests; no Authorization on presigned URLs."""
    server = runflow_standin
    _engine(server).outpaint(_image(), EXPAND)
    storage = [r for r in server.requests if r.path.startswith('/storage/')]
    api = [r for r in server.requests if r.path.startswith('/v1/')]
    assert {r.method for r in storage} >= {'PUT', 'GET'}
    assert all('authorization' not in r.headers for r in storage)
    assert all(r.headers['authorization'] == 'Bearer test-key' for r in api)


def test_upscaled_webp_output_is_decoded():
    """A WebP output upscaled to a 256 px long side decodes at that size."""
    with RunflowStandIn(
        processing_delay=0.02, upscale_long_side=256, output_format='webp'
    ) as server:
        result = _engine(server).outpaint(_image(), EXPAND)
    rows, cols = EXPAND.canvas_shape(40, 50)
    assert max(result.image.shape[:2]) == 256
    assert result.image.shape[0] == round(rows * 256 / max(rows, cols))
    assert result.raw_content_type == 'image/webp'


def test_dropped_create_adopts_the_run_instead_of_paying_twice(
    runflow_standin,
):
    """A connection lost after the create finds the run by client_ref."""
    server = runflow_standin
    server.drop_connection_after_create()
    result = _engine(server).outpaint(_image(), EXPAND)
    assert len(server.runs) == 1
    assert result.run_id == server.runs[0].id
    lookups = [
        r
        for r in server.requests
        if r.path == '/v1/runs' and r.method == 'GET'
    ]
    assert len(lookups) == 1
    assert server.runs[0].client_ref in lookups[0].query
    _assert_assets_deleted(server)


def _foreign_run_without_client_ref(server):
    """A run someone else created, listed with no client_ref."""
    with httpx.Client(
        base_url=server.base_url,
        verify=server.ssl_context(),
        headers={'Authorization': f'Bearer {server.api_key}'},
    ) as http:
        png = encode_png(_image(8, 8))
        session = http.post(
            '/v1/asset-uploads',
            json={
                'filename': 'x.png',
                'mime_type': 'image/png',
                'size_bytes': len(png),
            },
        ).json()
        httpx.put(
            session['upload_url'],
            content=png,
            headers={'Content-Type': 'image/png'},
            verify=server.ssl_context(),
        )
        url = http.post(
            f'/v1/asset-uploads/{session["asset_id"]}/confirmations', json={}
        ).json()['url']
        body = {'input': {'image_url': url, **EXPAND.to_runflow_input()}}
        http.post('/v1/models/runflow/outpaint/runs', json=body)


@pytest.mark.parametrize('mode', ['ignored', 'eq-only', 'both'])
def test_a_lost_create_never_adopts_a_run_that_is_not_ours(
    runflow_standin, mode
):
    """A search the service ignores lists a stranger's run (no client_ref):
    never adopted. Whatever the search does, the request ends with one run
    of ours, paid once (same Idempotency-Key on the retry)."""
    server = runflow_standin
    _foreign_run_without_client_ref(server)
    server.set_run_search(mode)
    server.drop_connection_after_create()
    result = _engine(server).outpaint(_image(), EXPAND)
    foreign, ours = server.runs
    assert foreign.client_ref is None
    assert result.run_id == ours.id
    assert ours.client_ref
    assert len(server.runs) == 2


def test_a_create_whose_outcome_stays_unknown_names_its_client_ref(
    runflow_standin,
):
    """Every answer lost and the search refused: SubmissionUnknownError
    with the client_ref; collect('client_ref:...') fetches the one run."""
    server = runflow_standin
    server.set_run_search('refused')
    server.drop_connection_after_create(times=FAST_RETRY.max_attempts)
    engine = _engine(server)
    with pytest.raises(SubmissionUnknownError) as info:
        engine.outpaint(_image(), EXPAND)
    (run,) = server.runs
    assert info.value.client_ref == run.client_ref
    server.set_run_search('both')
    collected = engine.collect(f'client_ref:{run.client_ref}')
    assert collected.run_id == run.id
    with pytest.raises(NotFoundError, match='nothing was billed'):
        engine.collect('client_ref:napari-outpaint-never-sent')


@pytest.mark.parametrize('status', [429, 503])
def test_refused_creates_are_retried_with_the_same_keys(
    runflow_standin, status
):
    """429/503 mean no run: retried, same client_ref and Idempotency-Key."""
    server = runflow_standin
    server.reject_creates(status=status, times=2)
    result = _engine(server).outpaint(_image(), EXPAND)
    creates = _creates(server)
    assert len(creates) == 3
    assert len(server.runs) == 1
    assert result.run_id == server.runs[0].id
    assert len({r.headers['idempotency-key'] for r in creates}) == 1
    assert len({r.body for r in creates}) == 1


def test_retry_after_is_honoured_and_retries_are_bounded(runflow_standin):
    """A 429 waits Retry-After seconds; endless 429s end in RateLimitError."""
    server = runflow_standin
    server.reject_creates(status=429, times=10, retry_after=0.25)
    waits = []
    engine = _engine(server, client_options={'sleep': waits.append})
    with pytest.raises(RateLimitError) as info:
        engine.outpaint(_image(), EXPAND)
    assert len(_creates(server)) == FAST_RETRY.max_attempts
    assert waits == [0.25] * (FAST_RETRY.max_attempts - 1)
    assert info.value.retry_after == 0.25
    assert 'RATE_LIMITED' in str(info.value)
    assert not server.runs
    _assert_assets_deleted(server)


def test_a_retry_after_past_the_deadline_says_nothing_was_submitted(
    runflow_standin,
):
    """A 429 asking for an hour, with a 20 s deadline: it gives up at once
    (no hour-long or deadline-long wait) and says what is known: no run
    exists, nothing was submitted, nothing will be billed."""
    server = runflow_standin
    server.reject_creates(status=429, times=1, retry_after=3600)
    waits = []
    engine = _engine(
        server, timeout=20, client_options={'sleep': waits.append}
    )
    with pytest.raises(RateLimitError) as info:
        engine.outpaint(_image(), EXPAND)
    message = str(info.value)
    assert 'nothing was submitted' in message
    assert 'may still finish' not in message
    assert 'wait 3600 s' in message
    assert waits == []
    assert len(_creates(server)) == 1
    assert not server.runs
    _assert_assets_deleted(server)


def test_a_deadline_passed_before_any_run_says_nothing_was_submitted(
    runflow_standin,
):
    """503s until the deadline: the timeout says no run exists."""
    server = runflow_standin
    server.reject_creates(status=503, times=50)
    engine = _engine(
        server,
        timeout=0.3,
        client_options={
            'create_retry': RetryPolicy(
                max_attempts=50, base_delay=0.05, max_delay=0.05
            )
        },
    )
    with pytest.raises(RunTimeoutError) as info:
        engine.outpaint(_image(), EXPAND)
    assert info.value.run_id is None
    assert 'nothing was submitted' in str(info.value)
    assert 'may still finish' not in str(info.value)
    assert not server.runs


@pytest.mark.parametrize(
    ('status', 'cls', 'words'),
    [
        (402, InsufficientCreditError, 'Top up'),
        (403, PermissionDeniedError, 'scopes'),
        (409, ConflictError, 'new submission'),
        (422, ValidationError, 'Fix the fields'),
    ],
)
def test_create_refusals_raise_their_class(
    runflow_standin, status, cls, words
):
    """402/403/409/422 raise typed errors at once, with what to do."""
    server = runflow_standin
    server.reject_creates(status=status)
    with pytest.raises(cls) as info:
        _engine(server).outpaint(_image(), EXPAND)
    assert info.value.status_code == status
    assert words in str(info.value)
    assert len(_creates(server)) == 1
    assert not server.runs
    _assert_assets_deleted(server)


def test_wrong_key_is_an_authentication_error():
    """A key the API refuses gives AuthenticationError naming the env var."""
    with RunflowStandIn(api_key='right-key') as server:
        engine = RunflowEngine(
            'wrong-key', base_url=server.base_url, verify=server.ca_path
        )
        with pytest.raises(AuthenticationError, match='RUNFLOW_API_KEY'):
            engine.outpaint(_image(), EXPAND)
        assert not server.assets
        assert not server.runs


def test_poll_failures_are_retried(runflow_standin):
    """5xx and non-JSON poll answers are retried until the run is read."""
    server = runflow_standin
    server.fail_polls(status=503, times=1)
    server.invalid_json_polls(times=1)
    server.fail_polls(status=500, times=1)
    result = _engine(server).outpaint(_image(), EXPAND)
    assert result.run_id == server.runs[0].id
    assert len(_polls(server)) >= 4


def test_endless_poll_failures_end_naming_the_run(runflow_standin):
    """Polls failing past the bound raise an error that names the run."""
    server = runflow_standin
    server.fail_polls(status=503, times=50)
    with pytest.raises(ServiceUnavailableError) as info:
        _engine(server).outpaint(_image(), EXPAND)
    run_id = server.runs[0].id
    assert info.value.run_id == run_id
    assert run_id in str(info.value)
    assert len(_polls(server)) == FAST_RETRY.max_attempts
    _assert_input_kept_for_the_run(server, info.value)


def test_endless_invalid_json_ends_naming_the_run(runflow_standin):
    """Non-JSON poll bodies past the bound raise, naming the run."""
    server = runflow_standin
    server.invalid_json_polls(times=50)
    with pytest.raises(
        ServiceUnavailableError, match='INVALID_RESPONSE'
    ) as info:
        _engine(server).outpaint(_image(), EXPAND)
    assert len(_polls(server)) == FAST_RETRY.max_attempts
    _assert_input_kept_for_the_run(server, info.value)


def test_failed_run_raises_with_failure_fields(runflow_standin):
    """A failed run gives RunFailedError with its code and message."""
    server = runflow_standin
    server.fail_next_run('PROVIDER_ERROR', 'The GPU caught fire.')
    with pytest.raises(RunFailedError) as info:
        _engine(server).outpaint(_image(), EXPAND)
    error = info.value
    assert error.run_id == server.runs[0].id
    assert error.failure_code == 'PROVIDER_ERROR'
    assert error.failure_message == 'The GPU caught fire.'
    assert 'not billed' in str(error)
    _assert_assets_deleted(server)


def test_corrupt_output_keeps_the_run_id(runflow_standin):
    """An output that is not an image raises ResultError with the run id."""
    server = runflow_standin
    server.corrupt_next_output()
    with pytest.raises(ResultError) as info:
        _engine(server).outpaint(_image(), EXPAND)
    assert info.value.run_id == server.runs[0].id
    assert server.runs[0].id in str(info.value)
    _assert_assets_deleted(server)


def test_oversized_output_is_refused(runflow_standin):
    """A download over max_download_bytes stops with ResultError."""
    server = runflow_standin
    engine = _engine(server, max_download_bytes=1000)
    with pytest.raises(ResultError, match='larger than the limit'):
        engine.outpaint(_image(), EXPAND)


def test_slow_queue_hits_the_deadline_naming_the_run(runflow_standin):
    """A run still queued at the deadline raises RunTimeoutError with id."""
    server = runflow_standin
    server.set_delays(queue_delay=30.0)
    with pytest.raises(RunTimeoutError) as info:
        _engine(server, timeout=0.6).outpaint(_image(), EXPAND)
    run_id = server.runs[0].id
    assert info.value.run_id == run_id
    assert run_id in str(info.value)
    assert server.runs[0].status == 'queued'
    _assert_input_kept_for_the_run(server, info.value)


def test_cancel_mid_poll_stops_keeps_the_input_and_warns_of_billing(
    runflow_standin,
):
    """Cancelling while polling raises at once; the input is kept."""
    server = runflow_standin
    server.set_delays(processing_delay=30.0)
    cancel = CancelToken()
    polled = threading.Event()

    def on_progress(event):
        if event.stage == Stage.RUNNING:
            polled.set()

    def cancel_when_running():
        polled.wait(10)
        cancel.cancel()

    thread = threading.Thread(target=cancel_when_running)
    thread.start()
    engine = _engine(server, poll_interval=PollSchedule.fixed(5.0))
    try:
        with pytest.raises(OutpaintCancelled) as info:
            engine.outpaint(
                _image(), EXPAND, progress=on_progress, cancel=cancel
            )
    finally:
        thread.join(10)
    assert info.value.run_id == server.runs[0].id
    assert 'no public cancel' in str(info.value)
    assert len(_polls(server)) == 1  # the 5 s wait was cut short
    _assert_input_kept_for_the_run(server, info.value)


def test_a_stalled_download_ends_at_the_deadline_naming_the_run(
    runflow_standin,
):
    """A storage server that never answers: the run's deadline covers the
    download, and the error says the run succeeded and how to collect it
    (not a network problem)."""
    server = runflow_standin
    server.stall_downloads(seconds=60)
    started = time.monotonic()
    with pytest.raises(RunTimeoutError) as info:
        _engine(server, timeout=1.5).outpaint(_image(), EXPAND)
    elapsed = time.monotonic() - started
    run_id = server.runs[0].id
    assert info.value.downloading
    assert info.value.run_id == run_id
    assert 'succeeded' in str(info.value)
    assert f'napari-outpaint collect {run_id}' in str(info.value)
    assert 'network' not in str(info.value)
    assert elapsed < 1.5 + 1.0  # not the 30 s read timeout, nor 300 s


def test_cancel_during_a_download_stops_within_half_a_second(
    runflow_standin,
):
    """Cancel while the storage server is silent: out in under 0.5 s,
    naming the run."""
    server = runflow_standin
    stalled = server.stall_downloads(seconds=60)
    cancel = CancelToken()
    cancelled_at = []

    def cancel_while_downloading():
        if stalled.wait(10):  # the GET is out and the server is silent
            cancelled_at.append(time.monotonic())
        cancel.cancel()

    thread = threading.Thread(target=cancel_while_downloading)
    thread.start()
    try:
        with pytest.raises(OutpaintCancelled) as info:
            _engine(server).outpaint(_image(), EXPAND, cancel=cancel)
        stopped = time.monotonic()
    finally:
        thread.join(10)
    assert stopped - cancelled_at[0] < 0.5
    assert info.value.run_id == server.runs[0].id


@pytest.mark.parametrize('status', [503, 0])
def test_one_failed_download_is_retried(runflow_standin, status):
    """A 5xx or a dropped connection on the download: one more GET."""
    server = runflow_standin
    server.fail_step('download', status=status)
    result = _engine(server).outpaint(_image(), EXPAND)
    assert result.image.shape == (52, 65, 3)
    downloads = [
        r for r in server.requests if r.path.startswith('/storage/outputs/')
    ]
    assert len(downloads) == 2


def test_a_kept_input_lives_until_its_run_ends_then_is_released(
    runflow_standin,
):
    """Timed out while queued: the input stays, so the run can still read
    it and succeed; release_input deletes it only once the run is over,
    and tries again after a failed DELETE."""
    server = runflow_standin
    server.set_delays(queue_delay=1.0)
    engine = _engine(server, timeout=0.3)
    with pytest.raises(RunTimeoutError) as info:
        engine.outpaint(_image(), EXPAND)
    kept = info.value.hosted_input
    assert engine.release_input(**kept) is False  # still queued
    assert not server.assets[kept['asset_id']].deleted
    assert server.runs[0].wait_terminal(10)
    assert server.runs[0].status == 'succeeded'  # its input was there
    server.fail_asset_delete(status=500)
    assert engine.release_input(**kept) is False
    assert not server.assets[kept['asset_id']].deleted
    assert engine.release_input(**kept) is True
    assert server.assets[kept['asset_id']].deleted
    assert engine.release_input(**kept) is True  # already gone: fine


def test_an_input_the_key_may_not_delete_stays_and_is_reported(
    runflow_standin,
):
    """A key without the assets:delete scope (DELETE answers 403): the run
    succeeds, the delete is tried once and not held for retry, and the
    result names the asset that stays and the scope that is missing."""
    server = runflow_standin
    server.fail_asset_delete(status=403)
    result = _engine(server).outpaint(_image(), EXPAND)
    (asset_id,) = server.assets
    assert not server.assets[asset_id].deleted
    deletes = [r for r in server.requests if r.method == 'DELETE']
    assert len(deletes) == 1
    assert HOSTED_INPUT_ATTRIBUTE not in result.details
    left = result.details[INPUT_LEFT]
    assert left['asset_id'] == asset_id
    assert 'assets:delete' in left['reason']


def test_an_input_left_behind_is_a_warning_in_the_provenance(runflow_standin):
    """The pipeline turns it into a warning, kept in the provenance."""
    server = runflow_standin
    server.fail_asset_delete(status=403)
    with pytest.warns(UserWarning, match='assets:delete') as caught:
        result = outpaint_array(_image(), EXPAND, engine=_engine(server))
    (asset_id,) = server.assets
    assert asset_id in str(caught[0].message)
    details = result.provenance['engine_details']
    assert details[INPUT_LEFT]['asset_id'] == asset_id
    assert any(asset_id in w for w in result.provenance['warnings'])


def test_releasing_an_input_the_key_may_not_delete_stops_retrying(
    runflow_standin,
):
    """A kept input whose DELETE answers 403: release_input answers True
    (done: retrying cannot help), and the asset is not touched again."""
    server = runflow_standin
    server.set_delays(queue_delay=0.5)
    engine = _engine(server, timeout=0.2)
    with pytest.raises(RunTimeoutError) as info:
        engine.outpaint(_image(), EXPAND)
    kept = info.value.hosted_input
    assert server.runs[0].wait_terminal(10)
    server.fail_asset_delete(status=403)
    assert engine.release_input(**kept) is True
    assert not server.assets[kept['asset_id']].deleted


def _status_reads(server, run_id):
    path = f'/v1/runs/{run_id}'
    return [
        r.received_monotonic
        for r in server.requests
        if r.method == 'GET' and r.path == path
    ]


def test_the_engine_learns_when_runs_end_and_polls_densely_only_there():
    """Runs of 1.5 s: each success is learned (from the run's own
    created_at / completed_at); once two are known, a third is read
    sparsely before its window and densely inside it, so it is noticed
    within about one dense interval."""
    schedule = PollSchedule(
        initial=0.1, factor=1.5, cap=1.0, dense=0.2, max_rate=20.0
    )
    with RunflowStandIn(processing_delay=1.5) as server:
        engine = _engine(server, poll_interval=schedule)
        for _ in range(2):
            engine.outpaint(_image(), EXPAND)
        learned = engine.run_durations.values()
        assert len(learned) == 2
        assert learned == pytest.approx([1.5, 1.5], abs=0.01)
        window = engine.run_durations.window()
        result = engine.outpaint(_image(), EXPAND)
        run = server.get_run(result.run_id)
        reads = _status_reads(server, result.run_id)
    start = run.created_monotonic
    before = [t for t in reads if t < start + window[0] - 0.05]
    inside = [t for t in reads if t >= start + window[0] - 0.05]
    assert len(before) <= 6  # 0.1 s growing by 1.5: sparse
    gaps = [b - a for a, b in zip(inside, inside[1:], strict=False)]
    assert gaps  # it landed on the window's start and read again
    assert max(gaps) < 0.2 + 0.1  # the cap is 1.0
    noticed = next(t for t in reads if t >= run.completed_monotonic)
    assert noticed - run.completed_monotonic < 0.2 + 0.2
    assert result.timings['service'] == pytest.approx(
        run.completed_monotonic - start, abs=0.01
    )


def test_runs_followed_at_once_share_one_read_budget(runflow_standin):
    """Six runs in flight on one engine: their status reads together stay
    at the schedule's max_rate (each alone would poll every 0.1 s)."""
    server = runflow_standin
    server.set_delays(processing_delay=1.0)
    schedule = PollSchedule(initial=0.02, factor=1.5, cap=0.1, max_rate=8.0)
    engine = _engine(server, poll_interval=schedule)
    threads = [
        threading.Thread(target=engine.outpaint, args=(_image(), EXPAND))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(server.runs) == 6
    assert all(run.status == 'succeeded' for run in server.runs)
    reads = sorted(
        t for run in server.runs for t in _status_reads(server, run.id)[1:]
    )  # after each run's first read (sent as soon as it was created)
    span = reads[-1] - reads[0]
    assert len(reads) / span < 8.0 * 1.25


def test_cancel_before_start_sends_nothing(runflow_standin):
    """A token cancelled up front raises before any request."""
    server = runflow_standin
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(OutpaintCancelled):
        _engine(server).outpaint(_image(), EXPAND, cancel=cancel)
    assert not server.requests


def test_collect_fetches_an_earlier_run(runflow_standin):
    """collect(run_id) returns the same image as the original call."""
    server = runflow_standin
    engine = _engine(server)
    first = engine.outpaint(_image(), EXPAND)
    events = []
    again = engine.collect(first.run_id, progress=events.append)
    np.testing.assert_array_equal(again.image, first.image)
    assert again.run_id == first.run_id
    assert len(server.runs) == 1
    assert events[-1].stage == Stage.DONE


def _output_gets(server):
    return [r for r in server.requests if r.path.startswith('/storage/out')]


def test_collect_after_the_output_link_expired_reads_a_fresh_one(
    runflow_standin,
):
    """The first URL answers 403 (expired): the run is read again with
    add_signature=true and the fresh URL downloads; one run, no repay."""
    server = runflow_standin
    engine = _engine(server)
    first = engine.outpaint(_image(), EXPAND)
    server.expire_output_urls()
    again = engine.collect(first.run_id)
    np.testing.assert_array_equal(again.image, first.image)
    assert len(server.runs) == 1
    assert len(_output_gets(server)) == 3  # the first call, 403, fresh
    signed = [r for r in _polls(server) if 'add_signature=true' in r.query]
    assert len(signed) == 1


def test_a_fresh_link_refused_too_is_a_result_error_naming_the_run(
    runflow_standin,
):
    """Only one fresh read: a second 403 ends with the run id and the
    collect advice, after exactly two downloads."""
    server = runflow_standin
    server.fail_step('download', status=403, times=2)
    with pytest.raises(ResultError, match='expired') as info:
        _engine(server).outpaint(_image(), EXPAND)
    assert info.value.run_id == server.runs[0].id
    assert len(_output_gets(server)) == 2


def test_a_jpeg_output_is_decoded():
    """Outputs may come as JPEG too."""
    with RunflowStandIn(processing_delay=0.02, output_format='jpg') as server:
        result = _engine(server).outpaint(_image(), EXPAND)
    assert result.raw_content_type == 'image/jpeg'
    assert result.image.shape == (*EXPAND.canvas_shape(40, 50), 3)


def test_a_plane_over_the_input_limit_is_fitted_before_upload():
    """A service that refuses inputs over 64 px: a 100 x 80 plane is
    uploaded at 64 x 51, the run succeeds, the original is pasted back
    bit-exact on the full canvas, and the provenance says what was done."""
    image = _image(100, 80)
    with RunflowStandIn(processing_delay=0.02, max_input_side=64) as server:
        engine = _engine(server, max_input_side=64)
        with pytest.warns(UserWarning, match='input limit of 64 px'):
            result = outpaint_array(image, EXPAND, engine=engine)
        (run,) = server.runs
        assert run.status == 'succeeded'
        uploaded = Image.open(io.BytesIO(run.fetched_image))
        assert uploaded.size == (51, 64)
    pad = EXPAND.padding(100, 80)
    inner = result.data[pad.top : pad.top + 100, pad.left : pad.left + 80]
    np.testing.assert_array_equal(inner, image)
    resized = result.provenance['engine_details']['input_resized']
    assert resized == {'from': [100, 80], 'to': [64, 51], 'max_input_side': 64}


def test_the_standin_refuses_inputs_over_its_limit_like_the_service():
    """Without fitting (an engine allowing more than the service), the run
    fails INPUT_VALIDATION_FAILED at preprocess, named on the error."""
    with RunflowStandIn(processing_delay=0.02, max_input_side=64) as server:
        engine = _engine(server, max_input_side=4096)
        with pytest.raises(RunFailedError, match='exceed 64x64') as info:
            engine.outpaint(_image(100, 80), EXPAND)
    assert info.value.failure_code == 'INPUT_VALIDATION_FAILED'


@pytest.mark.parametrize('bad', [0, 7, 12.5, True, '4096'])
def test_max_input_side_is_validated(runflow_standin, bad):
    with pytest.raises(InvalidInputError, match='max_input_side'):
        _engine(runflow_standin, max_input_side=bad)


def test_collect_unknown_run_is_not_found(runflow_standin):
    """collect on an unknown id raises NotFoundError naming it."""
    with pytest.raises(NotFoundError, match='no-such-run'):
        _engine(runflow_standin).collect('no-such-run')


@pytest.mark.parametrize(
    ('image', 'expand', 'field'),
    [
        (np.zeros((10, 10), np.uint8), EXPAND, 'image'),
        (np.zeros((10, 10, 3), np.float32), EXPAND, 'image'),
        (np.zeros((10, 10, 3), np.uint8), {'top': 10}, 'expand'),
    ],
)
def test_bad_input_fails_before_any_request(
    runflow_standin, image, expand, field
):
    """A wrong image or expand raises InvalidInputError, nothing is sent."""
    server = runflow_standin
    with pytest.raises(InvalidInputError, match=field):
        _engine(server).outpaint(image, expand)
    with pytest.raises(InvalidInputError, match='run_id'):
        _engine(server).collect('  ')
    assert not server.requests


def test_service_validation_names_the_field(runflow_standin):
    """The stand-in's strict 422 becomes a ValidationError naming fields."""
    server = runflow_standin
    with (
        RunflowClient(
            server.api_key, base_url=server.base_url, verify=server.ca_path
        ) as client,
        pytest.raises(ValidationError) as info,
    ):
        client.create_run(
            'runflow/outpaint',
            {'image_url': 'https://example.test/a.png', 'expand_top': 95},
        )
    assert info.value.status_code == 422
    assert info.value.errors
    assert 'expand_top' in str(info.value)
    assert not server.runs


class FixedHost:
    """An ImageHost that publishes nothing and records its lifetime."""

    name = 'fixed'

    def __init__(self):
        self.open = False

    @contextlib.contextmanager
    def publish(self, data, content_type, *, filename='input.png'):
        self.open = True
        try:
            yield HostedImage(url='https://images.example/input.png')
        finally:
            self.open = False


def _scripted_engine(final, host):
    """An engine whose API answers: create -> final run; output a PNG."""
    png = encode_png(np.full((6, 8, 3), 9, np.uint8))
    seen = []

    def handler(request):
        seen.append(request)
        if request.method == 'POST':
            return httpx.Response(201, json={'id': 'r1', 'status': 'queued'})
        if request.url.path == '/v1/runs/r1':
            return httpx.Response(200, json={'id': 'r1', **final})
        return httpx.Response(200, content=png, headers={'X': 'y'})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    engine = RunflowEngine(
        'key',
        base_url='https://api.example.test',
        host=host,
        http_client=http,
        poll_interval=FAST_POLL,
    )
    return engine, seen


@pytest.mark.parametrize('status', ['canceled', 'cancelled', 'errored'])
def test_other_terminal_failures_raise_run_failed(status):
    """canceled/cancelled/errored runs raise RunFailedError with status."""
    host = FixedHost()
    engine, _ = _scripted_engine(
        {'status_code': status, 'error': {'message': 'stopped by admin'}},
        host,
    )
    with pytest.raises(RunFailedError, match='stopped by admin') as info:
        engine.outpaint(_image(), EXPAND)
    assert info.value.status == status
    assert not host.open


def test_partial_success_with_output_is_a_result_via_fallback_url():
    """partial_succeeded with an image_urls output is downloaded."""
    host = FixedHost()
    engine, seen = _scripted_engine(
        {
            'status_code': 'partial_succeeded',
            'output': {'image_urls': ['https://cdn.example/o.png?sig=1']},
        },
        host,
    )
    result = engine.outpaint(_image(), EXPAND)
    assert result.image.shape == (6, 8, 3)
    assert result.cost_usd == pytest.approx(0.55)
    download = seen[-1]
    assert download.url.host == 'cdn.example'
    assert 'authorization' not in download.headers
    assert not host.open


def test_keyboard_interrupt_mid_run_keeps_the_input_for_the_run(
    runflow_standin,
):
    """Ctrl-C while the run is running propagates; the input is kept."""
    server = runflow_standin

    def interrupt(event):
        if event.stage == Stage.RUNNING:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        _engine(server).outpaint(_image(), EXPAND, progress=interrupt)
    assert len(server.runs) == 1
    _assert_input_kept_for_the_run(server, info.value)


def _uploads(server):
    return [r for r in server.requests if r.method == 'PUT']


def _deletes(server):
    return [r for r in server.requests if r.method == 'DELETE']


def test_dispatching_is_not_terminal():
    """A run seen ``dispatching`` is polled on until it succeeds."""
    with RunflowStandIn(processing_delay=0.05, dispatch_delay=0.3) as server:
        result = _engine(server).outpaint(_image(), EXPAND)
        (run,) = server.runs
        dispatching = [
            r
            for r in _polls(server)
            if run.created_monotonic + run.queue_delay
            < r.received_monotonic
            <= run.started_monotonic
        ]
    assert dispatching, 'no poll saw the run dispatching'
    assert result.run_id == run.id
    assert result.details['status'] == 'succeeded'
    assert len(_creates(server)) == 1
    assert len(_uploads(server)) == 1
    _assert_assets_deleted(server)


@pytest.mark.parametrize('spelling', ['canceled', 'cancelled'])
def test_canceled_run_is_a_typed_error_nothing_cached(
    runflow_standin, spelling
):
    """canceled/cancelled: RunCanceledError naming the run, asset deleted,
    nothing cached, the journal resolved, one run paid for at most."""
    server = runflow_standin
    server.cancel_next_run(spelling)
    with pytest.raises(RunCanceledError) as info:
        outpaint_array(_image(), EXPAND, engine=_engine(server))
    (run,) = server.runs
    error = info.value
    assert isinstance(error, RunFailedError)
    assert (error.run_id, error.status) == (run.id, spelling)
    assert run.id in str(error)
    assert 'canceled by Runflow' in str(error)
    assert run.fetched_image is None
    assert len(_creates(server)) == 1
    assert len(_uploads(server)) == 1
    assert len(_deletes(server)) == 1
    _assert_assets_deleted(server)
    cache = ResultCache()
    assert cache.entries() == []
    assert cache.pending() == []


def test_partial_success_with_output_is_a_result(runflow_standin):
    """partial_succeeded with an output URL is downloaded and cached."""
    server = runflow_standin
    server.partially_succeed_next_run(with_output=True)
    result = outpaint_array(_image(), EXPAND, engine=_engine(server))
    (run,) = server.runs
    assert run.status == 'partial_succeeded'
    assert result.provenance['run_id'] == run.id
    assert len(ResultCache().entries()) == 1
    assert len(_uploads(server)) == 1
    _assert_assets_deleted(server)


def test_partial_success_without_output_is_a_failure(runflow_standin):
    """partial_succeeded without an output raises and caches nothing."""
    server = runflow_standin
    server.partially_succeed_next_run(with_output=False)
    with pytest.raises(RunFailedError) as info:
        _engine(server).outpaint(_image(), EXPAND)
    assert not isinstance(info.value, RunCanceledError)
    assert info.value.status == 'partial_succeeded'
    assert info.value.run_id == server.runs[0].id
    assert not [r for r in server.requests if '/storage/outputs/' in r.path]
    _assert_assets_deleted(server)
