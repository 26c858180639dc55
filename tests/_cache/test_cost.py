"""The cost guard: a price shown before paying, and a per-session cap.

What this file checks
---------------------
- ``CostEstimate``: only new runs are paid (cached and already
  submitted planes are free), the text says so, and only a non-zero
  price needs a confirmation.
- ``estimate_cost`` and ``price_of``: counts must be ints >= 0, naming
  the count; an engine without a price is free.
- ``SpendCap``: reservations count against the limit until settled,
  failed runs give their reservation back, the limit is checked to the
  cent and under concurrent reservations.
- ``session_spend_cap``: one cap per process, its limit read once from
  ``NAPARI_OUTPAINT_SPEND_CAP_USD``, a bad value refused naming it.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from napari_outpaint._cache.cost import (
    SPEND_CAP_ENV,
    CostEstimate,
    SpendCap,
    estimate_cost,
    price_of,
    session_spend_cap,
    spend_cap_from_env,
)
from napari_outpaint._errors import (
    BudgetError,
    ConfigurationError,
    InvalidInputError,
)


class PaidEngine:
    price_per_image_usd = 0.55


class FreeEngine:
    price_per_image_usd = 0.0


def test_estimate_says_cached_planes_are_free():
    """The cost text counts only new runs and names the free ones."""

    class Paid:
        price_per_image_usd = 0.55

    assert estimate_cost(12, Paid()).text == '12 planes x $0.55 = $6.60'
    est = estimate_cost(12, Paid(), n_cached=3)
    assert est.text == '9 planes x $0.55 = $4.95 (3 cached: free)'
    assert not estimate_cost(4, Paid(), n_cached=4).needs_confirmation


# -- CostEstimate ------------------------------------------------------------


@pytest.mark.parametrize(
    ('planes', 'cached', 'pending', 'paid'),
    [(10, 0, 0, 10), (10, 3, 2, 5), (10, 10, 0, 0), (3, 2, 4, 0)],
)
def test_n_paid_leaves_out_cached_and_pending_planes(
    planes, cached, pending, paid
):
    """Cached and already submitted planes cost nothing; never below 0."""
    estimate = CostEstimate(planes, cached, pending, 0.55)
    assert estimate.n_paid == paid
    assert estimate.total_usd == round(paid * 0.55, 2)


def test_total_is_rounded_to_the_cent():
    """7 x $0.55 is $3.85, not 3.8500000000000005."""
    assert CostEstimate(7, price_usd=0.55).total_usd == 3.85


_PENDING_NOTE = '2 already submitted: collected, not paid again'


@pytest.mark.parametrize(
    ('estimate', 'text'),
    [
        (CostEstimate(1, price_usd=0.55), '1 plane x $0.55 = $0.55'),
        (CostEstimate(2, price_usd=0.5), '2 planes x $0.50 = $1.00'),
        (
            CostEstimate(6, n_pending=2, price_usd=0.55),
            f'4 planes x $0.55 = $2.20 ({_PENDING_NOTE})',
        ),
        (
            CostEstimate(6, n_cached=1, n_pending=2, price_usd=0.55),
            f'3 planes x $0.55 = $1.65 (1 cached: free; {_PENDING_NOTE})',
        ),
        (
            CostEstimate(2, n_cached=2, price_usd=0.55),
            '0 planes x $0.55 = $0.00 (2 cached: free)',
        ),
    ],
    ids=['one', 'two', 'pending', 'cached-and-pending', 'all-cached'],
)
def test_text_counts_paid_planes_and_names_the_free_ones(estimate, text):
    """The text is what the widget and the CLI show; str() is the same."""
    assert estimate.text == text
    assert str(estimate) == text


@pytest.mark.parametrize(
    ('estimate', 'needed'),
    [
        (CostEstimate(1, price_usd=0.55), True),
        (CostEstimate(5, n_cached=5, price_usd=0.55), False),
        (CostEstimate(5, n_pending=5, price_usd=0.55), False),
        (CostEstimate(5, price_usd=0.0), False),
        (CostEstimate(0, price_usd=0.55), False),
    ],
    ids=['paid', 'all-cached', 'all-pending', 'free-engine', 'no-planes'],
)
def test_confirmation_only_when_money_would_be_spent(estimate, needed):
    """A free engine or nothing new to run needs no question."""
    assert estimate.needs_confirmation is needed


def test_an_estimate_cannot_be_changed():
    """What was confirmed is what runs: the estimate is frozen."""
    estimate = estimate_cost(3, PaidEngine())
    with pytest.raises(dataclasses.FrozenInstanceError):
        estimate.n_cached = 3


# -- estimate_cost, price_of -------------------------------------------------


def test_estimate_takes_the_engines_price_and_the_counts():
    """estimate_cost fills in the engine's price per run."""
    estimate = estimate_cost(5, PaidEngine(), n_cached=1, n_pending=2)
    assert estimate == CostEstimate(5, 1, 2, 0.55)


@pytest.mark.parametrize('value', [-1, 1.5, True, '3', None])
@pytest.mark.parametrize('name', ['n_planes', 'n_cached', 'n_pending'])
def test_estimate_refuses_counts_that_are_not_ints_ge_0(name, value):
    """Each bad count is refused, naming it."""
    counts = {'n_planes': 4, 'n_cached': 0, 'n_pending': 0, name: value}
    n_planes = counts.pop('n_planes')
    with pytest.raises(InvalidInputError) as info:
        estimate_cost(n_planes, PaidEngine(), **counts)
    assert info.value.field == name
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    ('engine', 'price'),
    [(PaidEngine(), 0.55), (FreeEngine(), 0.0), (object(), 0.0)],
    ids=['paid', 'free', 'no-price'],
)
def test_price_of_an_engine(engine, price):
    """An engine without price_per_image_usd is free."""
    assert price_of(engine) == price
    assert type(price_of(engine)) is float


def test_price_of_none_or_int_prices():
    """A None price is free; an int price comes back as a float."""

    class NoneEngine:
        price_per_image_usd = None

    class IntEngine:
        price_per_image_usd = 2

    assert price_of(NoneEngine()) == 0.0
    assert price_of(IntEngine()) == 2.0
    assert type(price_of(IntEngine())) is float


# -- SpendCap ----------------------------------------------------------------


def test_no_limit_reserves_anything():
    """Without a limit every reservation succeeds and is counted."""
    cap = SpendCap()
    assert cap.limit_usd is None
    for _ in range(100):
        cap.reserve(10.0)
        cap.settle(10.0, charged=True)
    assert cap.spent_usd == 1000.0


def test_reservations_count_before_they_are_settled():
    """Runs in flight hold their price: a third $0.55 run over $1.10 waits."""
    cap = SpendCap(1.10)
    cap.reserve(0.55)
    cap.reserve(0.55)
    with pytest.raises(BudgetError):
        cap.reserve(0.55)
    assert cap.spent_usd == 0


def test_charged_runs_are_spent_and_released_runs_free_their_room():
    """settle(charged=True) spends; charged=False gives the room back."""
    cap = SpendCap(1.10)
    cap.reserve(0.55)
    cap.settle(0.55, charged=True)
    cap.reserve(0.55)
    cap.settle(0.55, charged=False)  # failed: not billed
    assert cap.spent_usd == 0.55
    cap.reserve(0.55)
    with pytest.raises(BudgetError):
        cap.reserve(0.55)


def test_the_limit_is_reached_to_the_cent():
    """Three $0.55 runs fit $1.65 exactly, despite float rounding."""
    cap = SpendCap(1.65)
    for _ in range(3):
        cap.reserve(0.55)
        cap.settle(0.55, charged=True)
    assert cap.spent_usd == 1.65
    with pytest.raises(BudgetError):
        cap.reserve(0.01)


def test_free_runs_pass_a_zero_cap():
    """A cap of $0 stops paid runs only: a $0 reservation always passes."""
    cap = SpendCap(0)
    cap.reserve(0.0)
    with pytest.raises(BudgetError):
        cap.reserve(0.01)


def test_settling_more_than_reserved_never_makes_room():
    """A stray settle cannot push the reservations below zero."""
    cap = SpendCap(1.0)
    cap.settle(5.0, charged=False)
    cap.reserve(1.0)
    with pytest.raises(BudgetError):
        cap.reserve(0.01)


def test_refusal_says_how_much_and_how_to_raise_the_cap():
    """BudgetError names the cap, what is committed and every setting."""
    cap = SpendCap(1.0)
    cap.reserve(0.55)
    cap.settle(0.55, charged=True)
    with pytest.raises(BudgetError) as info:
        cap.reserve(0.55)
    message = str(info.value)
    assert '$1.00' in message
    assert '$0.55 spent or committed' in message
    assert 'next run costs $0.55' in message
    assert SPEND_CAP_ENV in message
    assert '--spend-cap' in message
    assert 'session_spend_cap().limit_usd' in message


def test_raising_the_limit_lets_the_next_run_start():
    """The limit can change at any time; None removes it."""
    cap = SpendCap(0.5)
    with pytest.raises(BudgetError):
        cap.reserve(0.55)
    cap.limit_usd = 0.6
    cap.reserve(0.55)
    cap.limit_usd = None
    cap.reserve(100.0)


@pytest.mark.parametrize('limit', [-0.01, True, '5', [5]])
def test_limit_must_be_none_or_a_number_ge_0(limit):
    """A bad limit is refused, naming limit_usd, and the old one is kept."""
    cap = SpendCap(2)
    with pytest.raises(InvalidInputError) as info:
        cap.limit_usd = limit
    assert info.value.field == 'limit_usd'
    assert cap.limit_usd == 2.0
    with pytest.raises(InvalidInputError):
        SpendCap(limit)


def test_spent_is_rounded_to_the_cent():
    """Ten $0.10 runs are $1.00 spent, not 0.9999999999999999."""
    cap = SpendCap()
    for _ in range(10):
        cap.reserve(0.1)
        cap.settle(0.1, charged=True)
    assert cap.spent_usd == 1.0


def test_racing_reservations_cannot_both_take_the_last_room():
    """The limit is checked and the room taken in one step, per thread.

    The first reservation is held inside that step (the addition of its
    price) until a second one also gets there, or 0.2 s pass: with the
    check and the reservation under one lock the second waits outside,
    so exactly one of the two $0.55 runs fits the $1 cap.
    """
    cap = SpendCap(1.0)
    first_inside = threading.Event()
    second_inside = threading.Event()
    held = []

    class Price(float):
        def __radd__(self, other):  # ``committed + amount`` in reserve
            if threading.current_thread() is first and not held:
                held.append(True)
                first_inside.set()
                second_inside.wait(0.2)  # returns early only without lock
            elif threading.current_thread() is second:
                second_inside.set()
            return float(other) + float(self)

    outcomes = {}

    def reserve():
        try:
            cap.reserve(Price(0.55))
        except BudgetError:
            outcomes[threading.current_thread().name] = 'refused'
        else:
            outcomes[threading.current_thread().name] = 'reserved'

    first = threading.Thread(target=reserve, name='first')
    second = threading.Thread(target=reserve, name='second')
    first.start()
    assert first_inside.wait(10)
    second.start()
    for thread in (first, second):
        thread.join(10)
        assert not thread.is_alive()
    assert outcomes == {'first': 'reserved', 'second': 'refused'}


def test_concurrent_reservations_never_exceed_the_limit():
    """16 workers racing for a $5 cap get exactly ten $0.50 runs."""
    cap = SpendCap(5.0)
    workers = 16
    start = threading.Barrier(workers, timeout=10)

    def worker(_):
        start.wait()
        won = 0
        for _ in range(50):
            try:
                cap.reserve(0.5)
            except BudgetError:
                continue
            won += 1
            cap.settle(0.5, charged=True)
        return won

    with ThreadPoolExecutor(workers) as pool:
        won = sum(pool.map(worker, range(workers), timeout=30))
    assert won == 10
    assert cap.spent_usd == 5.0


# -- session_spend_cap, NAPARI_OUTPAINT_SPEND_CAP_USD -------------------------


def test_session_cap_is_one_object_off_by_default(fresh_session_cap):
    """Every caller shares one cap; without the variable it has no limit."""
    cap = session_spend_cap()
    assert cap is session_spend_cap()
    assert cap.limit_usd is None


def test_session_cap_reads_the_variable_once(fresh_session_cap):
    """The limit comes from the environment at first use only."""
    fresh_session_cap.setenv(SPEND_CAP_ENV, '2.5')
    cap = session_spend_cap()
    assert cap.limit_usd == 2.5
    fresh_session_cap.setenv(SPEND_CAP_ENV, '9')
    assert session_spend_cap().limit_usd == 2.5
    cap.limit_usd = None  # changed in code, for everyone
    assert session_spend_cap().limit_usd is None


def test_concurrent_first_use_makes_one_cap(fresh_session_cap):
    """Threads asking at once all get the same cap."""
    workers = 8
    start = threading.Barrier(workers, timeout=10)

    def first_use(_):
        start.wait()
        return session_spend_cap()

    with ThreadPoolExecutor(workers) as pool:
        caps = list(pool.map(first_use, range(workers), timeout=30))
    assert all(cap is caps[0] for cap in caps)


@pytest.mark.parametrize(
    ('text', 'limit'),
    [
        ('5', 5.0),
        (' 12.50 ', 12.5),
        ('$3', 3.0),
        ('0', 0.0),
        ('', None),
        ('   ', None),
    ],
)
def test_variable_values_that_are_accepted(fresh_session_cap, text, limit):
    """Dollars with or without a $ sign; empty means no cap."""
    fresh_session_cap.setenv(SPEND_CAP_ENV, text)
    assert spend_cap_from_env() == limit
    assert session_spend_cap().limit_usd == limit


def test_unset_variable_means_no_cap(fresh_session_cap):
    """No variable, no cap."""
    assert spend_cap_from_env() is None


@pytest.mark.parametrize('text', ['lots', '-1', 'nan', 'inf', '$', '5 USD'])
def test_bad_variable_is_refused_naming_it(fresh_session_cap, text):
    """A value that is not dollars >= 0 is a configuration error."""
    fresh_session_cap.setenv(SPEND_CAP_ENV, text)
    with pytest.raises(ConfigurationError) as info:
        spend_cap_from_env()
    assert SPEND_CAP_ENV in str(info.value)
    assert repr(text.strip()) in str(info.value)
    with pytest.raises(ConfigurationError, match=SPEND_CAP_ENV):
        session_spend_cap()


def test_fixing_a_bad_variable_makes_the_cap(fresh_session_cap):
    """A refused value does not leave a cap behind: the next try reads it."""
    fresh_session_cap.setenv(SPEND_CAP_ENV, 'lots')
    with pytest.raises(ConfigurationError):
        session_spend_cap()
    fresh_session_cap.setenv(SPEND_CAP_ENV, '4')
    assert session_spend_cap().limit_usd == 4.0
