"""The local engine on a Dask cluster: where the fills ran, as the cluster
records it; the same pixels; progress, cancel, a lost worker; bad clients.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import dask
import distributed
import numpy as np
import pytest

from dask_cluster import (
    executed_plane_tasks,
    new_cluster,
    new_plane_tasks,
    scheduler_story,
)
from napari_outpaint._errors import (
    InvalidInputError,
    OutpaintCancelled,
    ResultError,
)
from napari_outpaint._expand import Expand
from napari_outpaint._progress import CancelToken, Stage
from napari_outpaint.engines import _cluster, connect_scheduler, resolve_engine
from napari_outpaint.engines._cluster import TASK_PREFIX, active_client
from napari_outpaint.engines.local import LocalEngine
from napari_outpaint.engines.runflow import RunflowEngine

SMALL = Expand(top=25, bottom=25, left=25, right=25)
WAIT = 60.0  # seconds: a bound, never a sleep


def texture(size: int, seed: int = 0) -> np.ndarray:
    """A blocky random RGB texture (PatchMatch has structure to copy)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (size // 4 + 1, size // 4 + 1, 3))
    image = np.repeat(np.repeat(blocks, 4, 0), 4, 1)[:size, :size]
    return np.ascontiguousarray(image.astype(np.uint8))


def test_a_plane_runs_on_a_cluster_worker_with_the_same_pixels(dask_client):
    """The fill is a task one of the cluster's workers computed (its own
    log says so), and gives the pixels the local processes give."""
    image = texture(64)
    events = []
    before = executed_plane_tasks(dask_client)
    here = LocalEngine(seed=3).outpaint(image, SMALL)
    there = LocalEngine(seed=3, client=dask_client).outpaint(
        image, SMALL, progress=events.append
    )
    np.testing.assert_array_equal(there.image, here.image)
    ran = new_plane_tasks(dask_client, before)
    assert len(ran) == 1
    worker, key = ran[0]
    assert worker in dask_client.scheduler_info()['workers']
    assert there.details['cluster'] == {
        'scheduler': dask_client.scheduler.address,
        'worker': worker,
    }
    story = scheduler_story(dask_client, key)
    assert (key, 'processing', 'memory') in story
    messages = [e.message for e in events if e.stage is Stage.RUNNING]
    assert messages[0] == 'sent to the Dask cluster'
    assert 'PatchMatch at full resolution' in messages  # from the worker
    assert events[-1].stage is Stage.DONE


def test_a_fast_fill_in_two_parts_matches_the_local_processes(dask_client):
    """A border big enough for the coarse-to-fine fill in two processes
    here gives the same pixels as one task filling both parts."""
    image = texture(420, seed=1)
    expand = Expand(top=30, bottom=30, left=30, right=30)
    here = LocalEngine().outpaint(image, expand)
    assert here.details['scale'] == 2
    there = LocalEngine(client=dask_client).outpaint(image, expand)
    assert there.details['workers'] == 0  # in the worker's own thread
    np.testing.assert_array_equal(there.image, here.image)


def test_an_active_client_is_used_without_client(dask_cluster):
    """The client active in this process takes the fills; once it is
    closed, the local processes do again."""
    engine = LocalEngine()
    with distributed.Client(dask_cluster) as client:
        assert active_client() is client
        result = engine.outpaint(texture(48), SMALL)
        assert result.details['cluster']['scheduler'] == (
            client.scheduler.address
        )
        assert engine.planes_in_flight() == 2  # the cluster's threads
    assert active_client() is None
    assert 'cluster' not in engine.outpaint(texture(48), SMALL).details
    assert engine.planes_in_flight() is None


def test_reflection_padding_stays_here(dask_client):
    """Reflection is instant: it never goes to the cluster."""
    before = executed_plane_tasks(dask_client)
    result = LocalEngine('reflect', client=dask_client).outpaint(
        texture(32), SMALL
    )
    assert 'cluster' not in result.details
    assert new_plane_tasks(dask_client, before) == []


def test_cancel_cancels_a_task_that_has_not_started(dask_client):
    """With every worker thread busy, the plane's task waits; a cancel
    cancels it, and no worker ever runs it (their logs say so)."""
    before = executed_plane_tasks(dask_client)
    release = distributed.Event('napari-outpaint-test-release', dask_client)
    busy = [
        dask_client.submit(release.wait, key=f'busy-{n}', pure=False)
        for n in range(2)
    ]
    cancel = CancelToken()
    sent = threading.Event()
    outcome: dict = {}

    def progress(event):
        if event.message == 'sent to the Dask cluster':
            sent.set()

    def run():
        try:
            LocalEngine(client=dask_client).outpaint(
                texture(64), SMALL, progress=progress, cancel=cancel
            )
        except BaseException as exc:  # noqa: BLE001 - checked below
            outcome['error'] = exc

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert sent.wait(WAIT)
        cancel.cancel()
        thread.join(WAIT)
        assert not thread.is_alive()
        assert isinstance(outcome.get('error'), OutpaintCancelled)
    finally:
        release.set()
        for future in busy:
            future.result(timeout=WAIT)
    assert new_plane_tasks(dask_client, before) == []


def test_a_lost_worker_plane_is_run_again_by_the_scheduler():
    """A worker killed while it fills a plane: the scheduler gives the
    task to the other worker, and the plane still comes back, the same."""
    image = texture(300, seed=2)
    expand = Expand(top=40, bottom=40, left=40, right=40)
    here = LocalEngine(scale=1).outpaint(image, expand)
    with (
        new_cluster() as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        pids = client.run(os.getpid)
        started = threading.Event()
        outcome: dict = {}

        def progress(event):
            if event.message == 'PatchMatch at full resolution':
                started.set()  # sent by the worker, from inside the task

        def run():
            outcome['result'] = LocalEngine(scale=1, client=client).outpaint(
                image, expand, progress=progress
            )

        thread = threading.Thread(target=run)
        thread.start()
        assert started.wait(WAIT)
        processing = {w: ks for w, ks in client.processing().items() if ks}
        [(victim, keys)] = processing.items()
        [key] = keys
        assert key.startswith(TASK_PREFIX)
        os.kill(pids[victim], signal.SIGKILL)
        thread.join(WAIT)
        assert not thread.is_alive()
        result = outcome['result']
        assert result.details['cluster']['worker'] != victim
        story = scheduler_story(client, key)
        assert [s for s in story if s[2] == 'processing'][1:]  # given twice
        np.testing.assert_array_equal(result.image, here.image)


def test_bad_clients_are_refused_naming_client(dask_cluster):
    """Not a client, a closed client, or a client with Runflow."""
    with pytest.raises(InvalidInputError, match='^client: expected a dist'):
        LocalEngine(client='tcp://127.0.0.1:8786')
    closed = distributed.Client(dask_cluster, set_as_default=False)
    closed.close()
    with pytest.raises(InvalidInputError, match='^client: .* closed'):
        LocalEngine(client=closed)
    with distributed.Client(dask_cluster, set_as_default=False) as client:
        with pytest.raises(InvalidInputError, match="^client: .*'runflow'"):
            resolve_engine('runflow', client=client)
        runflow = RunflowEngine(api_key='k', base_url='https://127.0.0.1:1')
        with pytest.raises(InvalidInputError, match='^client: .*Runflow'):
            resolve_engine(runflow, client=client)
        assert resolve_engine(None, client=client).client is client
        engine = LocalEngine(seed=5)
        on = resolve_engine(engine, client=client)
        assert (on.client, on.seed, engine.client) == (client, 5, None)
        other = distributed.Client(dask_cluster, set_as_default=False)
        try:
            with pytest.raises(InvalidInputError, match='not both'):
                on.with_client(other)
        finally:
            other.close()


def test_a_scheduler_that_does_not_answer_is_named():
    """A malformed address, and one where nothing listens."""
    with pytest.raises(InvalidInputError, match='^scheduler: no Dask sch'):
        connect_scheduler('not an address')
    with (
        dask.config.set({'distributed.comm.timeouts.connect': '1s'}),
        pytest.raises(InvalidInputError, match="^client: .*127.0.0.1:9'"),
    ):
        connect_scheduler('tcp://127.0.0.1:9', field='client')


def test_the_local_engine_never_imports_distributed_itself():
    """Without a client, a local fill leaves ``distributed`` unloaded."""
    code = (
        'import sys, numpy as np\n'
        'from napari_outpaint import Expand\n'
        'from napari_outpaint.engines import LocalEngine\n'
        'image = np.zeros((16, 16, 3), np.uint8)\n'
        'LocalEngine().outpaint(image, Expand(top=50))\n'
        "print('distributed' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
        timeout=WAIT,
    )
    assert done.stdout.strip() == 'False'


def test_a_task_that_failed_or_was_cancelled_elsewhere_is_said(dask_client):
    """A worker's exception and a cancel by someone else become a
    ResultError that says what happened (retries spent first)."""
    failed = dask_client.submit(int, 'x', pure=False, retries=1)
    with pytest.raises(ResultError, match=r'failed on a Dask worker \(Val'):
        _cluster._outcome(failed)
    release = distributed.Event('napari-outpaint-test-other', dask_client)
    blocked = dask_client.submit(release.wait, pure=False)
    blocked.cancel()
    try:
        with pytest.raises(ResultError, match='cancelled on the Dask clu'):
            _cluster._outcome(blocked)
    finally:
        release.set()
