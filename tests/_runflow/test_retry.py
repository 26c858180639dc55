"""Retry/backoff/poll policy: pure functions, no sleeping."""

from datetime import UTC, datetime, timedelta

import pytest

from napari_outpaint._runflow.retry import (
    DEFAULT_MAX_RATE,
    DEFAULT_POLL_SCHEDULE,
    Deadline,
    PollSchedule,
    RetryPolicy,
    backoff_delay,
    is_retryable_status,
    parse_retry_after,
)

NOW = datetime(2026, 5, 6, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ('headers', 'expected'),
    [
        ({'retry-after': '3'}, 3.0),
        ({'Retry-After': ' 1.5 '}, 1.5),
        ({'retry-after': '-4'}, 0.0),
        ({'retry-after-ms': '250', 'retry-after': '9'}, 0.25),
        ({'retry-after': 'Wed, 06 May 2026 10:00:07 GMT'}, 7.0),
        ({'retry-after': 'Wed, 06 May 2026 09:00:00 GMT'}, 0.0),
        ({'retry-after': 'soon'}, None),
        ({'retry-after': 'nan'}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers, expected):
    """Seconds and HTTP dates parse; junk and absence give None."""
    assert parse_retry_after(headers, now=NOW) == expected


def test_backoff_grows_exponentially_within_jitter_and_cap():
    """Delay doubles per retry, shrinks by at most the jitter, is capped."""
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, jitter=0.25)
    for retry, full in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        assert backoff_delay(retry, policy, rand=lambda: 0.0) == full
        assert backoff_delay(retry, policy, rand=lambda: 1.0) == full * 0.75
    assert backoff_delay(10**6, policy, rand=lambda: 0.5) <= 4.0


def test_backoff_honours_retry_after_within_bound():
    """Retry-After wins over the exponential delay, up to the bound."""
    policy = RetryPolicy(max_retry_after=10.0)
    assert backoff_delay(1, policy, retry_after=3.0) == 3.0
    assert backoff_delay(5, policy, retry_after=0.0) == 0.0
    assert backoff_delay(1, policy, retry_after=3600.0) == 10.0


@pytest.mark.parametrize(
    ('status', 'retryable'),
    [
        (500, True),
        (503, True),
        (429, True),
        (408, True),
        (404, False),
        (401, False),
        (422, False),
        (402, False),
    ],
)
def test_retryable_statuses(status, retryable):
    """5xx, 408 and 429 are retried; other 4xx are not."""
    assert is_retryable_status(status) is retryable


def test_poll_schedule_grows_to_its_cap():
    """The adaptive schedule starts short, grows by the factor, then caps."""
    delays = PollSchedule(initial=0.25, factor=2.0, cap=1.0).delays()
    assert [next(delays) for _ in range(5)] == [0.25, 0.5, 1.0, 1.0, 1.0]
    fixed = PollSchedule.fixed(2.0).delays()
    assert [next(fixed) for _ in range(3)] == [2.0, 2.0, 2.0]
    default = DEFAULT_POLL_SCHEDULE
    assert 60 / default.cap <= 40  # a long run: at most 40 reads a minute
    assert default.dense <= 0.5  # where runs end: median notice <= 0.5 s


def test_the_window_is_polled_densely_and_the_rest_sparsely():
    """Before the learned window the delay grows but lands on its start;
    inside it the window's width is spread over `window_reads` reads;
    after it, it grows back to the cap."""
    schedule = PollSchedule(initial=0.25, factor=1.5, cap=1.5, dense=0.5)
    window = (5.0, 9.0)  # 4 s / 8 reads: every 0.5 s
    elapsed, delay, seen = 0.0, None, []
    while elapsed < 20.0:
        delay = schedule.next_delay(elapsed, delay, window)
        elapsed += delay
        seen.append((elapsed, delay))
    before = [d for t, d in seen if t < 5.0]
    inside = [d for t, d in seen if 5.3 < t <= 9.5]
    after = [d for t, d in seen if t > 12.0]
    assert max(before) == 1.5
    assert any(5.0 <= t <= 5.25 for t, _ in seen)  # lands on its start
    assert inside
    assert set(inside) == {0.5}
    assert set(after) == {1.5}
    assert schedule.next_delay(3.0, None) == 0.25  # no window: as before


@pytest.mark.parametrize(
    ('window', 'delay'),
    [((5.0, 5.4), 0.1), ((5.0, 6.6), 0.2), ((5.0, 25.0), 0.5)],
)
def test_a_narrow_window_is_read_more_often_within_bounds(window, delay):
    """A precise forecast is worth reads: width / 8, from dense_min up to
    dense; a fixed schedule stays fixed whatever the window."""
    schedule = PollSchedule(dense=0.5, dense_min=0.1)
    assert schedule.next_delay(window[0] + 0.01, 0.3, window) == pytest.approx(
        delay
    )
    assert PollSchedule.fixed(2.0).next_delay(5.1, 2.0, window) == 2.0


def test_the_reads_per_second_default_follows_the_cap():
    """1.8/s by default; a schedule faster than that asked for more."""
    assert DEFAULT_POLL_SCHEDULE.reads_per_second == DEFAULT_MAX_RATE == 1.8
    assert PollSchedule.fixed(0.1).reads_per_second == 20.0
    assert PollSchedule(max_rate=0.5).reads_per_second == 0.5


def test_deadline_uses_the_injected_clock():
    """remaining() and expired follow the clock given, once converted."""
    now = [100.0]
    deadline = Deadline(5.0, clock=lambda: now[0])
    assert deadline.remaining() == 5.0
    now[0] += 4.0
    assert not deadline.expired
    now[0] += 2.0
    assert deadline.expired
    assert deadline.remaining() == 0.0
    assert timedelta(seconds=deadline.timeout) == timedelta(seconds=5)


@pytest.mark.parametrize(
    'kwargs', [{'max_attempts': 0}, {'jitter': 1.5}, {'base_delay': -1}]
)
def test_retry_policy_rejects_nonsense(kwargs):
    """A policy that could never try, or wait negatively, is refused."""
    with pytest.raises(ValueError, match='must'):
        RetryPolicy(**kwargs)


@pytest.mark.parametrize(
    'args',
    [
        (0.0, 1.5, 1.0),
        (2.0, 1.5, 1.0),
        (0.25, 0.5, 1.0),
        (0.25, 1.5, 1.0, 0.0),
        (0.25, 1.5, 1.0, 0.5, 0.0),
        (0.25, 1.5, 1.0, 0.5, 0.6),
        (0.25, 1.5, 1.0, 0.5, 0.1, 0.0),
        (0.25, 1.5, 1.0, 0.5, 0.1, None, 0),
        (0.25, 1.5, 1.0, 0.5, 0.1, None, True),
    ],
)
def test_poll_schedule_rejects_nonsense(args):
    """A schedule that could hammer (0 s, no rate, no reads) or shrink is
    refused."""
    with pytest.raises(ValueError, match='poll schedule'):
        PollSchedule(*args)
