"""The batch's shared state: the heavy-work slot around an engine call,
and the memory each plane hands back."""

from __future__ import annotations

import threading

import numpy as np

from fakes import FakeEngine
from napari_outpaint._batch import outpaint as batch_outpaint
from napari_outpaint._batch.outpaint import outpaint_planes
from napari_outpaint._batch.state import HeavyPhase
from napari_outpaint._expand import Expand
from napari_outpaint.engines import LocalEngine

EXPAND = Expand(top=20, bottom=0, left=0, right=0)
WAIT_S = 10.0


class _WaitsElsewhere(FakeEngine):
    """Returns only once two calls are inside it at the same time, as
    runs waiting on a service are."""

    def __init__(self) -> None:
        super().__init__()
        self.together = threading.Barrier(2, timeout=WAIT_S)

    def outpaint(self, image, expand, *, progress=None, cancel=None):
        self.together.wait()
        return super().outpaint(
            image, expand, progress=progress, cancel=cancel
        )


class _ComputesHere(FakeEngine):
    """Counts how many calls are inside it at once; the first call stays
    inside until a second one joins it (or half a second passes), so that
    a batch letting calls overlap is caught, not missed by luck."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.inside = 0
        self.most_inside = 0
        self.overlapped = threading.Event()

    def computes_here(self) -> bool:
        return True

    def outpaint(self, image, expand, *, progress=None, cancel=None):
        with self.lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            first = not self.calls
            if self.inside > 1:
                self.overlapped.set()
        if first:
            self.overlapped.wait(0.5)
        try:
            return super().outpaint(
                image, expand, progress=progress, cancel=cancel
            )
        finally:
            with self.lock:
                self.inside -= 1


def _stack(planes: int = 6) -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(0, 4000, (planes, 12, 14), dtype=np.uint16)


def test_runs_that_wait_elsewhere_are_in_flight_together():
    """The slot is given up around a call that waits on a service: two
    planes are inside the engine at once (else the barrier times out)."""
    engine = _WaitsElsewhere()
    result = outpaint_planes(
        _stack(4), EXPAND, engine=engine, planes='all', concurrency=2
    )
    assert result.complete, result.summary()
    assert len(engine.calls) == 4


def test_an_engine_that_computes_here_runs_one_plane_at_a_time():
    """Its working memory is held for the whole call, so the batch keeps
    one such call at a time, whatever the planes in flight."""
    engine = _ComputesHere()
    result = outpaint_planes(
        _stack(6), EXPAND, engine=engine, planes='all', concurrency=4
    )
    assert result.complete, result.summary()
    assert len(engine.calls) == 6
    assert engine.most_inside == 1


def test_around_engine_keeps_the_slot_only_for_an_engine_that_computes_here():
    phase = HeavyPhase(threading.Semaphore(1))
    phase.acquire()
    with phase.around_engine(_ComputesHere())():
        assert phase.held
    with phase.around_engine(FakeEngine())():
        assert not phase.held  # given up while the engine waits
    assert phase.held
    phase.release()


def test_the_local_engine_computes_here_unless_it_has_a_cluster():
    assert LocalEngine(method='reflect').computes_here()
    assert LocalEngine().computes_here()


def test_a_batch_hands_back_each_planes_memory(monkeypatch):
    """Each plane that held the heavy slot trims once it is assembled."""
    calls = []
    monkeypatch.setattr(
        batch_outpaint, 'return_freed_memory', lambda: calls.append(1)
    )
    stack = np.zeros((3, 10, 12), np.uint16)
    result = batch_outpaint.outpaint_planes(
        stack, Expand(top=20, bottom=0, left=0, right=0), engine='reflect'
    )
    assert result.complete
    assert len(calls) == 3
