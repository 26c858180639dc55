"""Messages and progress of the command line.

What this file checks
---------------------
- On a terminal, progress is one tqdm bar redrawn in place; the
  command's closing line comes after it, whole.
- A message said while the bar is open goes above it and the bar is
  drawn again; an error closes the bar first and nothing follows it.
- An idle bar is redrawn about once a second (its clock runs while the
  engine waits), not more often.
- Off a terminal, or with ``--quiet``, there is no bar.
"""

from __future__ import annotations

import io

from cli_runner import SIDES, TTY
from napari_outpaint._cli.console import Console
from napari_outpaint._cli.console import streams as console_module
from napari_outpaint._cli.console.streams import TICK_SECONDS
from napari_outpaint._cli.main import main


def test_progress_bar_on_a_terminal(rgb_png, tmp_path):
    """On a terminal, progress is one bar redrawn in place, then a newline
    and the closing line."""
    path, _ = rgb_png
    err = TTY()
    code = main(
        [str(path), '-o', str(tmp_path / 'o.png'), *SIDES, '-y',
         '--engine', 'reflect'],
        stdout=io.StringIO(), stderr=err, stdin=io.StringIO(),
    )  # fmt: skip
    assert code == 0
    text = err.getvalue()
    assert '\rphoto: preparing ' in text
    bar, closing = text.rstrip('\n').rsplit('\n', 1)
    assert '100%|' in bar.rsplit('\r', 1)[-1]  # the bar's last frame
    assert closing.startswith('photo: done in ')
    assert '\r' not in closing


def test_a_message_goes_above_the_bar_and_an_error_closes_it():
    """The bar is cleared, the line written, the bar drawn again; an error
    ends the bar's line first, and later updates draw nothing."""
    err = TTY()
    console = Console(io.StringIO(), err, quiet=False)
    console.open_bar('job: queued', 1.0)
    console.update_bar('job: queued', 0.5)
    console.say('run r1 submitted')
    after_say = err.getvalue()
    before, after = after_say.split('run r1 submitted\n')
    assert before.endswith('\r')  # written on a cleared line
    assert after.startswith('\rjob: queued  50%|')  # the bar again
    console.error('boom')
    console.update_bar('job: running', 0.9)
    text = err.getvalue()
    assert text.endswith('\nnapari-outpaint: error: boom\n')
    assert 'job: running' not in text


def test_no_bar_off_a_terminal_or_when_quiet():
    """A pipe or a log gets no bar; neither does --quiet on a terminal."""
    for err, quiet in ((io.StringIO(), False), (TTY(), True)):
        console = Console(io.StringIO(), err, quiet=quiet)
        assert not console.bars
        console.open_bar('job: queued', 1.0)
        console.update_bar('job: queued', 0.5)
        console.close_bar()
        assert err.getvalue() == ''


def test_an_idle_bar_is_redrawn_about_once_a_second(monkeypatch):
    """``tick`` redraws only when the last frame is TICK_SECONDS old."""
    now = [100.0]
    monkeypatch.setattr(console_module, 'monotonic', lambda: now[0])
    err = TTY()
    console = Console(io.StringIO(), err, quiet=False)
    console.open_bar('job: queued', 1.0)
    drawn = err.getvalue().count('\rjob: queued')
    now[0] += TICK_SECONDS / 2
    console.tick()
    assert err.getvalue().count('\rjob: queued') == drawn
    now[0] += TICK_SECONDS
    console.tick()
    assert err.getvalue().count('\rjob: queued') == drawn + 1
    console.close_bar()
    console.tick()  # no bar: nothing
    assert err.getvalue().endswith('\n')
