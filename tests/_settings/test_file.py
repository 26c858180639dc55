"""The settings file: its location (NAPARI_OUTPAINT_CONFIG), a round trip,
strict reading (a bad value names the file, the key and the fix), and
never a key in it."""

import logging
import tomllib
from pathlib import Path

import pytest

from napari_outpaint._errors import ConfigurationError
from napari_outpaint._settings import (
    CONFIG_ENV,
    SettingsFileError,
    read_settings,
    save_settings,
    settings_path,
)

SECRET = 'rf_live_0123456789abcdef0123456789abcdef'


def test_location_is_the_config_variable_else_the_user_config_dir(
    monkeypatch, tmp_path
):
    """NAPARI_OUTPAINT_CONFIG names the file; else platformdirs' config."""
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / 'elsewhere.toml'))
    assert settings_path() == tmp_path / 'elsewhere.toml'
    monkeypatch.setattr(
        'platformdirs.user_config_dir', lambda app: str(tmp_path / app)
    )
    monkeypatch.delenv(CONFIG_ENV)
    assert settings_path() == tmp_path / 'napari-outpaint' / 'settings.toml'


def test_tests_never_touch_the_real_user_config(tmp_path):
    """The suite's conftest points the file into this test's tmp_path."""
    assert settings_path().is_relative_to(tmp_path)
    assert not settings_path().exists()


def test_a_missing_file_holds_no_settings():
    """No file: nothing set, nothing wrong."""
    found = read_settings()
    assert found.values == {}
    assert found.problems == {}


def test_round_trip_writes_valid_toml_and_reads_it_back(tmp_path):
    """Saved values come back as the same values, the folder as a Path."""
    path = save_settings(
        {
            'spend_cap_usd': 2.5,
            'concurrency': 3,
            'cache_dir': tmp_path / 'my cache',
            'cache_max_bytes': 1024**3,
            'max_passes': 2,
        }
    )
    assert path == settings_path()
    assert tomllib.loads(path.read_text())['concurrency'] == 3
    assert read_settings().values == {
        'spend_cap_usd': 2.5,
        'concurrency': 3,
        'cache_dir': tmp_path / 'my cache',
        'cache_max_bytes': 1024**3,
        'max_passes': 2,
    }


def test_saving_none_removes_a_setting_and_keeps_the_others():
    """None means 'back to the default': the entry leaves the file."""
    save_settings({'concurrency': 3, 'max_passes': 2})
    save_settings({'concurrency': None})
    assert read_settings().values == {'max_passes': 2}


def test_saving_refuses_a_bad_value_and_writes_nothing():
    """A value that breaks its rule is refused before the file changes."""
    save_settings({'concurrency': 3})
    before = settings_path().read_bytes()
    with pytest.raises(ConfigurationError, match='concurrency'):
        save_settings({'concurrency': 99})
    assert settings_path().read_bytes() == before


def test_a_bad_value_in_the_file_names_the_file_key_and_fix():
    """concurrency = 0 is kept as a problem: the error says where and how
    to fix it; the other settings still read."""
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text('concurrency = 0\nmax_passes = 3\n')
    found = read_settings()
    assert found.values == {'max_passes': 3}
    error = found.problems['concurrency']
    assert isinstance(error, SettingsFileError)
    text = str(error)
    assert str(path) in text
    assert 'concurrency = 0' in text
    assert '1-32' in text
    assert 'delete it' in text
    assert error.key == 'concurrency'


def test_a_file_that_is_not_toml_is_an_error_naming_it():
    """Broken syntax: an error naming the file; saving does not overwrite
    it (the user's text is not lost)."""
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text('concurrency = = 4\n')
    with pytest.raises(SettingsFileError, match='not valid TOML') as caught:
        read_settings()
    assert str(path) in str(caught.value)
    with pytest.raises(SettingsFileError):
        save_settings({'max_passes': 2})
    assert path.read_text() == 'concurrency = = 4\n'


def test_a_key_in_the_file_is_never_read_and_dropped_on_save(
    monkeypatch, caplog
):
    """An api_key entry is ignored with a warning that does not show it;
    the next save leaves it out; the environment's key is never written."""
    monkeypatch.setenv('RUNFLOW_API_KEY', SECRET)
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text(f'api_key = "{SECRET}"\nRUNFLOW_TOKEN = "x{SECRET}"\n')
    with caplog.at_level(logging.WARNING):
        found = read_settings()
    assert found.values == {}
    assert 'api_key' not in found.raw
    assert set(found.ignored) == {'api_key', 'RUNFLOW_TOKEN'}
    assert 'api_key' in caplog.text
    assert SECRET not in caplog.text
    save_settings({'concurrency': 2})
    written = path.read_text()
    assert SECRET not in written
    assert 'api_key' not in written
    assert 'TOKEN' not in written
    assert tomllib.loads(written) == {'concurrency': 2}


@pytest.mark.parametrize('name', ['api_key', 'runflow_api_key', 'token'])
def test_saving_a_key_is_refused(name):
    """The file cannot be asked to hold a key."""
    with pytest.raises(ConfigurationError, match='never holds a key'):
        save_settings({name: SECRET})
    assert not settings_path().exists()


def test_unknown_entries_are_ignored_but_kept(caplog):
    """An entry of a newer version is logged, not used, and kept."""
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text('future_option = true\n')
    with caplog.at_level(logging.WARNING):
        assert read_settings().values == {}
        assert read_settings().values == {}  # read at every use: told once
    assert caplog.text.count('future_option') == 1
    save_settings({'max_passes': 5})
    assert tomllib.loads(path.read_text()) == {
        'max_passes': 5,
        'future_option': True,
    }


def test_an_unknown_setting_cannot_be_saved():
    """A typo is refused, naming the settings there are."""
    with pytest.raises(ConfigurationError, match='max_passes'):
        save_settings({'max_pass': 5})


def test_the_file_is_written_atomically(monkeypatch):
    """A failed write leaves the old file whole and no temporary behind."""
    save_settings({'concurrency': 3})
    before = settings_path().read_bytes()

    def fail(self, *args, **kwargs):
        raise OSError('disk full')

    monkeypatch.setattr(Path, 'write_text', fail)
    with pytest.raises(OSError, match='disk full'):
        save_settings({'concurrency': 5})
    assert settings_path().read_bytes() == before
    assert [p.name for p in settings_path().parent.iterdir()] == [
        'settings.toml'
    ]
