"""A PatchMatch worker process: reads jobs on stdin, writes fills to stdout.

Run as ``python -m napari_outpaint.engines._pm_worker``. OpenCV's
internal thread pool, statically linked into PyPatchMatch, serialises
concurrent calls inside one process (two threads gave 1.3x, two processes
1.9x on 2 cores), so parallel fills run in separate processes, each told
to use one OpenCV thread before the library loads.

Protocol (pickle, our own parent only): the worker first writes
``('ready', available)``; then for each ``(image, mask, seed,
patch_size)`` it writes ``('ok', filled)`` or ``('error', text)``.
"""

from __future__ import annotations

import os
import pickle
import sys


def main() -> None:
    """Serve fill jobs until stdin closes."""
    os.environ['OPENCV_FOR_THREADS_NUM'] = '1'  # before the library loads
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the protocol
    try:  # after the thread setting above, which OpenCV reads on load
        import patchmatch

        available = bool(patchmatch.patchmatch_available)
    except ImportError:
        available = False
    pickle.dump(('ready', available), stdout, protocol=5)
    stdout.flush()
    while True:
        try:
            image, mask, seed, patch_size = pickle.load(stdin)
        except EOFError:
            return
        try:
            patchmatch.set_random_seed(seed)
            filled = patchmatch.inpaint(image, mask, patch_size=patch_size)
            reply = ('ok', filled)
        except Exception as exc:  # noqa: BLE001 - the parent raises it
            reply = ('error', f'{type(exc).__name__}: {exc}')
        pickle.dump(reply, stdout, protocol=5)
        stdout.flush()


if __name__ == '__main__':
    main()
