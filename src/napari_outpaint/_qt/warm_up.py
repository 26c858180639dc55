"""Load what the first run needs on a background thread, not during Run.

A run imports a few modules on first use (the HTTP transport behind
httpx, Pillow's common codecs, PatchMatch) and tqdm creates its write
lock on the first progress bar. Done at the first Run, that work competes
with the GUI thread (the GIL, the lock on the GUI thread itself) while
the user watches the viewer. :func:`warm_up` does it once per process, on
a thread of its own started when the widget is created, so the widget
appears at once and the first run finds everything loaded.
"""

from __future__ import annotations

import importlib
import logging
import threading

import tqdm
from PIL import Image

__all__ = ['THREAD_NAME', 'WARM_MODULES', 'warm_up']

logger = logging.getLogger(__name__)

THREAD_NAME = 'napari-outpaint-warm-up'
# The modules the first run imported in its worker thread (bench/ui_stall.py
# with an import spy): httpx's transport (httpcore, h11), certifi and the
# IDNA codec of the first request, and PatchMatch for the local engine.
WARM_MODULES = (
    'httpcore',
    'h11',
    'certifi',
    'encodings.idna',
    'patchmatch',
)

_lock = threading.Lock()
_thread: threading.Thread | None = None


def warm_up() -> threading.Thread:
    """Start the warm-up once per process; return its thread.

    Later calls return the same thread (alive or finished). Nothing here
    touches Qt or the viewer, and a module that cannot be imported is
    skipped: the run reports it when it needs it.
    """
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(
                target=_warm, name=THREAD_NAME, daemon=False
            )
            _thread.start()
        return _thread


def _warm() -> None:
    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - optional, reported later
            logger.debug('warm-up skipped %s: %s', name, exc)
    try:
        # Pillow's common codecs (PNG, JPEG...), else loaded at first use;
        # the rest (Image.init, ~30 ms) only if a run meets another format
        Image.preinit()
        # tqdm's class-wide write lock (a multiprocessing RLock) is
        # otherwise made by the first progress bar, on the GUI thread
        tqdm.tqdm.get_lock()
    except Exception as exc:  # noqa: BLE001 - an optimisation only
        logger.debug('warm-up skipped Pillow/tqdm: %s', exc)
