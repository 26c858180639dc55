"""Each setting's one rule, the same for text (the environment) and TOML
values (the file); the environment variable names are a contract."""

import re
from pathlib import Path

import pytest

from napari_outpaint._settings import (
    CACHE_DIR,
    CACHE_MAX_BYTES,
    CONCURRENCY,
    MAX_PASSES,
    SETTINGS,
    SPEND_CAP,
    by_key,
)


def test_environment_variable_names_are_kept():
    """The variables people already set keep their exact names."""
    assert {s.key: s.env for s in SETTINGS} == {
        'spend_cap_usd': 'NAPARI_OUTPAINT_SPEND_CAP_USD',
        'concurrency': 'NAPARI_OUTPAINT_CONCURRENCY',
        'cache_dir': 'NAPARI_OUTPAINT_CACHE_DIR',
        'cache_max_bytes': 'NAPARI_OUTPAINT_CACHE_MAX_BYTES',
        'max_passes': 'NAPARI_OUTPAINT_MAX_PASSES',
    }


@pytest.mark.parametrize(
    ('setting', 'raw', 'value'),
    [
        (SPEND_CAP, '5', 5.0),
        (SPEND_CAP, '$12.50', 12.5),
        (SPEND_CAP, 3, 3.0),
        (SPEND_CAP, 0.5, 0.5),
        (CONCURRENCY, '8', 8),
        (CONCURRENCY, 32, 32),
        (CACHE_MAX_BYTES, '1_000', 1000),
        (CACHE_MAX_BYTES, 0, 0),
        (MAX_PASSES, ' 2 ', 2),
        (MAX_PASSES, 6, 6),
        (CACHE_DIR, '~/outpaint-cache', Path('~/outpaint-cache').expanduser()),
    ],
)
def test_a_good_value_reads_the_same_from_text_and_toml(setting, raw, value):
    """'8' from the environment and 8 from the file mean the same."""
    assert setting.parse(raw) == value


@pytest.mark.parametrize(
    ('setting', 'raw'),
    [
        (SPEND_CAP, 'lots'),
        (SPEND_CAP, -1),
        (SPEND_CAP, float('inf')),
        (SPEND_CAP, True),
        (CONCURRENCY, 0),
        (CONCURRENCY, 33),
        (CONCURRENCY, '4.5'),
        (CONCURRENCY, 4.0),
        (CACHE_MAX_BYTES, '2GB'),
        (CACHE_MAX_BYTES, -5),
        (MAX_PASSES, 0),
        (MAX_PASSES, 'many'),
        (CACHE_DIR, ''),
        (CACHE_DIR, 5),
    ],
)
def test_a_bad_value_is_refused(setting, raw):
    """Out of range, the wrong type or not a number: ValueError."""
    with pytest.raises(ValueError, match=re.escape(setting.rule)):
        setting.parse(raw)


def test_by_key_finds_a_setting_and_refuses_others():
    """Only the five settings have keys."""
    assert by_key('max_passes') is MAX_PASSES
    with pytest.raises(KeyError):
        by_key('api_key')
