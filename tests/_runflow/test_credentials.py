"""API key lookup: argument, environment, keyring; keyring trouble is safe."""

import logging

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError

from napari_outpaint import InvalidInputError
from napari_outpaint._runflow.credentials import (
    KEYRING_SERVICE,
    KEYRING_USERNAME,
    find_api_key,
    forget_api_key,
    save_api_key,
)

SECRET = 'rf_live_secret_0123456789'


class MemoryKeyring(KeyringBackend):
    """An in-memory keyring backend for tests."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.store = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        del self.store[(service, username)]


class BrokenKeyring(KeyringBackend):
    """A keyring whose every call fails, quoting the secret."""

    priority = 1

    def get_password(self, service, username):
        raise KeyringError(f'locked wallet {SECRET}')

    def set_password(self, service, username, password):
        raise KeyringError(f'cannot store {password}')

    def delete_password(self, service, username):
        raise KeyringError('cannot delete')


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def broken_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring())
    yield
    keyring.set_keyring(previous)


def test_explicit_key_wins_over_environment(monkeypatch):
    """An explicit argument is used before RUNFLOW_API_KEY."""
    monkeypatch.setenv('RUNFLOW_API_KEY', 'from-env')
    assert find_api_key('  explicit ') == 'explicit'
    assert find_api_key() == 'from-env'


def test_blank_values_are_ignored(monkeypatch):
    """Blank argument and blank environment fall through to None."""
    monkeypatch.setenv('RUNFLOW_API_KEY', '   ')
    assert find_api_key('') is None


def test_null_keyring_finds_nothing_and_cannot_save(caplog):
    """With the null keyring, nothing is found and saving reports False."""
    assert find_api_key() is None
    with caplog.at_level(logging.DEBUG):
        assert save_api_key(SECRET) is False
    assert 'RUNFLOW_API_KEY' in caplog.text
    assert SECRET not in caplog.text
    assert forget_api_key() is True


def test_save_find_forget_round_trip(memory_keyring, monkeypatch):
    """A saved key is found (after env), and gone once forgotten."""
    assert save_api_key(f' {SECRET}\n') is True
    assert memory_keyring.store == {
        (KEYRING_SERVICE, KEYRING_USERNAME): SECRET
    }
    assert find_api_key() == SECRET
    monkeypatch.setenv('RUNFLOW_API_KEY', 'from-env')
    assert find_api_key() == 'from-env'
    assert forget_api_key() is True
    monkeypatch.delenv('RUNFLOW_API_KEY')
    assert find_api_key() is None
    assert forget_api_key() is True


def test_broken_keyring_never_crashes_nor_logs_the_key(broken_keyring, caplog):
    """Keyring errors become warnings by type; the key is never logged."""
    with caplog.at_level(logging.DEBUG):
        assert find_api_key() is None
        assert save_api_key(SECRET) is False
        assert forget_api_key() is False
    assert 'KeyringError' in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize('bad', ['', '   ', None, 42])
def test_save_rejects_non_keys(bad):
    """Saving nothing or a non-string fails naming the api_key field."""
    with pytest.raises(InvalidInputError, match='api_key'):
        save_api_key(bad)
