"""SIGTERM, SIGHUP and a double Ctrl-C, sent for real to the command.

What this file checks
---------------------
- While a run is queued on the stand-in, SIGTERM or SIGHUP ends the
  command like Ctrl-C: exit 130, the run named with the command that
  collects it, the run still in the pending journal.
- Ctrl-C twice (the second during the clean-up) still names the run.
- Ctrl-C while the storage server is silent ends within a second.
- Outside the block, the previous handlers are back.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli_runner import SIDES
from napari_outpaint._cache import ResultCache
from napari_outpaint._cli.signals import signals_interrupt

SCRIPT = Path(sys.executable).with_name('napari-outpaint')


def _start(
    runflow_env, tmp_path, *, queued: bool = True
) -> tuple[subprocess.Popen, queue.Queue]:
    """The command on a slow run, its stderr lines arriving on a queue."""
    data = np.random.default_rng(0).integers(0, 255, (24, 32, 3), np.uint8)
    Image.fromarray(data).save(tmp_path / 'in.png')
    if queued:
        runflow_env.set_delays(queue_delay=120.0)  # stays queued: no sleep
    env = dict(os.environ)
    env.pop('NAPARI_OUTPAINT_DEBUG', None)
    process = subprocess.Popen(
        [SCRIPT, str(tmp_path / 'in.png'), '-o', str(tmp_path / 'out.png'),
         *SIDES, '--engine', 'runflow'],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return process, lines


def _wait_for(lines: queue.Queue, text: str, seen: list[str]) -> None:
    while True:
        line = lines.get(timeout=60)
        assert line is not None, ''.join(seen)
        seen.append(line)
        if text in line:
            return


def _rest(process, lines, seen) -> str:
    process.wait(timeout=60)
    while (line := lines.get(timeout=60)) is not None:
        seen.append(line)
    return ''.join(seen)


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_end_like_ctrl_c(runflow_env, tmp_path, signum):
    """The queued run is cancelled and named; it stays journaled."""
    process, lines = _start(runflow_env, tmp_path)
    seen: list[str] = []
    _wait_for(lines, 'queued', seen)
    process.send_signal(signum)
    err = _rest(process, lines, seen)
    assert process.returncode == 130, err
    run_id = runflow_env.runs[0].id
    assert f'napari-outpaint collect {run_id}' in err.split('interrupted')[-1]
    assert 'Traceback' not in err
    assert ResultCache().journal.get(run_id) is not None


def test_a_double_ctrl_c_still_names_the_run(runflow_env, tmp_path):
    """The second Ctrl-C quits at once, and still says what is known."""
    process, lines = _start(runflow_env, tmp_path)
    seen: list[str] = []
    _wait_for(lines, 'queued', seen)
    process.send_signal(signal.SIGINT)
    _wait_for(lines, 'cancelling', seen)
    process.send_signal(signal.SIGINT)
    err = _rest(process, lines, seen)
    assert process.returncode == 130, err
    run_id = runflow_env.runs[0].id
    assert f'napari-outpaint collect {run_id}' in err.split('interrupted')[-1]


def test_ctrl_c_during_a_silent_download_ends_at_once_naming_the_run(
    runflow_env, tmp_path
):
    """The storage server says nothing; Ctrl-C: out at once (about a
    second unloaded; bounded at 5 s for a loaded machine, far from the
    30 s read timeout), exit 130, the run and its collect command
    named."""
    stalled = runflow_env.stall_downloads(seconds=120)
    process, lines = _start(runflow_env, tmp_path, queued=False)
    assert stalled.wait(60)
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    process.wait(timeout=60)
    waited = time.monotonic() - sent
    err = _rest(process, lines, [])
    assert process.returncode == 130, err
    run_id = runflow_env.runs[0].id
    assert f'napari-outpaint collect {run_id}' in err.split('interrupted')[-1]
    assert waited < 5.0, err


def test_previous_handlers_come_back():
    """Only the command's own block handles the signals."""
    before = signal.getsignal(signal.SIGTERM)
    with signals_interrupt():
        assert signal.getsignal(signal.SIGTERM) is not before
        with pytest.raises(KeyboardInterrupt, match='SIGTERM'):
            signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before
