"""Where the Runflow API key comes from: argument, environment, keyring.

The key is looked up in this order: an explicit argument, the
``RUNFLOW_API_KEY`` environment variable, then the system keyring
(service ``'napari-outpaint'``, user ``'runflow-api-key'``). Keyring
trouble (no backend, a locked or broken one) never crashes the plugin and
is logged without the key: at DEBUG level when looking a key up (a machine
without a keyring is normal), as a warning when the user asked to save or
delete one.
"""

from __future__ import annotations

import logging
import os

import keyring

from napari_outpaint._errors import ConfigurationError, InvalidInputError

__all__ = [
    'ENV_VAR',
    'api_key_problem',
    'KEYRING_SERVICE',
    'KEYRING_SOURCE',
    'KEYRING_USERNAME',
    'find_api_key',
    'forget_api_key',
    'locate_api_key',
    'save_api_key',
]

ENV_VAR = 'RUNFLOW_API_KEY'
KEYRING_SERVICE = 'napari-outpaint'
KEYRING_USERNAME = 'runflow-api-key'
#: How :func:`locate_api_key` names a key found in the keyring.
KEYRING_SOURCE = 'the system keyring'

logger = logging.getLogger(__name__)


def api_key_problem(key: str) -> str | None:
    """What makes *key* unusable as an HTTP header value, or None.

    A Runflow key is printable ASCII without spaces. A line break (a
    two-line paste), a control character or a non-ASCII character would
    otherwise make the HTTP library fail with the header, key and all, in
    its message. The answer never quotes the key.
    """
    for position, char in enumerate(key, start=1):
        if char in '\r\n':
            return (
                f'contains a line break (at character {position}): a '
                'two-line paste? Set it again, on one line'
            )
        if ord(char) > 126:
            return (
                f'contains a non-ASCII character (at character {position}); '
                'copy it again from app.runflow.io > Settings > API Keys'
            )
        if ord(char) < 33 or ord(char) == 127:
            return (
                'contains a space or control character (at character '
                f'{position}); copy it again from app.runflow.io > '
                'Settings > API Keys'
            )
    return None


def _checked(key: str, source: str) -> str:
    problem = api_key_problem(key)
    if problem:
        raise ConfigurationError(
            f'The Runflow API key from {source} {problem}. It was not sent '
            'anywhere.'
        )
    return key


def find_api_key(explicit: str | None = None) -> str | None:
    """Return the Runflow API key to use, or None when there is none.

    Parameters
    ----------
    explicit : str, optional
        A key passed by the caller; wins over every other source.

    Returns
    -------
    str or None
        The first non-blank key among *explicit*, ``RUNFLOW_API_KEY`` and
        the system keyring, stripped of surrounding whitespace.

    Raises
    ------
    ConfigurationError
        When that key has characters no HTTP header can carry (see
        :func:`api_key_problem`); the key itself is never quoted.
    """
    return locate_api_key(explicit)[0]


def locate_api_key(
    explicit: str | None = None, *, explicit_source: str = 'argument'
) -> tuple[str | None, str | None]:
    """The Runflow API key and where it was found, in lookup order.

    Parameters
    ----------
    explicit : str, optional
        A key passed by the caller; wins over every other source.
    explicit_source : str
        How to name where *explicit* came from (e.g. ``'this widget'``).

    Returns
    -------
    (str or None, str or None)
        The key (stripped) and its source: *explicit_source*,
        ``'RUNFLOW_API_KEY'`` or ``'the system keyring'``; ``(None,
        None)`` when there is no key.

    Raises
    ------
    ConfigurationError
        Naming the source, when the key found there is unusable (see
        :func:`api_key_problem`).
    """
    sources = ((explicit, explicit_source), (os.environ.get(ENV_VAR), ENV_VAR))
    for candidate, source in sources:
        if isinstance(candidate, str) and candidate.strip():
            return _checked(candidate.strip(), source), source
    _, stored = _keyring_call('read the API key from', 'get_password')
    if isinstance(stored, str) and stored.strip():
        return _checked(stored.strip(), KEYRING_SOURCE), KEYRING_SOURCE
    return None, None


def save_api_key(key: str) -> bool:
    """Store *key* in the system keyring.

    Returns
    -------
    bool
        True when the keyring now holds the key; False (with a logged
        warning) when no usable keyring is available.

    Raises
    ------
    InvalidInputError
        When *key* is not a non-blank string, or has characters no HTTP
        header can carry.
    """
    if not isinstance(key, str) or not key.strip():
        raise InvalidInputError(
            'api_key', 'expected a non-empty Runflow API key string.'
        )
    key = key.strip()
    problem = api_key_problem(key)
    if problem:
        raise InvalidInputError('api_key', f'the key {problem}.')
    _keyring_call(
        'save the API key to', 'set_password', key, level=logging.WARNING
    )
    _, stored = _keyring_call('read the API key back from', 'get_password')
    if stored != key:
        logger.warning(
            'The system keyring did not keep the Runflow API key (no usable '
            'keyring backend?); set %s instead.',
            ENV_VAR,
        )
        return False
    return True


def forget_api_key() -> bool:
    """Remove the stored key from the system keyring.

    Returns
    -------
    bool
        True when the keyring holds no key afterwards.
    """
    ok, stored = _keyring_call('read the API key from', 'get_password')
    if ok and stored is None:
        return True
    _keyring_call(
        'delete the API key from', 'delete_password', level=logging.WARNING
    )
    ok, stored = _keyring_call('read the API key from', 'get_password')
    return ok and stored is None


def _keyring_call(
    action: str, name: str, *args: str, level: int = logging.DEBUG
) -> tuple[bool, str | None]:
    """Call ``keyring.<name>(service, user, *args)``: ``(ok, result)``.

    Keyring backends raise anything (D-Bus, locked wallets, missing
    backends), so every failure is caught and logged at *level* by type
    only: the exception text might quote the secret.
    """
    try:
        result = getattr(keyring, name)(
            KEYRING_SERVICE, KEYRING_USERNAME, *args
        )
    except Exception as exc:  # noqa: BLE001 - any backend failure
        logger.log(
            level,
            'Could not %s the system keyring (%s); set %s instead.',
            action,
            type(exc).__name__,
            ENV_VAR,
        )
        return False, None
    return True, result
