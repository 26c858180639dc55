"""The user's settings: spend cap, concurrency, cache folder and size,
passes per canvas.

Each is read from, in order: an explicit argument (its owner's keyword
or command-line flag), its environment variable (``NAPARI_OUTPAINT_*``),
the settings file (:func:`settings_path`, which the widget's Options
edit), then its default. The settings file never holds the API key.
"""

from napari_outpaint._settings.fields import (
    CACHE_DIR,
    CACHE_MAX_BYTES,
    CONCURRENCY,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_BYTES,
    MAX_CONCURRENCY,
    MAX_PASSES,
    SETTINGS,
    SPEND_CAP,
    Setting,
    by_key,
)
from napari_outpaint._settings.file import (
    CONFIG_ENV,
    SettingsFile,
    SettingsFileError,
    is_secret_name,
    read_settings,
    save_settings,
    settings_path,
)
from napari_outpaint._settings.resolve import (
    DEFAULT,
    ENVIRONMENT,
    FILE,
    Resolved,
    env_value,
    resolve,
    setting_value,
)

__all__ = [
    'CACHE_DIR',
    'CACHE_MAX_BYTES',
    'CONCURRENCY',
    'CONFIG_ENV',
    'DEFAULT',
    'DEFAULT_CONCURRENCY',
    'DEFAULT_MAX_BYTES',
    'ENVIRONMENT',
    'FILE',
    'MAX_CONCURRENCY',
    'MAX_PASSES',
    'SETTINGS',
    'SPEND_CAP',
    'Resolved',
    'Setting',
    'SettingsFile',
    'SettingsFileError',
    'by_key',
    'env_value',
    'is_secret_name',
    'read_settings',
    'resolve',
    'save_settings',
    'setting_value',
    'settings_path',
]
