"""The journal of runs submitted but not yet collected (RunJournal).

What this file checks
---------------------
- ``record`` / ``get`` / ``pending`` / ``resolve``: entries persist
  across instances, are listed oldest first, and are forgotten once
  resolved.
- One file per run, named by a digest of the run id (a run id never
  picks the path), written atomically: a failed write keeps the old
  entry and leaves no temporary file.
- Unreadable or incomplete records are reported (``DamagedRecordError``)
  and moved aside to ``damaged/``, never read as absent.
- ``info`` is scrubbed of secrets and presigned query strings before it
  is written.
"""

from __future__ import annotations

import itertools
import json
import os
from types import SimpleNamespace

import numpy as np
import pytest

from napari_outpaint._cache import journal as _journal
from napari_outpaint._cache.journal import (
    DamagedRecordError,
    PendingRun,
    RunJournal,
)
from napari_outpaint._cache.store import ResultCache
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import Expand

MODEL = 'runflow/outpaint'
KEY = 'a' * 64


def _rgb(seed: int = 0, shape=(6, 5, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)


@pytest.fixture
def clock(monkeypatch):
    """``time.time()`` of the journal returns 100, 200, 300, ..."""
    ticks = itertools.count(100.0, 100.0)
    monkeypatch.setattr(
        _journal, 'time', SimpleNamespace(time=lambda: next(ticks))
    )


def _files(root) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_journal_records_lists_and_resolves_runs():
    """Pending runs persist across instances until resolved."""
    cache = ResultCache()
    key = cache.key_for(_rgb(11), Expand(10, 0, 0, 0), MODEL)
    info = {
        'expand': Expand(10, 0, 0, 0).as_dict(),
        'model': MODEL,
        'plane': [2, 0],
    }
    cache.record_pending('run-a', key, info)
    cache.record_pending('run/b', key, {'plane': [3, 0]})
    reopened = ResultCache()
    pending = reopened.pending()
    assert [p.run_id for p in pending] == ['run-a', 'run/b']
    assert pending[0].key == key
    assert pending[0].info == info
    assert pending[0].created_at <= pending[1].created_at
    assert reopened.resolve('run-a') is True
    assert reopened.resolve('run-a') is False
    assert [p.run_id for p in cache.pending()] == ['run/b']


def test_record_returns_the_entry_another_instance_gets(tmp_path, clock):
    """What record returns is what a new journal on the same root reads."""
    info = {'model': MODEL, 'plane': [1, 0], 'expand': {'top': 10}}
    recorded = RunJournal(tmp_path / 'j').record('run-1', KEY, info)
    assert recorded == PendingRun('run-1', KEY, 100.0, info)
    assert RunJournal(tmp_path / 'j').get('run-1') == recorded


def test_nothing_recorded_means_nothing_pending(tmp_path):
    """A journal that never wrote lists nothing and creates no folder."""
    journal = RunJournal(tmp_path / 'never')
    assert journal.pending() == []
    assert journal.get('run-1') is None
    assert journal.resolve('run-1') is False
    assert not (tmp_path / 'never').exists()


def test_root_is_created_on_first_record(tmp_path):
    """record creates missing parent folders of the journal."""
    root = tmp_path / 'a' / 'b' / 'pending'
    RunJournal(root).record('run-1', KEY)
    assert len(_files(root)) == 1


def test_pending_lists_oldest_first(tmp_path, clock):
    """Entries come back in the order they were recorded, by created_at."""
    journal = RunJournal(tmp_path)
    for run_id in ('run-c', 'run-a', 'run-b'):
        journal.record(run_id, KEY)
    pending = journal.pending()
    assert [p.run_id for p in pending] == ['run-c', 'run-a', 'run-b']
    assert [p.created_at for p in pending] == [100.0, 200.0, 300.0]


def test_one_file_per_run_and_recording_again_replaces_it(tmp_path, clock):
    """Each run id has one file; a second record of it overwrites it."""
    journal = RunJournal(tmp_path)
    journal.record('run-1', KEY, {'plane': [0]})
    journal.record('run-2', KEY)
    journal.record('run-1', 'b' * 64, {'plane': [5]})
    assert len(_files(tmp_path)) == 2
    entry = journal.get('run-1')
    assert entry.key == 'b' * 64
    assert entry.info == {'plane': [5]}
    assert [p.run_id for p in journal.pending()] == ['run-2', 'run-1']


def test_resolve_deletes_only_that_runs_file(tmp_path):
    """Resolving one run removes its file and keeps the others."""
    journal = RunJournal(tmp_path)
    journal.record('run-1', KEY)
    journal.record('run-2', KEY)
    assert journal.resolve('run-1') is True
    assert journal.get('run-1') is None
    assert [p.run_id for p in journal.pending()] == ['run-2']
    assert len(_files(tmp_path)) == 1


@pytest.mark.parametrize(
    'run_id', ['../../escaped', '/etc/passwd', 'a/b\\c', 'ü' * 300]
)
def test_file_name_is_a_digest_of_the_run_id(tmp_path, run_id):
    """Any run id maps to one short .json file inside the root."""
    root = tmp_path / 'journal'
    RunJournal(root).record(run_id, KEY)
    (name,) = _files(root)
    assert name.endswith('.json')
    assert len(name) == 32 + len('.json')
    assert set(name.removesuffix('.json')) <= set('0123456789abcdef')
    assert _files(tmp_path) == ['journal']
    assert RunJournal(root).get(run_id).run_id == run_id


def test_the_file_is_json_with_the_entry(tmp_path, clock):
    """The file on disk holds run_id, key, created_at and info."""
    RunJournal(tmp_path).record('run-1', KEY, {'model': MODEL})
    (path,) = tmp_path.iterdir()
    assert json.loads(path.read_text()) == {
        'run_id': 'run-1',
        'key': KEY,
        'created_at': 100.0,
        'info': {'model': MODEL},
    }


def test_a_failed_write_keeps_the_previous_entry(tmp_path, monkeypatch):
    """The file is replaced atomically: a failed rename changes nothing."""
    journal = RunJournal(tmp_path)
    journal.record('run-1', KEY, {'plane': [0]})

    def refuse(src, dst):
        raise OSError('disk full')

    with monkeypatch.context() as patched:
        patched.setattr(os, 'replace', refuse)
        with pytest.raises(OSError, match='disk full'):
            journal.record('run-1', 'b' * 64, {'plane': [9]})
    assert len(_files(tmp_path)) == 1  # no temporary file left behind
    entry = journal.get('run-1')
    assert entry.key == KEY
    assert entry.info == {'plane': [0]}


@pytest.mark.parametrize(
    'content',
    [
        b'{"run_id": "run-x", "key": "k", "creat',
        b'\xff\xfe\x00not text',
        b'[]',
        b'{"key": "k", "created_at": 1.0}',
        b'{"run_id": "run-x", "key": "k", "created_at": "soon"}',
    ],
    ids=['truncated', 'not-utf8', 'not-an-object', 'no-run-id', 'bad-time'],
)
def test_unreadable_records_are_reported_and_moved_aside(tmp_path, content):
    """A corrupt record is never read as absent (that could pay again): it
    is reported, kept aside byte for byte, and the next call goes on."""
    journal = RunJournal(tmp_path / 'pending')
    journal.record('run-ok', KEY)
    journal.record('run-x', KEY)
    journal._path('run-x').write_bytes(content)
    with pytest.raises(DamagedRecordError) as caught:
        journal.pending()
    [aside] = caught.value.aside
    assert aside.parent == tmp_path / 'damaged'
    assert aside.read_bytes() == content
    assert str(aside) in str(caught.value)
    assert 'collect' in str(caught.value)
    assert [p.run_id for p in journal.pending()] == ['run-ok']
    assert journal.get('run-x') is None


def test_get_reports_a_damaged_record_of_that_run(tmp_path):
    journal = RunJournal(tmp_path / 'pending')
    journal.record('run-x', KEY)
    journal._path('run-x').write_bytes(b'{"run_id": "run-x", "ke')
    with pytest.raises(DamagedRecordError):
        journal.get('run-x')
    assert journal.get('run-x') is None
    assert len(list((tmp_path / 'damaged').iterdir())) == 1


def test_a_record_being_written_is_not_damaged(tmp_path):
    """The temporary file of an atomic write is not a record."""
    journal = RunJournal(tmp_path / 'pending')
    journal.record('run-ok', KEY)
    (journal.root / '.tmp-abc.json').write_bytes(b'{"run_')
    assert [p.run_id for p in journal.pending()] == ['run-ok']


def test_info_is_scrubbed_before_it_is_written(tmp_path, monkeypatch):
    """Secrets in info never reach the file, nor the returned entry."""
    monkeypatch.setenv('RUNFLOW_API_KEY', 'rf-live-0123456789')
    url = 'https://bucket.example/in.png?X-Amz-Signature=deadbeef'
    info = {
        'image_url': url,
        'api_key': 'rf-other-key',
        'headers': {'Authorization': 'Bearer abc', 'Accept': 'image/png'},
        'note': 'sent with rf-live-0123456789',
        'plane': (2, 0),
    }
    entry = RunJournal(tmp_path).record('run-1', KEY, info)
    text = next(tmp_path.iterdir()).read_text()
    for secret in ('deadbeef', 'rf-other-key', 'Bearer', 'rf-live-0123'):
        assert secret not in text
    expected = {
        'image_url': 'https://bucket.example/in.png?<redacted>',
        'headers': {'Accept': 'image/png'},
        'note': 'sent with <redacted>',
        'plane': [2, 0],
    }
    assert entry.info == expected
    assert RunJournal(tmp_path).get('run-1').info == expected


@pytest.mark.parametrize('run_id', ['', None, 42])
def test_run_id_must_be_a_non_empty_string(tmp_path, run_id):
    """A missing run id is refused, naming it, and nothing is written."""
    with pytest.raises(InvalidInputError) as info:
        RunJournal(tmp_path / 'j').record(run_id, KEY)
    assert info.value.field == 'run_id'
    assert not (tmp_path / 'j').exists()
