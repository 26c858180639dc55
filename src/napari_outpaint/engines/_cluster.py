"""The local engine's PatchMatch fills as tasks on a Dask cluster.

When :class:`~napari_outpaint.engines.local.LocalEngine` has a
``distributed.Client`` (given, or the one active in this process), each
plane's fill goes out as one task, :func:`fill_task`, to the cluster the
client points at (a ``LocalCluster``, SLURM through dask-jobqueue,
Kubernetes, ...). The task is a module-level function of the plane's
arrays, so a worker needs napari-outpaint and PyPatchMatch installed, not
this process's state. Around it:

- one key per plane (``napari-outpaint-fill-<hex>``, ``pure=False``):
  two equal planes are two tasks, and the tasks are easy to find in the
  scheduler's records and the dashboard;
- progress: the task reports its steps as worker events on a topic named
  by its key; this process subscribes to it and hands them on from the
  waiting thread, as the local fill does;
- cancel: :meth:`Future.cancel` of the task; one not started never runs
  (one already running finishes on its worker and is dropped,
  distributed#4694);
- a lost worker: the scheduler runs its tasks again on another worker (up
  to ``distributed.scheduler.allowed-failures``, then ``KilledWorker``);
  an exception in the task is retried :data:`TASK_RETRIES` times.

``distributed`` is imported only where a cluster is asked for (the
``--scheduler`` flag) or on a worker; :func:`active_client` looks for a
client only when ``distributed`` is already imported, so the plugin never
loads it needlessly.
"""

from __future__ import annotations

import queue
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from typing import Any

import numpy as np

from napari_outpaint._errors import (
    ConfigurationError,
    InvalidInputError,
    OutpaintError,
    ResultError,
)
from napari_outpaint._expand import Padding
from napari_outpaint._progress import CancelToken
from napari_outpaint.engines._patchmatch_fill import fill_plane

__all__ = [
    'TASK_PREFIX',
    'TASK_RETRIES',
    'active_client',
    'check_client',
    'cluster_threads',
    'connect',
    'fill_on_cluster',
    'fill_task',
    'scheduler_address',
]

#: Every plane's task key starts with this.
TASK_PREFIX = 'napari-outpaint-fill'
#: Retries of a task that raised (a lost worker is rescheduled anyway).
TASK_RETRIES = 2
_POLL_SECONDS = 0.05
_DONE = object()

Report = Callable[[float, str], None]


def active_client() -> Any | None:
    """The Dask client active in this process, or None.

    Only when ``distributed`` is already imported (someone made a
    client): this never imports it. A closed or asynchronous client does
    not count.
    """
    distributed = sys.modules.get('distributed')
    if distributed is None:
        return None
    try:
        client = distributed.default_client()
    except ValueError:  # no client was made, or it was closed
        return None
    if client.status != 'running' or client.asynchronous:
        return None
    return client


def check_client(client: Any, *, field: str = 'client') -> Any:
    """Return *client* if it is a running, synchronous Dask client.

    Raises
    ------
    InvalidInputError
        Naming *field*: not a ``distributed.Client``, closed, or
        asynchronous.
    """
    distributed = sys.modules.get('distributed')  # loaded by its maker
    if distributed is None or not isinstance(client, distributed.Client):
        raise InvalidInputError(
            field,
            f'expected a distributed.Client, got {type(client).__name__}; '
            'e.g. distributed.Client(distributed.LocalCluster()) or '
            "distributed.Client('tcp://scheduler:8786').",
        )
    if client.asynchronous:
        raise InvalidInputError(
            field,
            'an asynchronous Dask client cannot wait for planes from a '
            'worker thread; pass a synchronous distributed.Client.',
        )
    if client.status != 'running':
        raise InvalidInputError(
            field,
            f'the Dask client is {client.status}, not running; connect a '
            'new distributed.Client to the scheduler.',
        )
    return client


def connect(address: str, *, field: str = 'scheduler') -> Any:
    """A new Dask client of the scheduler at *address* (not the default).

    The wait for the scheduler is Dask's connect timeout
    (``distributed.comm.timeouts.connect``, 30 s by default).

    Raises
    ------
    ConfigurationError
        When ``distributed`` is not installed.
    InvalidInputError
        Naming *field*, for an address that is malformed or where no
        scheduler answers.
    """
    try:
        import distributed  # optional dependency, only for a cluster
    except ImportError as exc:
        raise ConfigurationError(
            f'{field}: a Dask cluster needs Dask distributed; install it '
            '(pip install "napari-outpaint[distributed]").'
        ) from exc
    try:
        return distributed.Client(address, set_as_default=False)
    except (OSError, ValueError, TypeError) as exc:  # TimeoutError too
        raise InvalidInputError(
            field,
            f'no Dask scheduler answers at {address!r} ({exc}); give the '
            "address the scheduler prints, e.g. 'tcp://10.0.0.5:8786'.",
        ) from exc


def scheduler_address(client: Any) -> str:
    """The address of the scheduler *client* is connected to."""
    return str(client.scheduler.address)


def cluster_threads(client: Any) -> int:
    """Tasks the cluster runs at once now: its workers' threads."""
    return int(sum(client.nthreads().values()))


def fill_task(
    image: np.ndarray,
    padding: Padding,
    seed: int,
    scale: int,
    parts: int,
    workers: int,
    topic: str,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One plane's PatchMatch fill, on a Dask worker.

    A pure function of its arguments (the same as ``fill_plane``'s on this
    machine, so the same pixels come back); it reports its steps as
    worker events on *topic*.

    Returns
    -------
    canvas : numpy.ndarray
    info : dict
        ``worker`` (the address it ran on) and ``workers`` (PatchMatch
        processes it started there; 0 runs in the worker's thread).
    """
    from distributed import get_worker  # on a worker, already loaded

    worker = get_worker()

    def report(fraction: float, message: str) -> None:
        worker.log_event(topic, {'fraction': fraction, 'message': message})

    canvas, processes = fill_plane(
        image,
        padding,
        seed=seed,
        scale=scale,
        workers=workers,
        parts=parts,
        report=report,
    )
    return canvas, {'worker': worker.address, 'workers': processes}


def fill_on_cluster(
    client: Any,
    image: np.ndarray,
    padding: Padding,
    *,
    seed: int,
    scale: int,
    parts: int,
    workers: int,
    cancel: CancelToken,
    report: Report,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Fill one plane as a task on *client*'s cluster; wait for it here.

    *report* is called on this thread with the task's steps; *cancel* is
    checked every 50 ms and cancels the task.

    Raises
    ------
    OutpaintCancelled
        When *cancel* is cancelled (the task is cancelled first).
    ResultError
        When the task failed, was lost with its workers
        (``KilledWorker``), or was cancelled by someone else.
    """
    key = f'{TASK_PREFIX}-{uuid.uuid4().hex}'
    events: queue.SimpleQueue = queue.SimpleQueue()
    client.subscribe_topic(key, lambda event: events.put(event[1]))
    future = None
    try:
        future = client.submit(
            fill_task,
            image,
            padding,
            seed,
            scale,
            parts,
            workers,
            key,
            key=key,
            pure=False,
            retries=TASK_RETRIES,
        )
        future.add_done_callback(lambda _: events.put(_DONE))
        report(0.0, 'sent to the Dask cluster')
        while True:
            if cancel.cancelled:
                future.cancel()
                cancel.raise_if_cancelled()
            try:
                item = events.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            if item is _DONE:
                break
            report(float(item['fraction']), str(item['message']))
        return _outcome(future)
    finally:
        if future is not None and not future.done():
            future.cancel()  # an error or Ctrl-C while waiting
        client.unsubscribe_topic(key)


def _outcome(future: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """The task's result, or what went wrong in words."""
    distributed = sys.modules['distributed']
    try:
        return future.result()
    except OutpaintError:
        raise
    except CancelledError as exc:
        raise ResultError(
            'the plane was cancelled on the Dask cluster (by the scheduler '
            'or another client); run it again.'
        ) from exc
    except distributed.KilledWorker as exc:
        raise ResultError(
            'the Dask workers running this plane died each time it was '
            f'tried ({exc}); give the workers more memory, or run the '
            'plane here without a client.'
        ) from exc
    except Exception as exc:  # noqa: BLE001 - a worker's error, in words
        raise ResultError(
            f'the fill failed on a Dask worker ({type(exc).__name__}: '
            f'{exc}); check that the workers have napari-outpaint and '
            'PyPatchMatch installed.'
        ) from exc
