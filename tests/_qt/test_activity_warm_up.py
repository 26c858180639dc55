"""The widget lays out napari's Activity indicator before the first Run."""

from __future__ import annotations

import pytest

from napari_outpaint._qt.activity_warm_up import (
    activity_indicator,
    prime_activity_indicator,
)


def _status_bar_height(viewer) -> int:
    return viewer.window._qt_window.statusBar().sizeHint().height()


def _activity_bars(viewer) -> list:
    from napari._qt.widgets.qt_progress_bar import QtLabeledProgressBar

    dialog = viewer.window._qt_window._activity_dialog
    return dialog.findChildren(QtLabeledProgressBar)


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
    assert _activity_bars(viewer) == []
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
