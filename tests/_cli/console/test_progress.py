"""Progress of a run and of a batch: stage lines in a log, a bar on a TTY.

What this file checks
---------------------
- Off a terminal, a run (on the stand-in and on the local engine) prints
  each stage once, in order, no line twice, and "done" only in the
  closing line.
- Off a terminal, a batch prints ``stack plane z=1 (2 of 3): queued``
  lines: per plane each stage once, in order, then its outcome; no
  Python tuple anywhere.
- The engine's "done" before the pipeline's "finishing", repeated
  events and a stage going back (a retry) add no line.
- Messages lose presigned query strings and the API key.
- Plane names: ``z=3``, ``t=0,z=3``; indices when the axes are unknown.
- On a terminal a batch is one bar: its description counts the planes at
  each stage, it ends at "done", 3/3 planes; no per-plane stage lines.
- In a real pseudo-terminal the command draws a tqdm bar and its closing
  line is whole; SIGTERM or Ctrl-C while the run is queued closes the bar
  before the message naming the run and the command that collects it.
"""

from __future__ import annotations

import errno
import fcntl
import io
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli_runner import SIDES, TTY, run
from napari_outpaint._cli.console import (
    Console,
    ProgressPrinter,
    plane_name,
    stage_text,
)
from napari_outpaint._cli.main import main
from napari_outpaint._progress import ProgressEvent, Stage

SCRIPT = Path(sys.executable).with_name('napari-outpaint')
STAGES = [stage.value for stage in Stage]
#: the stages each engine goes through, in order ("done" is the closing)
RUNFLOW_STAGES = [
    'preparing', 'publishing', 'queued', 'running', 'downloading',
    'finishing',
]  # fmt: skip
LOCAL_STAGES = ['preparing', 'running', 'finishing']


def _stages(lines: list[str], prefix: str) -> list[str]:
    """The stage of each ``PREFIX: stage`` or ``PREFIX: stage - message``
    line, in order ("done" lines are counted apart)."""
    line_of = re.compile(rf'{re.escape(prefix)}: (\w+)(?: - .*)?')
    found = []
    for line in lines:
        match = line_of.fullmatch(line)
        if match and match[1] in STAGES and match[1] != 'done':
            found.append(match[1])
    return found


@pytest.mark.parametrize(
    ('engine', 'expected'),
    [('runflow', RUNFLOW_STAGES), ('local', LOCAL_STAGES)],
)
def test_a_run_prints_each_stage_once_in_order(
    runflow_env, rgb_png, tmp_path, engine, expected
):
    """One line per stage change; "done" only once, in the closing line."""
    path, _ = rgb_png
    ran = run(str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
              '--engine', engine)  # fmt: skip
    assert ran.code == 0, ran.err
    lines = ran.err.splitlines()
    assert _stages(lines, 'photo') == expected, ran.err
    assert len(lines) == len(set(lines)), ran.err
    done = [line for line in lines if re.search(r'\bdone\b', line)]
    assert len(done) == 1, ran.err
    assert done[0].startswith('photo: done in ')
    assert lines[-1] == done[0]
    assert '\r' not in ran.err
    assert 'test-key' not in ran.err + ran.out
    assert ran.out.split() == [
        str(tmp_path / name) for name in ('o.png', 'o.mask.png', 'o.png.json')
    ]  # stdout: the written paths only


@pytest.mark.parametrize(
    ('engine', 'expected'),
    [('runflow', RUNFLOW_STAGES), ('local', LOCAL_STAGES)],
)
def test_a_batch_prints_plane_lines_once_in_order(
    runflow_env, zstack, tmp_path, engine, expected
):
    """``stack plane z=1 (2 of 3): stage`` lines, then each outcome."""
    path, _ = zstack
    ran = run(str(path), '-o', str(tmp_path / 'o.tif'), *SIDES,
              '--engine', engine, '--plane', 'all', '-y')  # fmt: skip
    assert ran.code == 0, ran.err
    lines = ran.err.splitlines()
    assert len(lines) == len(set(lines)), ran.err
    for z in range(3):
        where = f'stack plane z={z} ({z + 1} of 3)'
        assert _stages(lines, where) == expected, ran.err
        mine = [line for line in lines if line.startswith(where + ': ')]
        outcome = mine[-1][len(where) + 2 :]
        assert outcome.split(' ')[0] == 'done', ran.err
        assert sum(bool(re.search(r'\bdone\b', line)) for line in mine) == 1
    assert not re.search(r'\(\d+,\)', ran.err)  # never a Python tuple
    assert lines[-2] == 'stack: 3 of 3 planes finished (3 done); spent $' + (
        '1.65.' if engine == 'runflow' else '0.00.'
    )
    assert lines[-1].startswith('stack: done in ')


def test_a_batch_on_a_terminal_is_one_bar(runflow_env, zstack, tmp_path):
    """One bar for the batch, closed at 3/3 planes, then the summary."""
    path, _ = zstack
    err = TTY()
    code = main(
        [str(path), '-o', str(tmp_path / 'o.tif'), *SIDES,
         '--engine', 'runflow', '--plane', 'all', '-y'],
        stdout=io.StringIO(), stderr=err, stdin=io.StringIO(),
    )  # fmt: skip
    text = err.getvalue()
    assert code == 0, text
    lines = text.split('\n')
    frames = [f for f in re.split(r'[\r\n]', text) if '%|' in f]
    assert all(f.startswith('stack: ') for f in frames)  # the batch's bar
    assert any(re.match(r'stack: \d+ queued', f) for f in frames), text
    assert frames[-1].startswith('stack: done 100%|')
    assert frames[-1].endswith(', 3/3 planes')
    stage_lines = rf'stack plane [^:\n]*: ({"|".join(STAGES)})\b'
    assert not re.search(stage_lines, text), text  # the bar says it
    assert lines[-3] == 'stack: 3 of 3 planes finished (3 done); spent $1.65.'
    assert lines[-2].startswith('stack: done in ')


def test_repeats_the_engines_done_and_a_retry_add_no_line():
    """Events as a run sends them (and worse): one line per new stage."""
    err = io.StringIO()
    printer = ProgressPrinter(Console(io.StringIO(), err, quiet=False), 'p')
    events = [
        (Stage.PREPARING, 'Converting'),
        (Stage.PREPARING, 'Converting'),
        (Stage.QUEUED, 'Run r1 queued.'),
        (Stage.PREPARING, 'again'),  # a retry goes back: no new line
        (Stage.QUEUED, 'Run r1 queued.'),
        (Stage.RUNNING, 'Run r1 is running.'),
        (Stage.DONE, 'Run r1 done.'),  # the engine's
        (Stage.FINISHING, 'Placing the result'),
        (Stage.DONE, 'Done'),  # the pipeline's
    ]
    for stage, message in events:
        printer(ProgressEvent(stage, message, run_id=None))
    assert err.getvalue().splitlines() == [
        'p: preparing - Converting',
        'p: queued - Run r1 queued.',
        'p: running - Run r1 is running.',
        'p: finishing - Placing the result',
    ]
    printer.close()
    printer(ProgressEvent(Stage.DOWNLOADING, 'late'))  # after close: dropped
    assert 'late' not in err.getvalue()


def test_messages_lose_presigned_queries_and_the_key(monkeypatch):
    """A message never shows a query string or the API key."""
    monkeypatch.setenv('RUNFLOW_API_KEY', 'sk-live-0123456789')
    event = ProgressEvent(
        Stage.DOWNLOADING,
        'Downloading https://store.example/o.png?X-Amz-Signature=abc '
        'with sk-live-0123456789',
    )
    text = stage_text(event)
    assert text.startswith('downloading - Downloading https://store.')
    assert 'X-Amz-Signature' not in text
    assert 'sk-live-0123456789' not in text
    assert stage_text(ProgressEvent(Stage.DONE, 'done')) == 'done'


def test_plane_names():
    """Axis letters name planes; unknown axes give the --plane indices."""
    assert plane_name((3,), 'Z') == 'z=3'
    assert plane_name((0, 3), 'TZ') == 't=0,z=3'
    assert plane_name((0, 3), 'QQ') == '0,3'
    assert plane_name((2,), '') == '2'


# --- in a real pseudo-terminal --------------------------------------------


def _in_a_pty(argv: list[str]) -> tuple[subprocess.Popen, int]:
    """The command with stderr on a 100-column pseudo-terminal."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 100, 0, 0))
    env = dict(os.environ)
    env.pop('NAPARI_OUTPAINT_DEBUG', None)
    process = subprocess.Popen(
        [SCRIPT, *argv], stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=slave, env=env,
    )  # fmt: skip
    os.close(slave)
    return process, master


def _read(master: int, until: str | None = None, timeout: float = 60) -> str:
    """What the terminal shows, up to *until* (None: the end)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError as exc:  # EIO: the command closed the terminal
            if exc.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
        if until is not None and until in b''.join(chunks).decode():
            break
    else:
        raise AssertionError(f'timed out: {b"".join(chunks)!r}')
    return b''.join(chunks).decode().replace('\r\n', '\n')


def test_a_terminal_shows_a_bar_and_a_whole_closing_line(rgb_png, tmp_path):
    """A tqdm bar redrawn in place, closed, then the closing line."""
    path, _ = rgb_png
    process, master = _in_a_pty(
        [str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
         '--engine', 'local']
    )  # fmt: skip
    try:
        shown = _read(master)
    finally:
        os.close(master)
    assert process.wait(timeout=60) == 0, shown
    bar, closing = shown.rstrip('\n').rsplit('\n', 1)
    frames = bar.split('\n')[-1].split('\r')
    assert len(frames) > 2, shown  # redrawn in place
    assert re.fullmatch(r'photo: \w+ 100%\|\S+\| \d\d:\d\d\s*', frames[-1])
    assert all(len(frame) < 100 for frame in frames), shown
    assert closing.startswith('photo: done in ')
    assert '\r' not in closing


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_terminal_run_names_the_run_after_the_bar(
    runflow_env, tmp_path, signum
):
    """Queued on the stand-in, then SIGTERM or Ctrl-C: the bar is closed,
    then the run id and its collect command, on lines of their own."""
    data = np.random.default_rng(0).integers(0, 255, (24, 32, 3), np.uint8)
    Image.fromarray(data).save(tmp_path / 'in.png')
    runflow_env.set_delays(queue_delay=120.0)  # stays queued: no sleep
    process, master = _in_a_pty(
        [str(tmp_path / 'in.png'), '-o', str(tmp_path / 'out.png'),
         *SIDES, '--engine', 'runflow']
    )  # fmt: skip
    try:
        shown = _read(master, until='in: queued')
        process.send_signal(signum)
        shown += _read(master)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    assert process.wait(timeout=60) == 130, shown
    run_id = runflow_env.runs[0].id
    assert '%|' in shown  # a bar was drawn
    lines = shown.split('\n')
    (last,) = [i for i, line in enumerate(lines) if 'interrupted' in line]
    message = lines[last]
    assert message.startswith('napari-outpaint: error: interrupted')
    assert f'napari-outpaint collect {run_id}' in message
    assert '\r' not in message
    assert lines[last + 1 :] == ['']  # nothing drawn after it
    assert '\rin: queued' in lines[last - 1]  # the bar's closed line
