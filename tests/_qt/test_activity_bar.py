"""napari's Activity bar for a run: real progress, one change per turn;
its status-bar indicator laid out before the first Run."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from napari_outpaint._progress import ProgressEvent, Stage
from napari_outpaint._qt.activity_bar import (
    BAR_TOTAL,
    ActivityBar,
    activity_indicator,
    prime_activity_indicator,
)


def _open_bars() -> list:
    from napari.utils import progress

    return list(progress._all_instances)


def _qt_bars(viewer) -> list:
    from napari._qt.widgets.qt_progress_bar import QtLabeledProgressBar

    dialog = viewer.window._qt_window._activity_dialog  # itself hidden
    return [
        bar
        for bar in dialog.findChildren(QtLabeledProgressBar)
        if not bar.isHidden()  # a closed bar is hidden, then deleted
    ]


@pytest.fixture
def activity(make_napari_viewer, qtbot):
    """An ActivityBar in a shown viewer, opened; its napari events."""
    viewer = make_napari_viewer(show=True)
    bar = ActivityBar(on_cancel=lambda: None)
    made = []
    bar.open('Outpaint', then=lambda: made.append(bar.progress))
    assert _open_bars() == []  # made a turn later, not at Run
    qtbot.waitUntil(lambda: bool(made), timeout=5000)
    descriptions, values = [], []
    bar.progress.events.description.connect(
        lambda e: descriptions.append(e.value)
    )
    bar.progress.events.value.connect(lambda e: values.append(e.value))
    yield viewer, bar, descriptions, values
    bar.close()


@pytest.mark.gui
def test_bar_is_made_a_turn_after_open_and_shown_in_the_activity_dock(
    activity,
):
    viewer, bar, _, _ = activity
    assert _open_bars() == [bar.progress]
    assert bar.progress.total == BAR_TOTAL
    assert bar.progress.desc.startswith('Outpaint')
    (qt_bar,) = _qt_bars(viewer)
    assert qt_bar.progress is bar.progress


@pytest.mark.gui
def test_description_now_and_value_a_turn_later(activity, qtbot):
    """Two of napari's repaints are never asked for in one turn."""
    _, bar, descriptions, values = activity
    bar.show('Outpaint: painting', 0.5)
    assert descriptions == ['Outpaint: painting']
    assert values == []
    qtbot.waitUntil(lambda: values == [50], timeout=5000)


@pytest.mark.gui
def test_only_changes_are_sent_and_the_value_only_moves_forward(
    activity, qtbot
):
    _, bar, descriptions, values = activity
    bar.show('Outpaint: A', 0.25)
    qtbot.waitUntil(lambda: values == [25], timeout=5000)
    bar.show('Outpaint: A', 0.25)  # nothing new
    bar.show('Outpaint: A', 0.2)  # a plane that reports late
    bar.show('Outpaint: A', 0.253)  # the same whole percent
    bar.show('Outpaint: B')
    qtbot.waitUntil(lambda: 'Outpaint: B' in descriptions, timeout=5000)
    bar.show('Outpaint: B', 1.0)
    qtbot.waitUntil(lambda: values[-1] == BAR_TOTAL, timeout=5000)
    assert descriptions == ['Outpaint: A', 'Outpaint: B']
    assert values == [25, BAR_TOTAL]


@pytest.mark.gui
def test_a_change_during_naparis_repaint_waits_for_the_next_turn(
    activity, qtbot
):
    """napari's processEvents delivers more progress while it repaints:
    that change is not sent from inside the repaint, but a turn later."""
    _, bar, descriptions, values = activity
    inside = []

    def more_progress_during_repaint(event):
        if event.value == 'Outpaint: first':
            inside.append(True)
            bar.show('Outpaint: second', 0.75)
            inside.pop()

    nested = []
    bar.progress.events.description.connect(more_progress_during_repaint)
    bar.progress.events.description.connect(
        lambda e: nested.append(bool(inside))
    )
    bar.show('Outpaint: first')
    qtbot.waitUntil(lambda: values == [75], timeout=5000)
    assert descriptions == ['Outpaint: first', 'Outpaint: second']
    assert nested == [False, False]


@pytest.mark.gui
def test_close_ends_the_bar_and_later_calls_do_nothing(activity, qtbot):
    viewer, bar, descriptions, _ = activity
    bar.close()
    assert _open_bars() == []
    qtbot.waitUntil(lambda: _qt_bars(viewer) == [], timeout=5000)
    bar.show('Outpaint: late', 1.0)
    bar.close()
    assert descriptions == []
    assert bar.progress is None


@pytest.mark.gui
def test_closed_before_it_is_made_no_bar_is_made(make_napari_viewer, qtbot):
    make_napari_viewer(show=True)
    bar = ActivityBar(on_cancel=lambda: None)
    dropped, made = [], []
    bar.open('Outpaint: dropped', then=lambda: dropped.append(1))
    bar.close()
    bar.open('Outpaint: kept', then=lambda: made.append(bar.progress))
    qtbot.waitUntil(lambda: bool(made), timeout=5000)
    try:
        assert dropped == []
        assert [b.desc for b in _open_bars()] == ['Outpaint: kept']
    finally:
        bar.close()


@pytest.mark.gui
def test_closed_while_napari_makes_it_leaves_no_bar(make_napari_viewer, qtbot):
    """The run ends inside the processEvents napari calls as it adds the
    bar: the bar made is closed at once, none is left open."""
    from napari.utils import progress

    make_napari_viewer(show=True)
    bar = ActivityBar(on_cancel=lambda: None)

    def run_ends_during_creation(event):
        if event.added:
            bar.close()

    progress._all_instances.events.changed.connect(run_ends_during_creation)
    made = []
    try:
        bar.open('Outpaint', then=lambda: made.append(1))
        qtbot.waitUntil(lambda: bool(made), timeout=5000)
    finally:
        progress._all_instances.events.changed.disconnect(
            run_ends_during_creation
        )
    assert bar.progress is None
    assert _open_bars() == []


class _GatedEngine:
    """A free engine: half done, then waits for the test's gate."""

    name = 'local'
    model = 'gated-reflect'
    price_per_image_usd = 0.0

    def __init__(self, fail: bool = False):
        self.gate = threading.Event()
        self.fail = fail

    def outpaint(self, image, expand, *, progress=None, cancel=None):
        from napari_outpaint._errors import APIConnectionError
        from napari_outpaint.engines import EngineResult

        if progress is not None:
            progress(ProgressEvent(Stage.RUNNING, 'painting', 0.5))
        self.gate.wait(timeout=30)
        if self.fail:
            raise APIConnectionError('the engine broke')
        if cancel is not None:
            cancel.raise_if_cancelled()
        rows, cols = image.shape[:2]
        pad = expand.padding(rows, cols)
        canvas = np.pad(
            image,
            ((pad.top, pad.bottom), (pad.left, pad.right), (0, 0)),
            mode='reflect',
        )
        return EngineResult(image=canvas, engine=self.name, model=self.model)


def _idle(widget) -> bool:
    from qtpy.QtCore import QThreadPool

    return (
        widget.worker is None
        and QThreadPool.globalInstance().activeThreadCount() == 0
    )


@pytest.mark.gui
@pytest.mark.parametrize('ending', ['success', 'failure', 'cancel'])
def test_a_run_shows_its_progress_in_the_activity_dock_and_closes_it(
    make_napari_viewer, qtbot, ending
):
    """While the engine works, napari's Activity dock shows the run's bar
    with its stage and value; however the run ends, the bar is closed."""
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((20, 24), np.uint8), name='plane')
    engine = _GatedEngine(fail=ending == 'failure')
    widget = OutpaintWidget(viewer, engine=engine)
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    widget.right.value = 25

    def bar_shows_the_engine_working() -> bool:
        bars = _qt_bars(viewer)
        return (
            len(bars) == 1
            and bars[0].qt_progress_bar.value() > 0
            and 'painting' in bars[0].description_label.text()
        )

    widget.run.clicked.emit()
    try:
        qtbot.waitUntil(bar_shows_the_engine_working, timeout=15_000)
        if ending == 'cancel':
            widget._cancel_button.clicked.emit()
    finally:
        engine.gate.set()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    assert _open_bars() == []
    qtbot.waitUntil(lambda: _qt_bars(viewer) == [], timeout=5000)
    added = 'plane [outpainted]' in viewer.layers
    assert added == (ending == 'success')


def _status_bar_height(viewer) -> int:
    return viewer.window._qt_window.statusBar().sizeHint().height()


@pytest.mark.gui
def test_widget_primes_the_indicator_and_shows_nothing(
    make_napari_viewer, qtbot
):
    """After the dock appears the indicator has its frame, stays hidden,
    no progress bar is left anywhere, and the first bar of the session
    no longer changes the status bar's height (no relayout at Run)."""
    from napari.utils import progress
    from qtpy.QtWidgets import QApplication

    from napari_outpaint._qt.widget import OutpaintWidget

    viewer = make_napari_viewer(show=True)
    widget = OutpaintWidget(viewer)
    assert activity_indicator(widget.native) is None  # not docked yet
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    indicator = activity_indicator(widget.native)
    assert indicator is not None
    assert indicator.movie().currentPixmap().isNull()  # not yet laid out
    qtbot.waitUntil(
        lambda: not indicator.movie().currentPixmap().isNull(), timeout=5000
    )
    assert indicator.isHidden()
    assert _qt_bars(viewer) == []
    assert len(progress._all_instances) == 0

    QApplication.processEvents()  # the relayout the priming asked for
    height = _status_bar_height(viewer)
    bar = progress(total=10, desc='first of the session')
    try:
        assert indicator.isVisible()
        assert _status_bar_height(viewer) == height
    finally:
        bar.close()


@pytest.mark.gui
def test_without_priming_the_first_bar_grows_the_status_bar(
    make_napari_viewer,
):
    """What the priming saves: napari's first bar of a session changes the
    status bar's height (the relayout and canvas redraw at Run)."""
    from napari.utils import progress

    viewer = make_napari_viewer(show=True)
    height = _status_bar_height(viewer)
    bar = progress(total=10, desc='first of the session')
    try:
        assert _status_bar_height(viewer) != height
    finally:
        bar.close()


@pytest.mark.gui
def test_priming_twice_keeps_the_indicator_hidden(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    canvas = viewer.window._qt_viewer.canvas.native  # in the window
    assert prime_activity_indicator(canvas)
    assert prime_activity_indicator(canvas)
    indicator = activity_indicator(canvas)
    assert indicator.isHidden()
    assert not indicator.movie().currentPixmap().isNull()


@pytest.mark.gui
def test_a_widget_outside_a_viewer_is_left_alone(qtbot):
    """Not docked (a script's widget): no window, nothing primed."""
    from qtpy.QtWidgets import QWidget

    widget = QWidget()
    qtbot.addWidget(widget)
    assert activity_indicator(widget) is None
    assert prime_activity_indicator(widget) is False
