"""Precedence: environment variable > settings file > default (an explicit
argument wins over all, in its owner), for every owner that reads one."""

import pytest

from napari_outpaint._batch.outpaint import default_concurrency
from napari_outpaint._cache.cost import session_spend_cap
from napari_outpaint._cache.store import (
    ResultCache,
    default_cache_dir,
    default_max_bytes,
)
from napari_outpaint._errors import ConfigurationError
from napari_outpaint._pipeline import max_passes_setting
from napari_outpaint._settings import (
    CONCURRENCY,
    DEFAULT,
    ENVIRONMENT,
    FILE,
    SettingsFileError,
    resolve,
    save_settings,
    settings_path,
)


def test_default_then_file_then_environment(monkeypatch):
    """Each source overrides the one before it, and says so."""
    monkeypatch.delenv(CONCURRENCY.env, raising=False)
    assert resolve(CONCURRENCY).source == DEFAULT
    assert resolve(CONCURRENCY).value == 4
    save_settings({'concurrency': 3})
    found = resolve(CONCURRENCY)
    assert (found.value, found.source) == (3, FILE)
    assert str(settings_path()) in found.describe()
    monkeypatch.setenv(CONCURRENCY.env, '7')
    found = resolve(CONCURRENCY)
    assert (found.value, found.source) == (7, ENVIRONMENT)
    assert CONCURRENCY.env in found.describe()


def test_an_empty_variable_leaves_the_file_in_charge(monkeypatch):
    """VAR= (empty) is unset, as before."""
    save_settings({'concurrency': 3})
    monkeypatch.setenv(CONCURRENCY.env, '')
    assert resolve(CONCURRENCY).value == 3


def test_a_bad_variable_names_the_variable_even_over_a_good_file(
    monkeypatch,
):
    """The variable wins, so its bad value is the error."""
    save_settings({'concurrency': 3})
    monkeypatch.setenv(CONCURRENCY.env, 'many')
    with pytest.raises(ConfigurationError, match=CONCURRENCY.env):
        resolve(CONCURRENCY)


def test_every_owner_reads_the_file(monkeypatch, tmp_path):
    """Concurrency, passes, the cache folder and its limit come from the
    file when no variable sets them."""
    monkeypatch.delenv('NAPARI_OUTPAINT_CACHE_DIR')
    save_settings(
        {
            'concurrency': 2,
            'max_passes': 6,
            'cache_dir': tmp_path / 'from-file',
            'cache_max_bytes': 12345,
        }
    )
    assert default_concurrency() == 2
    assert max_passes_setting() == 6
    assert default_cache_dir() == tmp_path / 'from-file'
    assert default_max_bytes() == 12345
    cache = ResultCache()
    assert (cache.root, cache.max_bytes) == (tmp_path / 'from-file', 12345)


def test_an_explicit_argument_wins_over_the_file(tmp_path):
    """ResultCache(root, max_bytes=) ignores the file's values."""
    save_settings({'cache_dir': tmp_path / 'file', 'cache_max_bytes': 1})
    cache = ResultCache(tmp_path / 'given', max_bytes=99)
    assert (cache.root, cache.max_bytes) == (tmp_path / 'given', 99)


def test_the_session_spend_cap_starts_from_the_file(fresh_session_cap):
    """spend_cap_usd in the file is the session's cap when no variable
    sets one."""
    save_settings({'spend_cap_usd': 1.5})
    assert session_spend_cap().limit_usd == 1.5


def test_a_bad_file_value_stops_its_owner_naming_the_file(monkeypatch):
    """max_passes = 0 in the file: an error naming the file and the key,
    not a silent default; a variable set over it wins."""
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text('max_passes = 0\n')
    with pytest.raises(SettingsFileError, match='max_passes') as caught:
        max_passes_setting()
    assert str(path) in str(caught.value)
    assert default_concurrency() == 4  # the other settings still work
    monkeypatch.setenv('NAPARI_OUTPAINT_MAX_PASSES', '2')
    assert max_passes_setting() == 2
