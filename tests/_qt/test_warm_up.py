"""The first run's imports are loaded by a background thread, not the GUI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from napari_outpaint._qt import widget as widget_module
from napari_outpaint._qt.warm_up import THREAD_NAME, WARM_MODULES

# A fresh interpreter (this one has imported everything already): a spy on
# the import system notes which thread first looks up each module.
_SPY = """
import importlib.util, json, sys, threading
first = {}
class Spy:
    def find_spec(self, name, path=None, target=None):
        first.setdefault(name, threading.current_thread().name)
sys.meta_path.insert(0, Spy())
from napari_outpaint._qt.warm_up import WARM_MODULES, warm_up
thread = warm_up()
same = warm_up() is thread
thread.join(60)
import tqdm
print(json.dumps({
    'same': same,
    'alive': thread.is_alive(),
    'first': first,
    'installed': [
        name for name in WARM_MODULES
        if name in sys.modules or importlib.util.find_spec(name)
    ],
    'tqdm_lock': getattr(tqdm.tqdm, '_lock', None) is not None,
}))
"""


def test_warm_up_imports_the_run_modules_on_its_own_thread():
    """Each module a first run would load, and tqdm's write lock (made by
    the first progress bar otherwise), are loaded by the warm-up thread;
    a second call starts no second thread."""
    out = subprocess.run(
        [sys.executable, '-c', _SPY],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report['same']
    assert not report['alive']
    assert {'httpcore', 'h11', 'certifi'} <= set(report['installed'])
    for name in report['installed']:
        assert report['first'].get(name) == THREAD_NAME, name
    assert report['first'].get('multiprocessing.synchronize') == THREAD_NAME
    assert report['tqdm_lock']


def test_warm_up_modules_are_installed():
    """Every module listed is installed (PatchMatch may be missing): a
    misspelt name would be skipped silently and warm nothing."""
    import importlib.util

    missing = [
        name
        for name in WARM_MODULES
        if name != 'patchmatch' and importlib.util.find_spec(name) is None
    ]
    assert missing == []


@pytest.mark.gui
def test_creating_the_widget_starts_the_warm_up(
    make_napari_viewer, monkeypatch
):
    """The widget starts the warm-up when it is created, before any Run."""
    calls = []
    monkeypatch.setattr(widget_module, 'warm_up', lambda: calls.append(1))
    viewer = make_napari_viewer()
    widget_module.OutpaintWidget(viewer)
    assert calls == [1]
