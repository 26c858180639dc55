"""A real Dask ``LocalCluster`` for the tests, and what its workers saw.

Two worker processes of one thread each on 127.0.0.1 (the scheduler's
HTTP server on a free port there, so that parallel runs never clash). The
checks read the cluster's own records (each worker's task-state log, the
scheduler's story of a key), never what our code says it did.

The root ``conftest.py`` loads it as a plugin, so the fixtures are
everywhere. This module is pickled by value, so its functions can run on
the workers through ``client.run``.
"""

from __future__ import annotations

import sys

import cloudpickle
import distributed
import pytest

from napari_outpaint.engines._cluster import TASK_PREFIX

__all__ = [
    'dask_client',
    'dask_cluster',
    'executed_plane_tasks',
    'new_cluster',
    'new_plane_tasks',
    'scheduler_story',
]

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def new_cluster() -> distributed.LocalCluster:
    """A LocalCluster of two one-thread worker processes on 127.0.0.1."""
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host='127.0.0.1',
        dashboard_address='127.0.0.1:0',
    )


@pytest.fixture(scope='module')
def dask_cluster():
    """One LocalCluster for the tests of a module."""
    with new_cluster() as cluster:
        yield cluster


@pytest.fixture
def dask_client(dask_cluster):
    """A client of the cluster that is not the process's default."""
    with distributed.Client(dask_cluster, set_as_default=False) as client:
        yield client


def _executed_on(prefix: str, dask_worker=None) -> list[str]:
    """Runs on a worker: the keys it executed to the end (its own log)."""
    return sorted(
        {
            entry[0]
            for entry in dask_worker.state.log
            if isinstance(entry[0], str)
            and entry[0].startswith(prefix)
            and entry[1:3] == ('executing', 'memory')
        }
    )


def executed_plane_tasks(client, prefix: str = TASK_PREFIX):
    """``{worker address: [plane task keys it computed]}``, asked of each
    worker of *client*'s cluster."""
    return client.run(_executed_on, prefix)


def new_plane_tasks(client, before) -> list[tuple[str, str]]:
    """``(worker, key)`` of the plane tasks computed since *before* (an
    :func:`executed_plane_tasks` answer)."""
    return sorted(
        (worker, key)
        for worker, keys in executed_plane_tasks(client).items()
        for key in keys
        if key not in before.get(worker, ())
    )


def _story(key: str, dask_scheduler=None) -> list[tuple]:
    return [tuple(entry[:3]) for entry in dask_scheduler.story(key)]


def scheduler_story(client, key: str) -> list[tuple]:
    """The scheduler's transitions of *key*: ``(key, start, finish)``."""
    return client.run_on_scheduler(_story, key)
