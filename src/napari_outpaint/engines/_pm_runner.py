"""Run PatchMatch fill jobs in parallel worker processes, cancellably.

A :class:`PatchMatchRunner` owns ``workers`` child processes
(:mod:`._pm_worker`) for the duration of one ``with`` block. Jobs are
handed out as workers free up; a cancel kills the children at once (a
native PatchMatch call cannot be interrupted otherwise), so cancelling
takes effect within a poll interval (50 ms). With ``workers=0``, or when
a child cannot be started, jobs run in this process one at a time, in a
helper thread that a cancel abandons (the call ends in the background and
its result is dropped), so the caller is released just as fast.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_outpaint._background import BackgroundCall
from napari_outpaint._errors import ResultError
from napari_outpaint._progress import CancelToken

__all__ = ['FillJob', 'PatchMatchRunner', 'patchmatch_importable']

_POLL_SECONDS = 0.05
_WORKER_SCRIPT = Path(__file__).with_name('_pm_worker.py')
_IN_PROCESS_LOCK = threading.Lock()  # the seed is global in the library


@dataclass(frozen=True)
class FillJob:
    """One PatchMatch call: fill the non-zero pixels of *mask* in *image*."""

    image: np.ndarray
    mask: np.ndarray
    seed: int
    patch_size: int = 3


def patchmatch_importable() -> bool:
    """Whether PyPatchMatch imports and its native library loaded."""
    try:  # loading it loads OpenCV, and it may be missing on a platform
        import patchmatch
    except ImportError:
        return False
    return bool(patchmatch.patchmatch_available)


def _fill_in_process(job: FillJob) -> np.ndarray:
    import patchmatch  # heavy (OpenCV); only when no worker process runs

    with _IN_PROCESS_LOCK:
        patchmatch.set_random_seed(job.seed)
        return patchmatch.inpaint(
            job.image, job.mask, patch_size=job.patch_size
        )


def _fill_in_thread(job: FillJob, cancel: CancelToken) -> np.ndarray:
    """Fill in a helper thread; on cancel, return at once without it.

    A native call cannot be interrupted: after a cancel it finishes in the
    background and its result is dropped, so the caller is released within
    a poll interval either way.
    """
    call = BackgroundCall(
        lambda: _fill_in_process(job), name='napari-outpaint-fill'
    ).start()
    while not call.done.wait(_POLL_SECONDS):
        cancel.raise_if_cancelled()
    return call.result()


class _Worker:
    """One child process speaking the :mod:`._pm_worker` protocol.

    The worker runs as a plain script, so it imports only numpy and
    PyPatchMatch (about 0.15 s), not this package.
    """

    def __init__(self) -> None:
        env = dict(os.environ, OPENCV_FOR_THREADS_NUM='1')
        self.proc = subprocess.Popen(
            # -P: the script's folder must not shadow stdlib modules
            [sys.executable, '-P', str(_WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    def handshake(self) -> None:
        tag, available = pickle.load(self.proc.stdout)
        if tag != 'ready' or not available:
            raise OSError('the PatchMatch worker could not load the library')

    def fill(self, job: FillJob) -> np.ndarray:
        payload = (job.image, job.mask, job.seed, job.patch_size)
        pickle.dump(payload, self.proc.stdin, protocol=5)
        self.proc.stdin.flush()
        tag, value = pickle.load(self.proc.stdout)
        if tag != 'ok':
            raise ResultError(
                f'PatchMatch failed: {value}. Try the reflect method.'
            )
        return value

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self.proc.wait()


class PatchMatchRunner:
    """Runs :class:`FillJob` s on up to *workers* processes.

    Parameters
    ----------
    workers : int
        Worker processes; 0 runs the jobs in this process.
    """

    def __init__(self, workers: int = 0) -> None:
        self.workers = max(0, int(workers))
        self._pool: list[_Worker] = []

    @property
    def parallel(self) -> int:
        """How many jobs actually run at once."""
        return max(1, len(self._pool))

    @property
    def in_process(self) -> bool:
        """Whether jobs run in this process (no worker could start)."""
        return not self._pool

    def __enter__(self) -> PatchMatchRunner:
        # A frozen app's executable is the app itself, not a Python.
        if self.workers > 0 and not getattr(sys, 'frozen', False):
            try:
                for _ in range(self.workers):
                    self._pool.append(_Worker())
                for worker in self._pool:  # started together, then awaited
                    worker.handshake()
            except (OSError, EOFError, pickle.UnpicklingError, ValueError):
                self.close()  # fall back to in-process, one job at a time
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker process (idempotent)."""
        pool, self._pool = self._pool, []
        for worker in pool:
            worker.kill()

    def run(
        self,
        jobs: Sequence[FillJob],
        *,
        cancel: CancelToken | None = None,
        on_done: Callable[[int], None] | None = None,
    ) -> list[np.ndarray]:
        """Fill every job; return the filled images in job order.

        Parameters
        ----------
        jobs : sequence of FillJob
        cancel : CancelToken, optional
            Checked every 50 ms.
        on_done : callable, optional
            Called with the number of jobs finished so far.

        Raises
        ------
        OutpaintCancelled
            When *cancel* was cancelled; the workers are killed first.
        """
        cancel = cancel or CancelToken()
        if not self._pool:
            results = []
            for job in jobs:
                cancel.raise_if_cancelled()
                results.append(_fill_in_thread(job, cancel))
                if on_done:
                    on_done(len(results))
            return results
        return self._run_parallel(list(jobs), cancel, on_done)

    def _run_parallel(self, jobs, cancel, on_done) -> list[np.ndarray]:
        results: list[np.ndarray | None] = [None] * len(jobs)
        errors: list[BaseException] = []
        state = {'next': 0, 'done': 0}
        lock = threading.Lock()
        finished = threading.Event()

        def serve(worker: _Worker) -> None:
            while True:
                with lock:
                    index = state['next']
                    if index >= len(jobs) or errors:
                        return
                    state['next'] += 1
                try:
                    results[index] = worker.fill(jobs[index])
                except BaseException as exc:  # noqa: BLE001 - EOF after a kill
                    with lock:
                        errors.append(exc)
                    finished.set()
                    return
                with lock:
                    state['done'] += 1
                    if state['done'] == len(jobs):
                        finished.set()

        threads = [
            threading.Thread(target=serve, args=(w,), daemon=True)
            for w in self._pool
        ]
        if not jobs:
            return []
        for thread in threads:
            thread.start()
        reported = 0
        completed = False
        try:
            while not finished.wait(_POLL_SECONDS):
                if cancel.cancelled:
                    break
                if on_done and state['done'] != reported:
                    reported = state['done']
                    on_done(reported)
            if cancel.cancelled:
                self.close()  # the only way to stop a native call
                cancel.raise_if_cancelled()
            if errors:
                error = errors[0]
                if isinstance(error, ResultError):
                    raise error
                raise ResultError(
                    f'a PatchMatch worker stopped ({error!r}); try again '
                    'or use the reflect method.'
                ) from error
            completed = True
        finally:
            if not completed:  # cancel, failure or KeyboardInterrupt
                self.close()
            for thread in threads:
                thread.join(timeout=5.0)
        if on_done and reported != len(jobs):
            on_done(len(jobs))
        return results  # type: ignore[return-value]
