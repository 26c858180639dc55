"""The local engine's contract: canvas, untouched original, seed, cancel."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import psutil
import pytest

from napari_outpaint._errors import InvalidInputError, OutpaintCancelled
from napari_outpaint._expand import Expand, Padding
from napari_outpaint._progress import CancelToken, Stage
from napari_outpaint.engines import Engine, _pm_runner
from napari_outpaint.engines import local as local_module
from napari_outpaint.engines._pm_runner import FillJob, PatchMatchRunner
from napari_outpaint.engines._reflect_fill import reflect_fill
from napari_outpaint.engines.local import LocalEngine


def fractal_rgb(size: int, seed: int) -> np.ndarray:
    """A procedural RGB texture: 1/f noise per channel plus a gradient."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1.0
    channels = []
    for _ in range(3):
        spectrum = rng.normal(size=radius.shape) + 1j * rng.normal(
            size=radius.shape
        )
        noise = np.fft.irfft2(spectrum / radius**1.1, s=(size, size))
        channels.append((noise - noise.min()) / np.ptp(noise))
    ramp = np.linspace(0, 0.3, size)[:, None]
    image = 0.7 * np.stack(channels, axis=-1) + ramp[..., None]
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def original_region(image, expand):
    """Where *image* sits in the canvas of *expand*."""
    pad = expand.padding(*image.shape[:2])
    return (
        slice(pad.top, pad.top + image.shape[0]),
        slice(pad.left, pad.left + image.shape[1]),
    )


EXPANDS = [
    Expand(top=10, bottom=0, left=0, right=0),
    Expand(top=0, bottom=25, left=80, right=0),
    Expand(top=80, bottom=80, left=80, right=80),
    Expand(top=3, bottom=41, left=17, right=1),
]


@pytest.mark.parametrize('expand', EXPANDS, ids=repr)
@pytest.mark.parametrize('method', ['reflect', 'patchmatch'])
def test_canvas_exact_original_untouched_border_filled(method, expand):
    """The canvas has the padding rule's size, the original is bit-identical
    and the new border holds image-like content, not the blank canvas."""
    image = fractal_rgb(128, seed=1)
    engine = LocalEngine(method, scale=1, workers=0)
    result = engine.outpaint(image, expand)
    assert result.image.shape == (*expand.canvas_shape(128, 128), 3)
    assert result.image.dtype == np.uint8
    inner = original_region(image, expand)
    assert np.array_equal(result.image[inner], image)
    border = np.ones(result.image.shape[:2], bool)
    border[inner] = False
    filled = result.image[border]
    pixels = image.reshape(-1, 3)
    in_range = (filled >= pixels.min(0)) & (filled <= pixels.max(0))
    assert in_range.all(axis=1).mean() > 0.99  # the image's colours
    assert filled.astype(float).std() > 10  # textured, not a flat colour
    assert (result.engine, result.model) == ('local', method)
    assert result.cost_usd == 0.0


def test_fast_path_in_worker_processes_is_exact_and_deterministic():
    """The coarse-to-fine fill on two worker processes keeps the contract
    and gives byte-identical canvases for the same seed."""
    image = fractal_rgb(160, seed=2)
    expand = Expand(top=30, bottom=10, left=0, right=50)
    engine = LocalEngine(seed=7, scale=2, workers=2)
    first = engine.outpaint(image, expand)
    second = engine.outpaint(image, expand)
    assert first.details['scale'] == 2
    assert first.details['workers'] == 2
    assert first.image.shape == (*expand.canvas_shape(160, 160), 3)
    assert np.array_equal(first.image[original_region(image, expand)], image)
    assert np.array_equal(first.image, second.image)
    assert first.seed == 7


def test_same_seed_same_bytes_other_seed_other_fill():
    """PatchMatch output depends only on the input and the seed."""
    image = fractal_rgb(128, seed=3)
    expand = Expand(top=20, bottom=20, left=20, right=20)
    one = LocalEngine(seed=1, scale=1, workers=0).outpaint(image, expand)
    again = LocalEngine(seed=1, scale=1, workers=0).outpaint(image, expand)
    other = LocalEngine(seed=2, scale=1, workers=0).outpaint(image, expand)
    assert np.array_equal(one.image, again.image)
    assert not np.array_equal(one.image, other.image)
    assert (one.seed, other.seed) == (1, 2)


def test_progress_stages_in_order_with_fractions():
    """Progress goes PREPARING, RUNNING (rising fractions), FINISHING,
    DONE."""
    events = []
    LocalEngine(scale=2, workers=0).outpaint(
        fractal_rgb(128, seed=4),
        Expand(top=30, bottom=30, left=30, right=30),
        progress=events.append,
    )
    stages = [event.stage for event in events]
    assert stages[0] is Stage.PREPARING
    assert stages[-2:] == [Stage.FINISHING, Stage.DONE]
    assert set(stages[1:-2]) == {Stage.RUNNING}
    assert len(stages) >= 5
    fractions = [event.fraction for event in events]
    assert fractions == sorted(fractions)
    assert fractions[0] >= 0.0
    assert fractions[-1] == 1.0


@pytest.mark.parametrize(
    ('workers', 'size'), [(1, 256), (0, 192)], ids=['process', 'in-process']
)
def test_cancel_during_a_long_fill_stops_within_a_second(workers, size):
    """Cancelling from another thread while PatchMatch runs raises
    OutpaintCancelled well within a second, in a worker or in-process."""
    image = fractal_rgb(size, seed=5)
    expand = Expand(top=80, bottom=80, left=80, right=80)  # 4-7 s of work
    engine = LocalEngine(scale=1, workers=workers)
    token = CancelToken()
    running = threading.Event()
    ended = threading.Event()
    outcome = {}

    def on_progress(event):
        if event.stage is Stage.RUNNING:
            running.set()

    def work():
        try:
            engine.outpaint(image, expand, progress=on_progress, cancel=token)
            outcome['error'] = None
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome['error'] = exc
        finally:
            outcome['ended'] = time.perf_counter()
            ended.set()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    assert running.wait(30)
    cancelled_at = time.perf_counter()
    token.cancel()
    assert ended.wait(10)
    assert isinstance(outcome['error'], OutpaintCancelled)
    assert outcome['ended'] - cancelled_at < 1.0


def test_runner_cancel_kills_every_worker_process():
    """A cancel ends the native calls by killing the workers, and none of
    them is left running."""
    image = fractal_rgb(256, seed=6)
    canvas = np.pad(image, ((200, 200), (200, 200), (0, 0)))
    mask = np.ones(canvas.shape[:2], np.uint8)
    mask[200:-200, 200:-200] = 0
    token = CancelToken()
    started = threading.Event()
    with PatchMatchRunner(2) as runner:
        procs = [worker.proc for worker in runner._pool]
        assert len(procs) == 2
        timer = threading.Thread(
            target=lambda: started.wait(10) and token.cancel()
        )
        timer.start()
        started.set()
        with pytest.raises(OutpaintCancelled):
            runner.run([FillJob(canvas, mask, 0)] * 2, cancel=token)
        timer.join()
        assert all(proc.poll() is not None for proc in procs)


class Interrupt(KeyboardInterrupt):
    """The KeyboardInterrupt these tests raise (told apart from a real
    Ctrl-C on the test run)."""


class InterruptingToken(CancelToken):
    """Calls *interrupt* when polled once a worker has been given a job."""

    def __init__(self, busy: threading.Event, interrupt) -> None:
        super().__init__()
        self.busy = busy
        self.interrupt = interrupt

    @property
    def cancelled(self) -> bool:
        if self.busy.is_set():
            self.interrupt()
        return super().cancelled


def worker_children() -> list[psutil.Process]:
    """PatchMatch worker processes that are children of this process."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if any('_pm_worker' in part for part in child.cmdline()):
                found.append(child)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


@pytest.mark.parametrize('how', ['progress', 'cancel-poll', 'sigint'])
def test_keyboard_interrupt_during_a_fill_leaves_no_worker_alive(
    how, monkeypatch
):
    """A KeyboardInterrupt while PatchMatch jobs are in the worker
    processes (raised by the progress callback, by the cancel poll, or a
    real SIGINT) propagates and every worker process is gone."""
    procs: list = []
    busy = threading.Event()
    alive_when_interrupted: list[bool] = []

    def interrupt() -> None:
        alive_when_interrupted.extend(p.poll() is None for p in procs)
        raise Interrupt

    class RecordingWorker(_pm_runner._Worker):
        def __init__(self) -> None:
            super().__init__()
            procs.append(self.proc)

        def fill(self, job):
            busy.set()  # the job is on its way to a live worker
            return super().fill(job)

    monkeypatch.setattr(_pm_runner, '_Worker', RecordingWorker)
    image = fractal_rgb(256, seed=10)
    expand = Expand(top=80, bottom=80, left=80, right=80)  # seconds of work
    engine = LocalEngine(scale=2, workers=2)
    token = CancelToken()
    progress = None
    sender = None
    if how == 'progress':

        def progress(event):
            if busy.is_set():
                interrupt()

    elif how == 'cancel-poll':
        token = InterruptingToken(busy, interrupt)
    else:

        def on_sigint(signum, frame):
            interrupt()  # raises, like default_int_handler

        def send() -> None:
            if busy.wait(30):
                os.kill(os.getpid(), signal.SIGINT)

        previous = signal.signal(signal.SIGINT, on_sigint)
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
    try:
        with pytest.raises(Interrupt):
            engine.outpaint(image, expand, progress=progress, cancel=token)
    finally:
        if sender is not None:
            # a late signal must not interrupt the test run itself
            signal.signal(signal.SIGINT, lambda signum, frame: None)
            sender.join(30)
            signal.signal(signal.SIGINT, previous)
    assert len(procs) == 2
    assert alive_when_interrupted == [True, True]  # mid-fill, not after
    assert all(proc.poll() is not None for proc in procs)
    assert not any(psutil.pid_exists(proc.pid) for proc in procs)
    assert worker_children() == []


def test_falls_back_to_this_process_when_workers_cannot_start(
    monkeypatch, tmp_path
):
    """If no worker process starts, the fill runs in this process and
    still keeps the contract."""
    monkeypatch.setattr(_pm_runner, '_WORKER_SCRIPT', tmp_path / 'gone.py')
    image = fractal_rgb(128, seed=9)
    expand = Expand(top=30, bottom=30, left=30, right=30)
    result = LocalEngine(scale=2, workers=2).outpaint(image, expand)
    assert result.details['workers'] == 0
    assert result.image.shape == (*expand.canvas_shape(128, 128), 3)
    assert np.array_equal(result.image[original_region(image, expand)], image)


def test_cancel_before_start_fills_nothing():
    """An already cancelled token stops both methods before any work."""
    token = CancelToken()
    token.cancel()
    for method in ('reflect', 'patchmatch'):
        with pytest.raises(OutpaintCancelled):
            LocalEngine(method).outpaint(
                fractal_rgb(128, 0), Expand(10, 10, 10, 10), cancel=token
            )


def test_reflect_mirrors_without_repeating_the_edge_and_loops():
    """Reflection excludes the edge pixel and keeps reflecting past
    size - 1."""
    row = np.array([[1, 2, 3]])
    assert reflect_fill(row, Padding(0, 0, 2, 0)).tolist() == [[3, 2, 1, 2, 3]]
    assert reflect_fill(row, Padding(0, 0, 4, 1)).tolist() == [
        [1, 2, 3, 2, 1, 2, 3, 2]
    ]
    assert reflect_fill(row, Padding(2, 0, 0, 0)).tolist() == [[1, 2, 3]] * 3


def test_falls_back_to_reflection_when_patchmatch_is_missing(monkeypatch):
    """Without PyPatchMatch the engine says so and fills by reflection."""
    monkeypatch.setattr(local_module, 'patchmatch_importable', lambda: False)
    engine = LocalEngine('patchmatch')
    assert engine.model == 'reflect'
    image = fractal_rgb(128, 8)
    result = engine.outpaint(image, Expand(10, 10, 10, 10))
    assert result.model == 'reflect'
    assert result.seed is None
    assert 'PyPatchMatch' in result.details['fallback']
    expected = reflect_fill(image, Expand(10, 10, 10, 10).padding(128, 128))
    assert np.array_equal(result.image, expected)


@pytest.mark.parametrize(
    ('kwargs', 'image', 'field'),
    [
        ({'method': 'lama'}, np.zeros((8, 8, 3), np.uint8), 'method'),
        ({'seed': -1}, np.zeros((8, 8, 3), np.uint8), 'seed'),
        ({'workers': 1.5}, np.zeros((8, 8, 3), np.uint8), 'workers'),
        ({}, np.zeros((8, 8, 3), np.float32), 'image'),
        ({}, np.zeros((8, 8), np.uint8), 'image'),
    ],
)
def test_bad_input_names_the_field(kwargs, image, field):
    """Bad arguments raise InvalidInputError naming the field."""
    with pytest.raises(InvalidInputError) as info:
        LocalEngine(**kwargs).outpaint(image, Expand(10, 10, 10, 10))
    assert info.value.field == field


def test_is_an_engine_with_the_local_identity():
    """LocalEngine satisfies the Engine protocol and is free."""
    engine = LocalEngine()
    assert isinstance(engine, Engine)
    assert (engine.name, engine.model) == ('local', 'patchmatch')
    assert engine.price_per_image_usd == 0.0
    assert LocalEngine('reflect').model == 'reflect'
