"""outpaint_layer / outpaint_layers with a Dask client: the planes are
tasks on the cluster's workers (their own task logs say so), the result
is the one the local processes give, progress arrives, cancel stops the
tasks not started.
"""

import threading

import distributed
import numpy as np
import pytest
from napari.layers import Image

from dask_cluster import (
    executed_plane_tasks,
    new_plane_tasks,
)
from napari_outpaint._errors import OutpaintCancelled
from napari_outpaint._expand import Expand
from napari_outpaint._layers.channels import outpaint_layers
from napari_outpaint._layers.outpaint import outpaint_layer
from napari_outpaint._progress import CancelToken

EXPAND = Expand(top=25, bottom=0, left=25, right=25)
WAIT = 60.0  # seconds: a bound, never a sleep


@pytest.fixture
def stack():
    """Four 48 x 48 uint16 planes with blocky structure."""
    rng = np.random.default_rng(11)
    blocks = rng.integers(0, 4000, (4, 13, 13), dtype=np.uint16)
    return np.ascontiguousarray(
        np.repeat(np.repeat(blocks, 4, 1), 4, 2)[:, :48, :48]
    )


def test_a_layer_batch_runs_its_planes_on_the_cluster(stack, dask_client):
    """client=: one task per plane on the cluster's workers, results in
    plane order equal to the local processes', progress per plane."""
    layer = Image(stack, name='cells', scale=(1, 0.5, 0.5))
    before = executed_plane_tasks(dask_client)
    events = []
    result = outpaint_layer(
        layer,
        EXPAND,
        planes='all',
        client=dask_client,
        batch_progress=events.append,
    )
    tasks = new_plane_tasks(dask_client, before)
    assert len(tasks) == 4
    assert {w for w, _ in tasks} <= set(
        dask_client.scheduler_info()['workers']
    )
    here = outpaint_layer(layer, EXPAND, planes='all', engine='local')
    np.testing.assert_array_equal(result.data, here.data)
    sent = {
        e.plane
        for e in events
        if e.event and e.event.message == 'sent to the Dask cluster'
    }
    assert sent == {(0,), (1,), (2,), (3,)}
    assert events[-1].finished == 4


def test_an_active_client_takes_the_batch(stack, dask_cluster):
    """A client made as the default in this process is used without
    client=; the engine name is all it takes."""
    layer = Image(stack)
    with distributed.Client(dask_cluster) as client:
        before = executed_plane_tasks(client)
        outpaint_layer(layer, EXPAND, planes=[0, 2], engine='local')
        assert len(new_plane_tasks(client, before)) == 2


def test_channel_layers_go_to_the_cluster_as_one_task(stack, dask_client):
    """outpaint_layers(client=): three channels, one task."""
    layers = [Image(stack[k], name=f'c{k}') for k in range(3)]
    before = executed_plane_tasks(dask_client)
    out = outpaint_layers(layers, EXPAND, client=dask_client)
    assert len(out) == 3
    assert len(new_plane_tasks(dask_client, before)) == 1


def test_cancel_stops_the_planes_not_started(stack, dask_client):
    """Every worker thread busy: the batch's plane tasks wait on the
    scheduler; a cancel cancels them all and no worker ever runs one."""
    layer = Image(stack)
    before = executed_plane_tasks(dask_client)
    release = distributed.Event('napari-outpaint-layer-release', dask_client)
    busy = [
        dask_client.submit(release.wait, key=f'layer-busy-{n}', pure=False)
        for n in range(2)
    ]
    cancel = CancelToken()
    lock = threading.Lock()
    sent: set = set()
    all_sent = threading.Event()
    outcome: dict = {}

    def progress(report):
        if report.event and report.event.message.startswith('sent to'):
            with lock:
                sent.add(report.plane)
                if len(sent) == 4:
                    all_sent.set()

    def run():
        try:
            outpaint_layer(
                layer,
                EXPAND,
                planes='all',
                client=dask_client,
                batch_progress=progress,
                cancel=cancel,
            )
        except BaseException as exc:  # noqa: BLE001 - checked below
            outcome['error'] = exc

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert all_sent.wait(WAIT)  # 4 planes in flight: 4 >= 2 threads
        cancel.cancel()
        thread.join(WAIT)
        assert not thread.is_alive()
        assert isinstance(outcome.get('error'), OutpaintCancelled)
    finally:
        release.set()
        for future in busy:
            future.result(timeout=WAIT)
    assert new_plane_tasks(dask_client, before) == []
