"""Which value of a setting applies: environment, then file, then default.

An explicit argument (a keyword, a command-line flag) wins over all of
these; its owner checks it before asking here. The file is read each
time, so a change in the widget's Options applies to the next run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from napari_outpaint._errors import ConfigurationError
from napari_outpaint._settings.fields import Setting
from napari_outpaint._settings.file import read_settings

__all__ = [
    'DEFAULT',
    'ENVIRONMENT',
    'FILE',
    'Resolved',
    'env_value',
    'resolve',
    'setting_value',
]

ENVIRONMENT, FILE, DEFAULT = 'environment', 'file', 'default'


@dataclass(frozen=True)
class Resolved:
    """A setting's value and where it came from.

    Attributes
    ----------
    setting : Setting
        The setting.
    value : object
        Its value (``setting.default`` when nothing sets it).
    source : str
        ``'environment'``, ``'file'`` or ``'default'``.
    path : pathlib.Path or None
        The settings file, when the value comes from it.
    """

    setting: Setting
    value: Any
    source: str
    path: Path | None = None

    def describe(self) -> str:
        """Where the value comes from, in words."""
        if self.source == ENVIRONMENT:
            return f'the environment variable {self.setting.env}'
        if self.source == FILE:
            return f'{self.setting.key} in {self.path}'
        return 'the default'


def env_value(setting: Setting) -> Any:
    """The value *setting*'s environment variable sets, or None if unset.

    Raises
    ------
    ConfigurationError
        Naming the variable, the rule and the fix, for a bad value.
    """
    text = os.environ.get(setting.env, '').strip()
    if not text:
        return None
    try:
        return setting.parse(text)
    except ValueError:
        raise ConfigurationError(
            f'{setting.env} must be {setting.rule}, got {text!r}; fix it, '
            f'or unset it for {setting.unset}.'
        ) from None


def resolve(setting: Setting) -> Resolved:
    """*setting*'s value: its environment variable, else the settings
    file, else its default.

    Raises
    ------
    ConfigurationError
        For a bad value in the environment (naming the variable) or in the
        file (naming the file and the key), or an unreadable file.
    """
    value = env_value(setting)
    if value is not None:
        return Resolved(setting, value, ENVIRONMENT)
    stored = read_settings()
    if setting.key in stored.problems:
        raise stored.problems[setting.key]
    if setting.key in stored.values:
        return Resolved(setting, stored.values[setting.key], FILE, stored.path)
    return Resolved(setting, setting.default, DEFAULT)


def setting_value(setting: Setting) -> Any:
    """``resolve(setting).value``."""
    return resolve(setting).value
