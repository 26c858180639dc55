"""The settings a user may change, and the one rule for each one's values.

Each :class:`Setting` names its key in the settings file, its environment
variable (a public contract: the names never change), its default and
the rule its values follow. The same :meth:`Setting.parse` reads a value
from the environment (text) and from the settings file (a TOML value), so
both are held to the same rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from napari_outpaint._canvas import DEFAULT_MAX_PASSES

__all__ = [
    'CACHE_DIR',
    'CACHE_MAX_BYTES',
    'CONCURRENCY',
    'DEFAULT_CONCURRENCY',
    'DEFAULT_MAX_BYTES',
    'MAX_CONCURRENCY',
    'MAX_PASSES',
    'SETTINGS',
    'SPEND_CAP',
    'Setting',
    'by_key',
]

#: Default number of planes in flight (see bench/bench_batch.py).
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 32
#: Default size limit of the result cache (2 GiB).
DEFAULT_MAX_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class Setting:
    """One setting: where it is read from and what it may hold.

    Attributes
    ----------
    key : str
        Its name in the settings file.
    env : str
        The environment variable that overrides the file.
    default : object
        The value when neither sets it (None: none, or the platform's).
    rule : str
        What a value must be, in words (for error messages).
    unset : str
        What leaving it unset gives, in words.
    convert : callable
        ``convert(raw) -> value``; raises ``ValueError`` for a bad value.
    """

    key: str
    env: str
    default: Any
    rule: str
    unset: str
    convert: Callable[[Any], Any]

    def parse(self, raw: Any) -> Any:
        """The value *raw* stands for (text from the environment, or a
        TOML value from the file).

        Raises
        ------
        ValueError
            When *raw* breaks :attr:`rule` (saying the rule).
        """
        try:
            return self.convert(raw)
        except ValueError:
            raise ValueError(
                f'{self.key} must be {self.rule}, got {raw!r}'
            ) from None


def _dollars(raw: Any) -> float:
    if isinstance(raw, str):
        try:
            value = float(raw.strip().lstrip('$'))
        except ValueError:
            value = math.nan
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    else:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(raw)
    return value


def _whole(raw: Any, *, underscores: bool = False) -> int:
    if isinstance(raw, str):
        text = raw.strip()
        if underscores:
            text = text.replace('_', '')
        if not text.isdigit():
            raise ValueError(raw)
        return int(text)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    raise ValueError(raw)


def _concurrency(raw: Any) -> int:
    value = _whole(raw)
    if not 1 <= value <= MAX_CONCURRENCY:
        raise ValueError(raw)
    return value


def _passes(raw: Any) -> int:
    value = _whole(raw)
    if value < 1:
        raise ValueError(raw)
    return value


def _bytes(raw: Any) -> int:
    value = _whole(raw, underscores=True)
    if value < 0:
        raise ValueError(raw)
    return value


def _folder(raw: Any) -> Path:
    if not isinstance(raw, str | Path) or not str(raw).strip():
        raise ValueError(raw)
    return Path(str(raw).strip()).expanduser()


SPEND_CAP = Setting(
    key='spend_cap_usd',
    env='NAPARI_OUTPAINT_SPEND_CAP_USD',
    default=None,
    rule='a number of US dollars >= 0 (e.g. 5 or 12.50)',
    unset='no cap',
    convert=_dollars,
)
CONCURRENCY = Setting(
    key='concurrency',
    env='NAPARI_OUTPAINT_CONCURRENCY',
    default=DEFAULT_CONCURRENCY,
    rule=f'an integer 1-{MAX_CONCURRENCY} (planes in flight at once)',
    unset=f'the default ({DEFAULT_CONCURRENCY})',
    convert=_concurrency,
)
CACHE_DIR = Setting(
    key='cache_dir',
    env='NAPARI_OUTPAINT_CACHE_DIR',
    default=None,
    rule='a folder (a path)',
    unset="the platform's user cache folder",
    convert=_folder,
)
CACHE_MAX_BYTES = Setting(
    key='cache_max_bytes',
    env='NAPARI_OUTPAINT_CACHE_MAX_BYTES',
    default=DEFAULT_MAX_BYTES,
    rule=(
        f'a whole number of bytes >= 0 (e.g. {DEFAULT_MAX_BYTES} for 2 GiB)'
    ),
    unset='the default (2 GiB)',
    convert=_bytes,
)
MAX_PASSES = Setting(
    key='max_passes',
    env='NAPARI_OUTPAINT_MAX_PASSES',
    default=DEFAULT_MAX_PASSES,
    rule=(
        'a whole number of passes >= 1 (Runflow runs one canvas may take, '
        f'e.g. {DEFAULT_MAX_PASSES})'
    ),
    unset=f'the default ({DEFAULT_MAX_PASSES})',
    convert=_passes,
)

#: Every setting, in the order the widget shows them.
SETTINGS: tuple[Setting, ...] = (
    SPEND_CAP,
    CONCURRENCY,
    CACHE_DIR,
    CACHE_MAX_BYTES,
    MAX_PASSES,
)


def by_key(key: str) -> Setting:
    """The setting stored under *key* in the file.

    Raises
    ------
    KeyError
        When no setting has that key.
    """
    for setting in SETTINGS:
        if setting.key == key:
            return setting
    raise KeyError(key)
