"""The settings file: where it is, reading it strictly, writing it safely.

A small TOML file, ``settings.toml`` in the platform's user config folder
(``platformdirs.user_config_dir('napari-outpaint')``), or the file
``$NAPARI_OUTPAINT_CONFIG`` names. The widget's Options write it; people
may edit it by hand. It never holds the API key: an entry whose name
looks like a secret (``api_key``, ``token``, ...) is never read, and
never written back.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from napari_outpaint._errors import ConfigurationError
from napari_outpaint._io import write_atomic
from napari_outpaint._settings.fields import SETTINGS, Setting, by_key

__all__ = [
    'CONFIG_ENV',
    'SettingsFile',
    'SettingsFileError',
    'is_secret_name',
    'read_settings',
    'save_settings',
    'settings_path',
]

logger = logging.getLogger(__name__)

#: Environment variable naming the settings file to use instead.
CONFIG_ENV = 'NAPARI_OUTPAINT_CONFIG'
_FILE_NAME = 'settings.toml'
_SECRET_NAME = re.compile(
    r'key|token|secret|passw|credential|auth', re.IGNORECASE
)
_KNOWN = ', '.join(s.key for s in SETTINGS)
_WARNED: set[tuple[Path, str]] = set()  # (file, entry) already logged
_HEADER = (
    "# napari-outpaint settings (the widget's Options edit this file).\n"
    '# An environment variable of the same setting wins over this file.\n'
    '# Never put the API key here: it is not read from this file. Use\n'
    '# RUNFLOW_API_KEY or the system keyring.\n'
)


class SettingsFileError(ConfigurationError):
    """The settings file cannot be read, or holds a bad value.

    Attributes
    ----------
    path : pathlib.Path
        The settings file.
    key : str or None
        The entry at fault, when one is.
    """

    def __init__(self, path: Path, message: str, key: str | None = None):
        self.path = path
        self.key = key
        super().__init__(message)


def settings_path() -> Path:
    """``$NAPARI_OUTPAINT_CONFIG``, else ``settings.toml`` in the user
    config folder."""
    override = os.environ.get(CONFIG_ENV, '').strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir('napari-outpaint')) / _FILE_NAME


def is_secret_name(name: str) -> bool:
    """True when an entry called *name* could hold a key or a password."""
    return bool(_SECRET_NAME.search(name))


@dataclass(frozen=True)
class SettingsFile:
    """What one read of the settings file found.

    Attributes
    ----------
    path : pathlib.Path
        The file read (it may not exist).
    values : dict
        The valid settings, by key, as their values (e.g. a ``Path``).
    problems : dict
        The settings whose value breaks its rule: key -> the error to
        raise when that setting is used.
    ignored : tuple of str
        Entries that are not settings (a secret-like name among them).
    raw : dict
        The file's own entries, secret-like ones left out (kept by
        :func:`save_settings`).
    """

    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, SettingsFileError] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)


def read_settings(path: Path | None = None) -> SettingsFile:
    """Read the settings file (default :func:`settings_path`).

    A missing file holds no settings. Each value is checked with the rule
    its environment variable follows; a bad one is kept in ``problems``
    (raised when that setting is used, naming the file, the key and the
    fix), never replaced by the default silently. Entries that are not
    settings are logged and left alone; a secret-like one is never read.

    Raises
    ------
    SettingsFileError
        When the file exists but cannot be read or is not valid TOML.
    """
    path = settings_path() if path is None else Path(path)
    try:
        text = path.read_text(encoding='utf-8')
    except FileNotFoundError:
        return SettingsFile(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsFileError(
            path,
            f'The settings file {path} cannot be read ({exc}); fix its '
            f'permissions or delete it, or point {CONFIG_ENV} at another '
            'file.',
        ) from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsFileError(
            path,
            f'The settings file {path} is not valid TOML ({exc}); fix it '
            '(e.g. concurrency = 4, cache_dir = "D:/cache"), or delete it '
            'to use the defaults.',
        ) from exc
    values: dict[str, Any] = {}
    problems: dict[str, SettingsFileError] = {}
    kept: dict[str, Any] = {}
    ignored = []
    for name, raw in document.items():
        if is_secret_name(name):
            ignored.append(name)
            _warn_once(
                path,
                name,
                'The settings file %s has an entry %r: napari-outpaint '
                'never reads a key or a password from this file (use '
                'RUNFLOW_API_KEY or the system keyring); delete the '
                'entry. The next save drops it.',
            )
            continue
        kept[name] = raw
        try:
            setting = by_key(name)
        except KeyError:
            ignored.append(name)
            _warn_once(
                path,
                name,
                'The settings file %s has an entry %r that is not a '
                f'setting (known: {_KNOWN}); it is ignored.',
            )
            continue
        try:
            values[name] = setting.parse(raw)
        except ValueError:
            problems[name] = _bad_value(path, setting, raw)
    return SettingsFile(path, values, problems, tuple(ignored), kept)


def save_settings(
    changes: Mapping[str, Any], path: Path | None = None
) -> Path:
    """Set (a value) or remove (``None``) settings in the file, atomically.

    The other entries of the file are kept, except secret-like ones, which
    are dropped: the file never holds a key.

    Parameters
    ----------
    changes : mapping
        Setting key -> new value (checked by the setting's rule), or None
        to remove it (its default, or the environment, applies).
    path : path-like, optional
        Default :func:`settings_path`.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ConfigurationError
        For a key that is not a setting (a secret-like one included) or a
        value that breaks its rule; nothing is written.
    SettingsFileError
        When the file exists but cannot be read or is not valid TOML
        (fix or delete it first: it is not overwritten).
    """
    path = settings_path() if path is None else Path(path)
    updates = {name: _stored(name, value) for name, value in changes.items()}
    current = read_settings(path).raw
    for name, value in updates.items():
        if value is None:
            current.pop(name, None)
        else:
            current[name] = value
    order = [s.key for s in SETTINGS if s.key in current]
    order += [name for name in current if name not in order]
    text = _HEADER + tomli_w.dumps({name: current[name] for name in order})
    return write_atomic(
        path, lambda tmp: tmp.write_text(text, encoding='utf-8')
    )


def _stored(name: str, value: Any) -> Any:
    """*value* as the file holds it (str for a folder), or None."""
    if is_secret_name(name):
        raise ConfigurationError(
            f'{name!r} cannot be saved in the settings file: it never '
            'holds a key or a password. Use RUNFLOW_API_KEY or the system '
            'keyring for the API key.'
        )
    try:
        setting = by_key(name)
    except KeyError:
        raise ConfigurationError(
            f'{name!r} is not a setting; the settings are: {_KNOWN}.'
        ) from None
    if value is None:
        return None
    try:
        parsed = setting.parse(value)
    except ValueError:
        raise ConfigurationError(
            f'{name} must be {setting.rule}, got {value!r}; or None for '
            f'{setting.unset}.'
        ) from None
    return str(parsed) if isinstance(parsed, Path) else parsed


def _warn_once(path: Path, name: str, message: str) -> None:
    """Log *message* (``%s`` the file, ``%r`` the entry) once a process:
    the file is read at every use of a setting."""
    if (path, name) in _WARNED:
        return
    _WARNED.add((path, name))
    logger.warning(message, path, name)


def _bad_value(path: Path, setting: Setting, raw: Any) -> SettingsFileError:
    return SettingsFileError(
        path,
        f'The settings file {path} sets {setting.key} = {raw!r}, but it '
        f'must be {setting.rule}. Fix that line (or set it in the '
        "widget's Options), or delete it for "
        f'{setting.unset}.',
        key=setting.key,
    )
