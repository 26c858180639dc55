"""The poll budget: learned run durations and the shared read gate."""

import threading
import time

import pytest

from napari_outpaint import OutpaintCancelled, RunTimeoutError
from napari_outpaint._progress import CancelToken
from napari_outpaint._runflow.pacing import PollPacer, RunDurations
from napari_outpaint._runflow.retry import Deadline


def test_no_window_until_two_durations_are_known():
    durations = RunDurations()
    assert durations.window() is None
    durations.observe(4.0)
    assert durations.window() is None
    durations.observe(6.0)
    start, end = durations.window()
    assert start == pytest.approx(4.0 * 0.95)  # 5% early
    assert end == pytest.approx(6.0 * 1.15)  # 15% late
    assert RunDurations([0.5, 0.5]).window() == pytest.approx((0.4, 1.0))


def test_the_window_spans_the_middle_of_many_durations():
    """From about the 10th to the 90th percentile, outliers left out."""
    durations = RunDurations([5.0 + 0.1 * i for i in range(20)] + [300.0])
    start, end = durations.window()
    assert 3.0 < start < 5.0
    assert 7.0 < end < 10.0


def test_a_wide_spread_gives_a_bounded_window_around_the_median():
    durations = RunDurations([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    start, end = durations.window()
    assert end - start <= RunDurations.max_width
    assert start < 35.0 < end


def test_nonsense_durations_are_ignored_and_only_the_last_kept():
    durations = RunDurations([float('nan'), -1.0, 0.0, True, 'x'], keep=3)
    assert durations.values() == []
    durations.extend([1.0, 2.0, 3.0, 4.0])
    assert durations.values() == [2.0, 3.0, 4.0]


def test_the_pacer_grants_at_most_its_rate_in_all():
    """Eight loops asking for reads at once get them one gap apart.

    The time of each grant is the pacer's own clock reading at the grant
    (the last one the granted thread took), not a reading after the call
    returns, which a busy machine delays by any amount.
    """
    last_reading = threading.local()

    def clock() -> float:
        last_reading.value = time.monotonic()
        return last_reading.value

    pacer = PollPacer(max_rate=20.0, clock=clock)
    granted, lock = [], threading.Lock()

    def loop():
        for _ in range(5):
            pacer.wait_turn(time.monotonic(), cancel=CancelToken())
            with lock:
                granted.append(last_reading.value)

    threads = [threading.Thread(target=loop) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(granted) == 40
    gaps = [
        b - a
        for a, b in zip(sorted(granted), sorted(granted)[1:], strict=False)
    ]
    assert min(gaps) >= 0.05 * 0.999  # float rounding of the refill only


def test_a_burst_goes_at_once_then_the_rate_holds():
    """After a quiet spell `burst` reads go back to back; over any t
    seconds at most burst + rate * t reads go out."""
    pacer = PollPacer(max_rate=10.0, burst=3)
    start = time.monotonic()
    granted = []
    for _ in range(8):
        pacer.wait_turn(time.monotonic(), cancel=CancelToken())
        granted.append(time.monotonic() - start)
    assert granted[2] < 0.05  # three at once
    assert granted[3] >= 0.1 * 0.9  # then one per 0.1 s
    for i, t in enumerate(granted):
        assert i + 1 <= 3 + 10.0 * t + 1e-6


@pytest.mark.parametrize('burst', [0, 1.5, True])
def test_the_pacer_refuses_a_burst_that_is_not_a_count(burst):
    with pytest.raises(ValueError, match='burst'):
        PollPacer(1.0, burst=burst)


def test_the_earliest_due_read_goes_first():
    pacer = PollPacer(max_rate=5.0)  # 0.2 s apart
    pacer.wait_turn(time.monotonic(), cancel=CancelToken())
    order = []
    now = time.monotonic()

    def read(name, due):
        pacer.wait_turn(due, cancel=CancelToken())
        order.append(name)

    late = threading.Thread(target=read, args=('late', now + 0.05))
    early = threading.Thread(target=read, args=('early', now))
    late.start()
    early.start()
    late.join(5)
    early.join(5)
    assert order == ['early', 'late']


def test_a_wait_for_a_turn_ends_on_cancel_and_on_the_deadline():
    pacer = PollPacer(max_rate=1.0)
    cancel = CancelToken()
    threading.Timer(0.1, cancel.cancel).start()
    started = time.monotonic()
    with pytest.raises(OutpaintCancelled):
        pacer.wait_turn(started + 30.0, cancel=cancel, run_id='r-1')
    assert time.monotonic() - started < 1.0
    with pytest.raises(RunTimeoutError, match='r-2'):
        pacer.wait_turn(
            time.monotonic() + 30.0,
            cancel=CancelToken(),
            deadline=Deadline(0.1),
            run_id='r-2',
        )


def test_the_pacer_refuses_a_rate_of_zero():
    with pytest.raises(ValueError, match='max_rate'):
        PollPacer(0)
