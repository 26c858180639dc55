"""Engine choice: Runflow when a key is configured, else local; visible."""

import pytest

from napari_outpaint import (
    InvalidInputError,
    LocalEngine,
    RunflowEngine,
    default_engine,
    resolve_engine,
)
from napari_outpaint.engines.choice import choose_engine


def test_no_key_means_the_local_engine():
    """Without any key the embedded default is the local PatchMatch engine."""
    engine = default_engine()
    assert isinstance(engine, LocalEngine)
    assert (engine.name, engine.price_per_image_usd) == ('local', 0.0)
    assert isinstance(resolve_engine(None), LocalEngine)


def test_env_key_means_runflow(monkeypatch):
    """RUNFLOW_API_KEY switches the default to Runflow, with no I/O."""
    monkeypatch.setenv('RUNFLOW_API_KEY', 'rf_live_test')
    engine = default_engine()
    assert isinstance(engine, RunflowEngine)
    assert (engine.name, engine.model) == ('runflow', 'runflow/outpaint')
    assert 'rf_live_test' not in repr(engine)


def test_explicit_key_means_runflow():
    """An explicit key also picks Runflow."""
    assert isinstance(default_engine('rf_live_x'), RunflowEngine)


def test_names_resolve_to_local_methods():
    """'local' is PatchMatch (a core dependency), 'reflect' the preview."""
    assert resolve_engine('local').model == 'patchmatch'
    assert resolve_engine('reflect').model == 'reflect'


def test_unknown_engine_names_the_field():
    """A typo is refused, naming the engine argument and the choices."""
    with pytest.raises(InvalidInputError, match='engine') as info:
        resolve_engine('runfow')
    assert 'runflow' in str(info.value)
    with pytest.raises(InvalidInputError, match='engine'):
        resolve_engine(42)


def test_engine_line_says_why(monkeypatch):
    """Auto picks Runflow from RUNFLOW_API_KEY, else local, and says so."""
    assert choose_engine('auto').summary == (
        'Local PatchMatch (no Runflow key configured)'
    )
    assert choose_engine('auto').price == 'free (local)'
    assert not choose_engine('runflow').ready
    monkeypatch.setenv('RUNFLOW_API_KEY', 'secret-from-env')
    plan = choose_engine('auto')
    assert plan.summary == 'Runflow (key from RUNFLOW_API_KEY)'
    assert plan.price == '$0.55'
    assert 'secret' not in repr(plan)
    assert choose_engine(
        'auto', api_key='typed', key_source='this widget'
    ).summary == ('Runflow (key from this widget)')
    assert choose_engine('reflect').price == 'free (local)'


def test_an_unsendable_key_makes_runflow_not_ready_never_local():
    """A two-line paste is not silently traded for the local engine: the
    choice stays Runflow, not ready, with the reason (key unquoted)."""
    choice = choose_engine('auto', api_key='rf-first\nrf-second')
    assert choice.name == 'runflow'
    assert not choice.ready
    assert choice.key_problem is not None
    assert 'line break' in choice.reason
    assert 'rf-first' not in choice.reason
