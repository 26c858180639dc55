"""The one pipeline wires the paid-result cache and batches for all."""

import numpy as np
import pytest
from napari.layers import Image

from fakes import FakeEngine, PaidFakeEngine
from napari_outpaint import (
    BudgetError,
    ConfigurationError,
    Expand,
    RunFailedError,
    outpaint_array,
    outpaint_layer,
)
from napari_outpaint._cache import cost as _cost
from napari_outpaint._cache.cost import SPEND_CAP_ENV, session_spend_cap
from napari_outpaint._progress import ProgressEvent, Stage


def _image(seed=0, shape=(40, 50)):
    return np.random.default_rng(seed).integers(0, 255, shape, np.uint8)


def test_identical_paid_request_is_answered_from_the_cache():
    """The second identical paid call creates no run and says so."""
    engine = PaidFakeEngine()
    data = _image()
    first = outpaint_array(data, Expand(10, 0, 0, 20), engine=engine)
    second = outpaint_array(data, Expand(10, 0, 0, 20), engine=engine)
    assert len(engine.calls) == 1
    assert first.engine_result.details['cached'] is False
    assert second.engine_result.details['cached'] is True
    assert second.engine_result.cost_usd == 0
    np.testing.assert_array_equal(first.data, second.data)


def test_free_engines_are_not_cached():
    """Local (free) engines run every time: nothing to save."""
    engine = FakeEngine()
    data = _image()
    outpaint_array(data, Expand(10, 0, 0, 20), engine=engine)
    outpaint_array(data, Expand(10, 0, 0, 20), engine=engine)
    assert len(engine.calls) == 2


def test_layer_planes_all_gives_one_nd_layer():
    """planes='all' outpaints every plane into one aligned nD layer."""
    stack = np.stack([_image(i) for i in range(3)])
    layer = Image(stack, scale=(2.0, 0.5, 0.5), translate=(1, 2, 3))
    new = outpaint_layer(
        layer, Expand(10, 10, 0, 0), engine=FakeEngine(), planes='all'
    )
    assert new.data.shape == (3, 48, 50)
    for z in range(3):
        # the original plane z sits unchanged at the same world position
        world = layer.data_to_world((z, 0, 0))
        index = np.round(new.world_to_data(world)).astype(int)
        got = np.asarray(new.data)[index[0], index[1] : index[1] + 40]
        np.testing.assert_array_equal(got, stack[z])


def test_paid_batch_needs_confirmation():
    """A paid batch refuses to spend money without confirmation."""
    stack = np.stack([_image(i) for i in range(2)])
    engine = PaidFakeEngine()
    with pytest.raises(BudgetError):
        outpaint_layer(
            Image(stack), Expand(10, 10, 0, 0), engine=engine, planes='all'
        )
    assert engine.calls == []


# -- the spend cap applies to single runs too --------------------------------


@pytest.fixture
def fresh_session_cap(monkeypatch):
    """A new session spend cap for this test; the previous one comes back."""
    monkeypatch.delenv(SPEND_CAP_ENV, raising=False)
    monkeypatch.setattr(_cost, '_SESSION_CAP', None)
    return monkeypatch


class FailingPaidEngine(PaidFakeEngine):
    """A paid engine whose remote run is created, then fails (not billed)."""

    def outpaint(self, image, expand, *, progress=None, cancel=None):
        self.calls.append((image.copy(), expand))
        if progress is not None:
            progress(ProgressEvent(Stage.RUNNING, 'created', run_id='r-1'))
        raise RunFailedError('r-1', 'failed', 'PROVIDER_ERROR')


def test_single_paid_run_over_the_cap_never_reaches_the_engine(
    fresh_session_cap,
):
    """outpaint_array refuses a run over the session cap, naming settings."""
    assert session_spend_cap().limit_usd is None  # off by default
    session_spend_cap().limit_usd = 0.5
    engine = PaidFakeEngine()
    with pytest.raises(BudgetError) as info:
        outpaint_array(_image(), Expand(10, 0, 0, 20), engine=engine)
    assert engine.calls == []
    message = str(info.value)
    assert SPEND_CAP_ENV in message
    assert '--spend-cap' in message
    assert 'session_spend_cap().limit_usd' in message
    assert session_spend_cap().spent_usd == 0


def test_single_layer_run_over_the_cap_never_reaches_the_engine(
    fresh_session_cap,
):
    """outpaint_layer (the widget's single-plane path) obeys the cap too."""
    session_spend_cap().limit_usd = 0.0
    engine = PaidFakeEngine()
    with pytest.raises(BudgetError):
        outpaint_layer(Image(_image()), Expand(10, 0, 0, 20), engine=engine)
    assert engine.calls == []


def test_single_runs_spend_against_the_cap_and_cache_hits_are_free(
    fresh_session_cap,
):
    """Under $0.60 one run is paid, its repeat is free, a new one refused."""
    session_spend_cap().limit_usd = 0.60
    engine = PaidFakeEngine()
    expand = Expand(10, 0, 0, 20)
    outpaint_array(_image(0), expand, engine=engine)
    assert session_spend_cap().spent_usd == pytest.approx(0.55)
    again = outpaint_array(_image(0), expand, engine=engine)
    assert again.engine_result.details['cached'] is True
    with pytest.raises(BudgetError):
        outpaint_array(_image(1), expand, engine=engine)
    assert len(engine.calls) == 1
    assert session_spend_cap().spent_usd == pytest.approx(0.55)


def test_failed_paid_run_releases_its_reservation(fresh_session_cap):
    """A run that failed is not billed: the cap still allows the next one."""
    session_spend_cap().limit_usd = 0.60
    expand = Expand(10, 0, 0, 20)
    with pytest.raises(RunFailedError):
        outpaint_array(_image(0), expand, engine=FailingPaidEngine())
    assert session_spend_cap().spent_usd == 0
    engine = PaidFakeEngine()
    outpaint_array(_image(0), expand, engine=engine)
    assert len(engine.calls) == 1
    assert session_spend_cap().spent_usd == pytest.approx(0.55)


def test_env_var_sets_the_session_cap(fresh_session_cap):
    """NAPARI_OUTPAINT_SPEND_CAP_USD=0.5 refuses a $0.55 run before it."""
    fresh_session_cap.setenv(SPEND_CAP_ENV, '0.5')
    engine = PaidFakeEngine()
    with pytest.raises(BudgetError, match=r'\$0\.50'):
        outpaint_array(_image(), Expand(10, 0, 0, 20), engine=engine)
    assert engine.calls == []
    assert session_spend_cap().limit_usd == 0.5


@pytest.mark.parametrize('value', ['five', '-1', 'nan'])
def test_invalid_env_cap_is_a_configuration_error(fresh_session_cap, value):
    """A bad NAPARI_OUTPAINT_SPEND_CAP_USD is refused, naming it, unsent."""
    fresh_session_cap.setenv(SPEND_CAP_ENV, value)
    engine = PaidFakeEngine()
    with pytest.raises(ConfigurationError, match=SPEND_CAP_ENV):
        outpaint_array(_image(), Expand(10, 0, 0, 20), engine=engine)
    assert engine.calls == []
