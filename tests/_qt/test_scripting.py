"""submit_outpaint_layer and outpaint_layer_async: a run off the GUI thread."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import CancelledError

import numpy as np
import pytest
from napari.layers import Image
from qtpy.QtCore import QTimer

from fakes import FakeEngine
from napari_outpaint._errors import InsufficientCreditError, OutpaintCancelled
from napari_outpaint._expand import Expand
from napari_outpaint._layers import outpaint_layer
from napari_outpaint._progress import Stage
from napari_outpaint._qt.scripting import (
    MAX_RUNNING,
    THREAD_NAME,
    outpaint_layer_async,
    submit_outpaint_layer,
)
from napari_outpaint.engines.local import LocalEngine
from napari_outpaint.engines.runflow import RunflowEngine

EXPAND = Expand(top=8, bottom=0, left=10, right=4)
WAIT = 15  # seconds: an upper bound, never a sleep


class HeldEngine(FakeEngine):
    """A fake engine whose runs wait until released or cancelled.

    Runs end after ``WAIT`` seconds at the latest; ``held_engine`` below
    releases them at teardown, so a failing test leaves no worker behind.
    """

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Semaphore(0)
        self.release = threading.Event()
        self.saw_cancel = threading.Event()

    def outpaint(self, image, expand, *, progress=None, cancel=None):
        """Wait for release (or cancel), then reflect-fill."""
        self.started.release()
        deadline = time.monotonic() + WAIT
        while not self.release.is_set() and time.monotonic() < deadline:
            if cancel.wait(0.01):
                self.saw_cancel.set()
                cancel.raise_if_cancelled()
        return super().outpaint(
            image, expand, progress=progress, cancel=cancel
        )


@pytest.fixture
def held_engine(no_worker_left):
    """A HeldEngine, released after the test (before the thread check)."""
    engine = HeldEngine()
    yield engine
    engine.release.set()


@pytest.fixture
def layer():
    """A small textured uint16 layer, placed off the origin."""
    data = np.random.default_rng(3).integers(0, 4000, (24, 32), np.uint16)
    return Image(data, name='cells', scale=(0.5, 2.0), translate=(3, -1))


@pytest.fixture
def standin_engine(runflow_standin):
    """A RunflowEngine talking to the stand-in."""
    return RunflowEngine(
        base_url=runflow_standin.base_url,
        api_key='test-key',
        verify=runflow_standin.ca_path,
    )


@pytest.fixture
def no_worker_left():
    """After the test, every worker thread has ended."""
    yield
    assert_no_worker_left()


def assert_no_worker_left() -> None:
    """Every background worker thread ends within a few seconds."""
    workers = [
        thread
        for thread in threading.enumerate()
        if thread.name.startswith(THREAD_NAME)
    ]
    for thread in workers:
        thread.join(timeout=WAIT)
    assert not [thread for thread in workers if thread.is_alive()]


def assert_same_layer(new, expected) -> None:
    """Same pixels, placement and name."""
    assert new.name == expected.name
    np.testing.assert_array_equal(new.data, expected.data)
    np.testing.assert_allclose(new.scale, expected.scale)
    np.testing.assert_allclose(new.translate, expected.translate)
    assert (
        new.metadata['outpaint']['engine']
        == (expected.metadata['outpaint']['engine'])
    )


@pytest.mark.parametrize('where', ['local', 'standin'])
def test_future_resolves_to_the_blocking_result(
    layer, where, request, no_worker_left
):
    """The future's layer equals the blocking call's; progress arrives
    from the worker thread."""
    engine = (
        LocalEngine(method='reflect')
        if where == 'local'
        else request.getfixturevalue('standin_engine')
    )
    events, threads = [], set()

    def progress(event):
        events.append(event)
        threads.add(threading.current_thread().name)

    future = submit_outpaint_layer(
        layer, EXPAND, engine=engine, progress=progress
    )
    new = future.result(timeout=WAIT)
    assert_same_layer(new, outpaint_layer(layer, EXPAND, engine=engine))
    assert events
    assert events[-1].stage == Stage.DONE
    assert threads
    assert all(name.startswith(THREAD_NAME) for name in threads)


def test_errors_come_back_through_the_future(
    layer, standin_engine, runflow_standin, no_worker_left
):
    """What outpaint_layer raises, result() raises."""
    runflow_standin.reject_creates(status=402, times=10)
    future = submit_outpaint_layer(layer, EXPAND, engine=standin_engine)
    with pytest.raises(InsufficientCreditError, match='Top up'):
        future.result(timeout=WAIT)


def test_cancel_a_queued_standin_run_stops_it_fast(
    layer, standin_engine, runflow_standin, no_worker_left
):
    """A run held in the service's queue stops within 0.5 s of cancel()."""
    runflow_standin.set_delays(queue_delay=60)
    queued = threading.Event()

    def progress(event):
        if event.stage == Stage.QUEUED:
            queued.set()

    future = submit_outpaint_layer(
        layer, EXPAND, engine=standin_engine, progress=progress
    )
    try:
        assert queued.wait(WAIT)
        assert future.cancel() is False  # running: the token stops it
        with pytest.raises(OutpaintCancelled):
            future.result(timeout=0.5)
    finally:
        future.cancel_token.cancel()  # a failed test leaves no run behind


def test_cancel_before_start_never_runs(layer, held_engine, no_worker_left):
    """A run waiting for a worker is cancelled before it starts."""
    engine = held_engine
    running = [
        submit_outpaint_layer(layer, EXPAND, engine=engine)
        for _ in range(MAX_RUNNING)
    ]
    for _ in running:
        assert engine.started.acquire(timeout=WAIT)
    waiting = submit_outpaint_layer(layer, EXPAND, engine=engine)
    assert waiting.cancel() is True
    engine.release.set()
    for future in running:
        assert future.result(timeout=WAIT).data.shape == (
            EXPAND.canvas_shape(*layer.data.shape)
        )
    with pytest.raises(CancelledError):
        waiting.result(timeout=0)
    assert len(engine.calls) == MAX_RUNNING


def test_awaitable_in_a_plain_asyncio_loop(layer, no_worker_left):
    """await outpaint_layer_async(...) gives the blocking call's layer."""
    engine = LocalEngine(method='reflect')

    async def main():
        return await outpaint_layer_async(layer, EXPAND, engine=engine)

    new = asyncio.run(main())
    assert_same_layer(new, outpaint_layer(layer, EXPAND, engine=engine))


def test_cancelling_the_awaiting_task_stops_the_run(
    layer, held_engine, no_worker_left
):
    """task.cancel() reaches the run's CancelToken."""
    engine = held_engine

    async def main():
        task = asyncio.create_task(
            outpaint_layer_async(layer, EXPAND, engine=engine)
        )
        assert await asyncio.to_thread(engine.started.acquire, timeout=WAIT)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert engine.saw_cancel.wait(WAIT)
    assert not engine.calls


def test_viewer_gets_the_layer_on_the_gui_thread(
    make_napari_viewer, qtbot, layer, held_engine, no_worker_left
):
    """viewer= adds the layer on the main thread; the event loop keeps
    running while the run goes on."""
    viewer = make_napari_viewer()
    viewer.add_layer(layer)
    added_on = []
    viewer.layers.events.inserted.connect(
        lambda event: added_on.append(threading.current_thread())
    )
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    engine = held_engine
    future = submit_outpaint_layer(layer, EXPAND, engine=engine, viewer=viewer)
    assert engine.started.acquire(timeout=WAIT)
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=WAIT * 1000)
    assert not future.done()
    engine.release.set()
    qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=WAIT * 1000)
    timer.stop()
    assert added_on == [threading.main_thread()]
    assert viewer.layers[1] is future.result(timeout=0)
    assert viewer.layers[1].name == 'cells [outpainted]'


def test_the_plane_shown_at_submit_is_the_one_outpainted(
    make_napari_viewer, layer, held_engine
):
    """A queued run outpaints the plane shown when it was submitted."""
    viewer = make_napari_viewer()
    stack = viewer.add_image(np.stack([layer.data, layer.data[::-1]]))
    viewer.dims.set_current_step(0, 1)
    busy = [
        submit_outpaint_layer(layer, EXPAND, engine=held_engine)
        for _ in range(MAX_RUNNING)
    ]
    future = submit_outpaint_layer(
        stack, EXPAND, engine=LocalEngine(method='reflect')
    )
    viewer.dims.set_current_step(0, 0)
    held_engine.release.set()
    for each in busy:
        each.result(timeout=WAIT)
    new = future.result(timeout=WAIT)
    assert new.metadata['outpaint']['plane'] == [1]
