"""Secrets out of messages and records: redact_url, scrub.

What this file checks
---------------------
- ``redact_url`` drops the query string (presigned credentials) and the
  fragment.
- ``scrub`` returns a JSON-safe copy in which keys that name a secret
  are dropped at any depth, every URL in any string loses its query
  string, and the value of ``RUNFLOW_API_KEY`` is replaced wherever it
  appears.
"""

import json
from pathlib import PurePosixPath

import numpy as np
import pytest

from napari_outpaint._secrets import redact_url, scrub

KEY = 'rf_live_0123456789abcdef'


def test_redact_url_drops_query_and_fragment():
    """Presigned credentials live in the query string, which is removed."""
    url = 'https://bucket.example/a/b.png?X-Amz-Signature=secret#frag'
    assert redact_url(url) == ('https://bucket.example/a/b.png?<redacted>')
    assert redact_url('https://x.example/p') == 'https://x.example/p'


@pytest.mark.parametrize(
    'name',
    [
        'api_key',
        'API-Key',
        'apikey',
        'Authorization',
        'access_token',
        'refresh_token',
        'client_secret',
        'password',
    ],
)
def test_scrub_drops_keys_that_name_a_secret(name):
    """Such a key goes with its value, whatever the case or separator."""
    assert scrub({name: 'hunter2', 'model': 'runflow/outpaint'}) == {
        'model': 'runflow/outpaint'
    }


def test_scrub_drops_secret_keys_at_any_depth():
    """Mappings inside lists inside mappings are scrubbed too."""
    record = {
        'requests': [
            {'headers': {'Authorization': 'Bearer x', 'Accept': 'image/png'}},
            {'token': 't0k3n', 'status': 201},
        ],
        'plane': [1, 0],
    }
    assert scrub(record) == {
        'requests': [
            {'headers': {'Accept': 'image/png'}},
            {'status': 201},
        ],
        'plane': [1, 0],
    }


def test_scrub_redacts_the_query_of_every_url_in_a_string():
    """URLs lose their query wherever they appear; plain URLs are kept."""
    text = (
        'fetched https://bucket.example/in.png?X-Amz-Signature=abc then '
        'http://other.example/out?sig=def#x and https://docs.example/p'
    )
    assert scrub({'note': text}) == {
        'note': 'fetched https://bucket.example/in.png?<redacted> then '
        'http://other.example/out?<redacted> and https://docs.example/p'
    }


def test_scrub_replaces_the_api_key_wherever_it_appears(monkeypatch):
    """The value of RUNFLOW_API_KEY never survives, in any string."""
    monkeypatch.setenv('RUNFLOW_API_KEY', KEY)
    record = {
        'note': f'sent with {KEY}!',
        'args': ['--verbose', KEY, (f'x{KEY}y',)],
        'url': f'https://example.org/{KEY}/a.png?q=1',
    }
    scrubbed = scrub(record)
    assert KEY not in json.dumps(scrubbed)
    assert scrubbed == {
        'note': 'sent with <redacted>!',
        'args': ['--verbose', '<redacted>', ['x<redacted>y']],
        'url': 'https://example.org/<redacted>/a.png?<redacted>',
    }


def test_scrub_leaves_text_alone_without_a_key(monkeypatch):
    """Unset, empty or too short (< 8) keys replace nothing."""
    record = {'note': 'abc abcdefg'}
    assert scrub(record) == record
    for value in ('', 'abc', 'abcdefg'):
        monkeypatch.setenv('RUNFLOW_API_KEY', value)
        assert scrub(record) == record


def test_scrub_returns_a_json_safe_copy():
    """Tuples become lists, numpy scalars Python numbers, the rest text."""
    record = {
        'plane': (2, np.int64(0)),
        'scale': np.float32(0.5),
        'ok': np.bool_(True),
        'none': None,
        'path': PurePosixPath('/data/in.tif'),
        3: 'three',
    }
    scrubbed = scrub(record)
    assert scrubbed == {
        'plane': [2, 0],
        'scale': 0.5,
        'ok': True,
        'none': None,
        'path': '/data/in.tif',
        '3': 'three',
    }
    assert json.loads(json.dumps(scrubbed)) == scrubbed
    assert type(scrubbed['plane'][1]) is int
    assert type(scrubbed['ok']) is bool


def test_scrub_does_not_change_its_argument(monkeypatch):
    """The caller's record keeps its secrets; scrub works on a copy."""
    monkeypatch.setenv('RUNFLOW_API_KEY', KEY)
    record = {'api_key': KEY, 'nested': {'note': KEY}, 'items': [KEY]}
    scrub(record)
    assert record == {'api_key': KEY, 'nested': {'note': KEY}, 'items': [KEY]}
