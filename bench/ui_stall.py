"""Longest Qt event-loop stall while the Outpaint widget runs.

A 5 ms QTimer records the gaps between its ticks in the GUI thread while
the dock widget outpaints a layer through its own Run button: once against
the Runflow stand-in (HTTPS on 127.0.0.1), once with the local PatchMatch
engine. A batch scenario outpaints all planes of a
small stack (8 planes of 256 x 256) on the stand-in, the price question
answered Yes. The baseline is the same timer with the viewer idle,
measured in the same run. Gaps are split into the run itself (the worker
working, the GUI only receiving progress), adding the result layer
(napari's own main-thread work: building the visuals, uploading the
texture) and, when a rerun replaces the previous result of the same
image, removing that one (napari runs a full garbage collection per
removal batch). Two reference rows time napari's own ``add_image`` and
``layers.remove`` of the same data, with no widget involved, and one the
stall of napari's own Activity progress bar (created, described, moved,
closed) that every run shows, once as the first of a session (in a
process of its own) and once after the runs.

The first row is the first run of the session through the widget's own
engine choice (Runflow, configured by environment variables to the
stand-in): the engine is built in the worker, so the modules a run loads
on first use are loaded then (or earlier, by the widget's warm-up thread).

Run under a display, e.g.::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python bench/ui_stall.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

PLUGIN = 'napari-outpaint'
TICK_MS = 5
ALL = 'all planes'  # the widget's Planes choice for a whole stack


@dataclass
class StallMeter:
    """Records the gaps between ticks of a fast QTimer."""

    ticks: list[float] = field(default_factory=list)
    timer: object = None

    def start(self) -> None:
        from qtpy.QtCore import QTimer

        self.ticks = [time.perf_counter()]
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(
            lambda: self.ticks.append(time.perf_counter())
        )
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.ticks.append(time.perf_counter())

    def gaps(self, start: float = -np.inf, stop: float = np.inf):
        """Gaps (s) between consecutive ticks that end in (start, stop].

        A gap is charged to the phase in which it ends: a stall caused by
        the GUI thread adding layers ends after that work began.
        """
        t = np.asarray(self.ticks)
        end, gap = t[1:], np.diff(t)
        return gap[(end > start) & (end <= stop)]


def spin(seconds: float) -> None:
    """Run the Qt event loop for *seconds*."""
    from qtpy.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def run_widget(viewer, engine, layer, sides, timeout: float, planes=None):
    """Click Run on a fresh widget.

    Returns (meter, t_start, t_returned, removal): *removal* is the
    (start, end) of removing a replaced result, or None.

    *planes* picks the widget's Planes choice (e.g. ``'all planes'``); the
    price question of a paid batch is answered Yes.
    """
    from qtpy.QtCore import QEventLoop, QTimer

    from napari_outpaint._qt.widget import OutpaintWidget

    # The picker follows the active layer: make *layer* active, as a user
    # would (setting the picker alone is undone by the next active event).
    viewer.layers.selection.active = layer
    widget = OutpaintWidget(viewer, engine=engine)
    dock = viewer.window.add_dock_widget(widget, name=f'outpaint {id(engine)}')
    widget._image.value = layer
    for side, value in sides.items():
        widget._sides[side].value = value
    if planes is not None:
        widget._planes.value = planes
        widget._confirm_cost = lambda _price: True  # the user says Yes
    spin(0.3)
    if widget._image.value is not layer:
        raise RuntimeError(f'the widget did not pick {layer.name!r}')
    meter = StallMeter()
    meter.start()
    spin(0.1)
    marks = {}
    on_returned = widget._on_returned

    def mark_returned(outcome):  # when the GUI thread starts adding layers
        marks.setdefault('returned', time.perf_counter())
        on_returned(outcome)

    widget._on_returned = mark_returned
    remove_replaced = getattr(widget, '_remove_replaced', None)

    def mark_removal(*args):  # the turn that removes a replaced result
        start, doomed = time.perf_counter(), bool(widget._replaced)
        remove_replaced(*args)
        if doomed:
            marks['removal'] = (start, time.perf_counter())

    if remove_replaced is not None:  # a widget that never replaces has none
        widget._remove_replaced = mark_removal
    t_start = time.perf_counter()
    widget._run_button.clicked.emit()
    worker = widget.worker
    loop = QEventLoop()
    worker.finished.connect(loop.quit)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    for _ in range(100):  # the layers are added a few event turns later
        if widget.worker is None:
            break
        spin(0.05)
    spin(0.5)  # let napari draw the new layers
    meter.stop()
    if widget.worker is not None:
        raise RuntimeError(f'run did not finish in {timeout:g} s')
    viewer.window.remove_dock_widget(dock)
    return meter, t_start, marks.get('returned', np.inf), marks.get('removal')


def add_and_remove_gaps(meter, t_returned, removal):
    """Max gap (ms) adding the result, and removing a replaced one.

    The removal's gap is the one spanning the removal call; every other
    gap after the run returned is charged to adding.
    """
    t = np.asarray(meter.ticks)
    end, gap = t[1:], np.diff(t)
    after = end > t_returned
    removing = np.zeros_like(after)
    if removal is not None:
        removing = (end - gap <= removal[0]) & (end >= removal[1])
    add_max, _ = describe(gap[after & ~removing])
    remove_max, _ = describe(gap[after & removing])
    return add_max, (remove_max if removal is not None else None)


@contextmanager
def standin_process(delay: float):
    """The Runflow stand-in in its own process, as the real one is remote.

    Yields ``(base_url, ca_path)``.
    """
    code = (
        'import sys\n'
        'from napari_outpaint.testing import RunflowStandIn\n'
        f'with RunflowStandIn(processing_delay={delay!r}) as s:\n'
        '    print(s.base_url, s.ca_path, flush=True)\n'
        '    sys.stdin.read()\n'
    )
    process = subprocess.Popen(
        [sys.executable, '-c', code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url, ca_path = process.stdout.readline().split()
        yield base_url, ca_path
    finally:
        process.stdin.close()
        process.stdout.close()
        process.wait(timeout=30)


def napari_add_image_alone(viewer, layer):
    """A reference row: napari adding a copy of the last result by itself.

    What the add-layer column costs without the widget: the same array,
    ``viewer.add_image`` called directly on the GUI thread.
    """
    result = next(
        other
        for other in reversed(viewer.layers)
        if other.name.startswith(f'{layer.name} [outpainted]')
    )
    data = np.array(result.data)
    meter = StallMeter()
    meter.start()
    spin(0.1)
    t_add = time.perf_counter()
    copy = viewer.add_image(data, name='reference copy')
    spin(0.5)
    t_remove = time.perf_counter()
    viewer.layers.remove(copy)
    spin(0.5)
    meter.stop()
    add_max, _ = describe(meter.gaps(t_add, t_remove))
    remove_max, _ = describe(meter.gaps(t_remove))
    shape = 'x'.join(map(str, data.shape))
    return (
        'napari add_image / remove alone (ref.)',
        shape,
        np.nan,
        np.nan,
        add_max,
        remove_max,
    )


def napari_progress_alone():
    """A reference row: napari's Activity progress bar with no widget.

    What every run costs the GUI thread for the bar alone: napari creates
    its widget and repaints the window at once (``processEvents``) on
    creation and on each new description or value.
    """
    from napari.utils import cancelable_progress

    meter = StallMeter()
    meter.start()
    spin(0.1)
    t_start = time.perf_counter()
    bar = cancelable_progress(total=100, desc='reference')
    spin(0.2)
    for step in range(1, 4):
        bar.set_description(f'reference: step {step}')
        bar.update(25)
        spin(0.2)
    bar.close()
    spin(0.3)
    meter.stop()
    worst, p99 = describe(meter.gaps(t_start))
    return ('napari progress bar alone (ref.)', '-', worst, p99, None, None)


def describe(gaps) -> tuple[float, float]:
    if gaps.size == 0:
        return float('nan'), float('nan')
    return 1000 * float(gaps.max()), 1000 * float(np.percentile(gaps, 99))


def build_viewer():
    """The viewer of every scenario: cells, a 2048 x 2048 image, a stack."""
    import napari

    viewer = napari.Viewer(show=True)
    viewer.window.resize(1400, 900)
    viewer.open_sample(PLUGIN, 'cells')
    cells = viewer.layers['cells']
    yy, xx = np.mgrid[0:2048, 0:2048]
    big = viewer.add_image(
        (2000 + 1500 * np.sin(yy / 97.0) * np.cos(xx / 61.0)).astype(
            np.uint16
        ),
        name='big uint16',
    )
    rng = np.random.default_rng(0)
    stack = viewer.add_image(
        rng.integers(0, 255, (8, 256, 256), dtype=np.uint8),
        name='stack',
    )
    spin(1.0)
    return viewer, cells, big, stack


def first_progress_bar_row():
    """A reference row from a process of its own: napari's first Activity
    progress bar of a session (its widgets made and painted for the first
    time), in the same viewer, with no widget. The first run of a session
    pays this too."""
    out = subprocess.run(
        [sys.executable, __file__, '--first-bar'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    worst, p99 = json.loads(out.strip().splitlines()[-1])
    return (
        'napari 1st progress bar alone (ref.)',
        '-',
        worst,
        p99,
        None,
        None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--delay', type=float, default=2.0, help='stand-in s')
    parser.add_argument('--timeout', type=float, default=300.0)
    parser.add_argument(
        '--first-bar', action='store_true', help=argparse.SUPPRESS
    )  # the child process of first_progress_bar_row
    args = parser.parse_args()
    if args.first_bar:
        viewer = build_viewer()[0]
        row = napari_progress_alone()
        viewer.close()
        print(json.dumps(row[2:4]))
        return
    first_bar = first_progress_bar_row()

    # A throw-away result cache: no hits from earlier runs, no litter.
    cache_dir = tempfile.TemporaryDirectory(prefix='outpaint-bench-')
    os.environ['NAPARI_OUTPAINT_CACHE_DIR'] = cache_dir.name

    from napari_outpaint.engines.runflow import RunflowEngine

    viewer, cells, big, stack = build_viewer()
    sides = {'top': 20, 'bottom': 20, 'left': 30, 'right': 30}

    rows = []
    idle = StallMeter()
    idle.start()
    spin(3.0)
    idle.stop()
    base_max, base_p99 = describe(idle.gaps())
    rows.append(
        ('idle viewer (baseline)', '-', base_max, base_p99, None, None)
    )

    with standin_process(args.delay) as (base_url, ca_path):
        # The widget's own engine choice finds the stand-in through these.
        os.environ.update(
            RUNFLOW_BASE_URL=base_url,
            RUNFLOW_API_KEY='test-key',
            SSL_CERT_FILE=ca_path,
        )
        meter, t0, t_ret, removal = run_widget(
            viewer, None, cells, {**sides, 'top': 10}, args.timeout
        )
        run_max, run_p99 = describe(meter.gaps(t0, t_ret))
        rows.append(
            (
                "widget's engine, cells (1st of session)",
                'x'.join(map(str, cells.data.shape)),
                run_max,
                run_p99,
                *add_and_remove_gaps(meter, t_ret, removal),
            )
        )
        engine = RunflowEngine(
            api_key='test-key', base_url=base_url, verify=ca_path
        )
        runs = ((cells, ' (given engine)'), (cells, ''), (big, ''))
        for index, (layer, note) in enumerate(runs):
            # A new top each time: an identical request is a cache hit.
            fresh = {**sides, 'top': sides['top'] + index}
            meter, t0, t_ret, removal = run_widget(
                viewer, engine, layer, fresh, args.timeout
            )
            shape = 'x'.join(map(str, layer.data.shape))
            run_max, run_p99 = describe(meter.gaps(t0, t_ret))
            rows.append(
                (
                    f'Runflow stand-in, {layer.name}{note}',
                    shape,
                    run_max,
                    run_p99,
                    *add_and_remove_gaps(meter, t_ret, removal),
                )
            )
        for batch, note in enumerate((' (1st: imports)', '')):
            # A new top each time: no plane is answered from the cache.
            fresh = {**sides, 'top': sides['top'] + len(runs) + batch}
            meter, t0, t_ret, removal = run_widget(
                viewer, engine, stack, fresh, args.timeout, planes=ALL
            )
            run_max, run_p99 = describe(meter.gaps(t0, t_ret))
            rows.append(
                (
                    f'stand-in batch 8 planes{note}',
                    'x'.join(map(str, stack.data.shape)),
                    run_max,
                    run_p99,
                    *add_and_remove_gaps(meter, t_ret, removal),
                )
            )

    try:
        from napari_outpaint.engines.local import LocalEngine
    except ImportError:
        rows.append(
            (
                'local PatchMatch',
                'n/a (no engine)',
                np.nan,
                np.nan,
                None,
                None,
            )
        )
    else:
        meter, t0, t_ret, removal = run_widget(
            viewer, LocalEngine(), cells, sides, args.timeout
        )
        run_max, run_p99 = describe(meter.gaps(t0, t_ret))
        shape = 'x'.join(map(str, cells.data.shape))
        rows.append(
            (
                'local PatchMatch, cells',
                shape,
                run_max,
                run_p99,
                *add_and_remove_gaps(meter, t_ret, removal),
            )
        )
    rows.append(first_bar)
    rows.append(napari_progress_alone())
    reference = napari_add_image_alone(viewer, cells)
    rows.append(reference)
    ref_add, ref_remove = reference[4], reference[5]
    viewer.close()
    cache_dir.cleanup()

    print(f'Qt event-loop stalls, timer {TICK_MS} ms, expand {sides}')
    print(
        f'{"scenario":40} {"image":>11} {"max ms":>8} {"p99 ms":>8} '
        f'{"x base":>7} {"add-layer max ms":>17} {"x ref":>6} '
        f'{"remove-prev max ms":>19} {"x ref":>6}'
    )
    for name, shape, worst, p99, add, remove in rows:
        ratio = worst / base_max if base_max else float('nan')
        print(
            f'{name:40} {shape:>11} {worst:8.1f} {p99:8.1f} {ratio:7.2f} '
            f'{_ms(add):>17} {_ratio(add, ref_add):>6} '
            f'{_ms(remove):>19} {_ratio(remove, ref_remove):>6}'
        )


def _ms(value) -> str:
    return '-' if value is None else f'{value:.1f}'


def _ratio(value, reference) -> str:
    """*value* over napari's own time in the same run ('-' if none)."""
    if value is None or not reference:
        return '-'
    return f'{value / reference:.2f}'


if __name__ == '__main__':
    main()
