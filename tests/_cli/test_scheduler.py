"""``--scheduler ADDRESS``: the local engine's planes on that Dask cluster.

The check of where the planes ran reads each worker's own task log.
"""

import dask
import numpy as np
import tifffile

from cli_runner import SIDES, run
from dask_cluster import (
    executed_plane_tasks,
    new_plane_tasks,
)
from napari_outpaint._cli.exit_codes import EXIT_OK, EXIT_USAGE


def test_a_stack_runs_its_planes_on_the_scheduler_workers(
    zstack, tmp_path, dask_cluster, dask_client
):
    """--plane all --scheduler: one task per plane on the cluster's
    workers, and the same file as without the cluster."""
    path, data = zstack
    before = executed_plane_tasks(dask_client)
    out = tmp_path / 'out.tif'
    address = dask_cluster.scheduler_address
    ran = run(
        str(path), '-o', str(out), *SIDES, '--plane', 'all',
        '--scheduler', address,
    )  # fmt: skip
    assert ran.code == EXIT_OK, ran.err
    assert f'local PatchMatch on the Dask cluster at {address}' in ran.err
    tasks = new_plane_tasks(dask_client, before)
    assert len(tasks) == data.shape[0]
    assert {w for w, _ in tasks} <= set(
        dask_client.scheduler_info()['workers']
    )
    here = tmp_path / 'here.tif'
    again = run(
        str(path), '-o', str(here), *SIDES, '--plane', 'all',
        '--engine', 'local',
    )  # fmt: skip
    assert again.code == EXIT_OK, again.err
    np.testing.assert_array_equal(tifffile.imread(out), tifffile.imread(here))
    assert new_plane_tasks(dask_client, before) == tasks  # none more


def test_an_unreachable_scheduler_is_named_before_any_work(zstack, tmp_path):
    """Nothing listens there: exit 2 naming --scheduler, nothing written."""
    path, _ = zstack
    out = tmp_path / 'out.tif'
    with dask.config.set({'distributed.comm.timeouts.connect': '1s'}):
        ran = run(
            str(path), '-o', str(out), *SIDES, '--plane', 'all',
            '--scheduler', 'tcp://127.0.0.1:9',
        )  # fmt: skip
    assert ran.code == EXIT_USAGE
    assert "--scheduler: no Dask scheduler answers at 'tcp://127.0.0.1:9'" in (
        ran.err
    )
    assert list(tmp_path.iterdir()) == [path]


def test_scheduler_with_another_engine_is_refused(zstack, tmp_path):
    """--scheduler runs the local engine only: --engine reflect is an
    error naming --scheduler, before connecting anywhere."""
    path, _ = zstack
    ran = run(
        str(path), '-o', str(tmp_path / 'o.tif'), *SIDES, '--plane', '0',
        '--engine', 'reflect', '--scheduler', 'tcp://127.0.0.1:9',
    )  # fmt: skip
    assert ran.code == EXIT_USAGE
    assert '--scheduler: runs the local PatchMatch engine' in ran.err
    assert 'cannot be used with --engine reflect' in ran.err
