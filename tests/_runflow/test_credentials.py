"""API key lookup: argument, environment, keyring; keyring trouble is safe."""

import logging

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError

from napari_outpaint import ConfigurationError, InvalidInputError
from napari_outpaint._runflow.credentials import (
    KEYRING_SERVICE,
    KEYRING_USERNAME,
    api_key_problem,
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


BAD_KEYS = {
    'line break': SECRET[:10] + '\n' + SECRET[10:],
    'carriage return': SECRET + '\r\nsecond-line',
    'non-ASCII': SECRET[:5] + 'é' + SECRET[5:],
    'control': SECRET[:5] + '\x1b' + SECRET[5:],
    'inner space': SECRET[:5] + ' ' + SECRET[5:],
}


@pytest.mark.parametrize('what', sorted(BAD_KEYS))
@pytest.mark.parametrize('where', ['argument', 'environment', 'keyring'])
def test_unsendable_keys_are_refused_where_they_enter(
    what, where, memory_keyring, monkeypatch
):
    """A key no HTTP header can carry is refused naming its source, and
    never quoted (not even a part of it)."""
    bad = BAD_KEYS[what]
    explicit = None
    if where == 'argument':
        explicit = bad
    elif where == 'environment':
        monkeypatch.setenv('RUNFLOW_API_KEY', bad)
    else:
        memory_keyring.store[(KEYRING_SERVICE, KEYRING_USERNAME)] = bad
    with pytest.raises(ConfigurationError) as info:
        find_api_key(explicit)
    text = str(info.value)
    source = {
        'argument': 'argument',
        'environment': 'RUNFLOW_API_KEY',
        'keyring': 'keyring',
    }[where]
    assert source in text
    assert SECRET[:8] not in text
    assert SECRET[-8:] not in text
    assert api_key_problem(bad) is not None


def test_save_refuses_an_unsendable_key(memory_keyring):
    """The widget's save path refuses a two-line paste, unquoted."""
    with pytest.raises(InvalidInputError) as info:
        save_api_key(BAD_KEYS['line break'])
    assert 'line break' in str(info.value)
    assert SECRET[:8] not in str(info.value)
    assert memory_keyring.store == {}


def test_a_normal_key_has_no_problem():
    """Printable ASCII keys (with - _ . ~ and digits) pass."""
    assert api_key_problem('rf_live-0123.abc~XYZ') is None
