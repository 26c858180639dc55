"""Ctrl-C during a run: cancel the worker, wait for its cleanup.

What this file checks
---------------------
- ``run_cancellable`` turns Ctrl-C into a cancel of the token, waits for
  the worker to clean up, and raises ``Interrupted`` with its cause.
- Ctrl-C while a Runflow run is queued exits 130, deletes the upload,
  names the run to collect, and writes nothing.
"""

from __future__ import annotations

import _thread
import io
import threading

import pytest

from cli_runner import SIDES, run
from napari_outpaint._cache import ResultCache
from napari_outpaint._cli import console as _cli_console
from napari_outpaint._cli import exit_codes as _cli
from napari_outpaint._cli import worker as _cli_worker
from napari_outpaint._cli.console import progress as _cli_progress
from napari_outpaint._progress import CancelToken


def test_ctrl_c_cancels_the_run_and_waits_for_cleanup():
    """Ctrl-C sets the cancel token and waits until the worker cleaned up."""

    cleaned = threading.Event()
    started = threading.Event()

    def work(cancel):
        try:
            started.set()
            _thread.interrupt_main()  # what Ctrl-C does to the main thread
            assert cancel.wait(10.0), 'the CLI never cancelled the run'
            cancel.raise_if_cancelled(run_id='run_1')
        finally:
            cleaned.set()

    console = _cli_console.Console(io.StringIO(), io.StringIO(), quiet=False)
    with pytest.raises(_cli_worker.Interrupted) as info:
        _cli_worker.run_cancellable(work, CancelToken(), console)
    assert started.is_set()
    assert cleaned.is_set()
    assert info.value.cause.run_id == 'run_1'
    assert 'cancelling' in console.err.getvalue()


def test_ctrl_c_during_a_run_exits_130_and_cleans_up(
    runflow_env, rgb_png, tmp_path, monkeypatch
):
    """Ctrl-C while queued cancels and names the run; the upload is kept
    for the run (recorded), and `collect` deletes it once the run is over."""

    path, _ = rgb_png
    runflow_env.set_delays(queue_delay=1.0)
    printer = _cli_progress.ProgressPrinter.__call__
    interrupted = []

    def interrupt_when_queued(self, event):
        printer(self, event)
        if event.stage == 'queued' and not interrupted:
            interrupted.append(event.run_id)
            _thread.interrupt_main()  # one Ctrl-C

    monkeypatch.setattr(
        _cli_progress.ProgressPrinter, '__call__', interrupt_when_queued
    )
    out = tmp_path / 'o.png'
    ran = run(str(path), '-o', str(out), *SIDES, '--engine', 'runflow')
    assert ran.code == _cli.EXIT_INTERRUPTED, ran.err
    (server_run,) = runflow_env.runs
    assert interrupted == [server_run.id]
    assert f'interrupted: cancelled. Run {server_run.id}' in ran.err
    assert f'napari-outpaint collect {server_run.id}' in ran.err
    assert not out.exists()
    (asset,) = runflow_env.assets.values()
    assert not asset.deleted  # the queued run will still read it
    (held,) = ResultCache().held_inputs.held()
    assert (held.asset_id, held.run_id) == (asset.id, server_run.id)

    assert run('collect', server_run.id).code == 0
    assert server_run.status == 'succeeded'
    assert asset.deleted
    assert ResultCache().held_inputs.held() == []
