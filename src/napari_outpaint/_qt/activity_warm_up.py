"""Lay out napari's Activity indicator when the widget appears, not at Run.

The status bar's "in progress..." indicator is a ``QLabel`` showing a
``QMovie`` that has no frame until the first progress bar of a session
starts it. Its size hint then grows from the text's to the frame's, the
status bar grows by one pixel, and the canvas is resized and redrawn, all
inside the ``processEvents`` napari calls when it adds the bar: the first
Run of a session stalled the viewer about three times as long as later
ones (bench/ui_stall.py). :func:`prime_activity_indicator` loads the
movie's first frame while the label stays hidden (napari retains its size
when hidden), so the status bar takes its final height when the dock is
added, which resizes the canvas anyway. Nothing is shown: no bar, no
spinner.
"""

from __future__ import annotations

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QLabel, QMainWindow, QWidget

__all__ = [
    'activity_indicator',
    'prime_activity_indicator',
    'prime_activity_indicator_soon',
]


def activity_indicator(widget: QWidget) -> QLabel | None:
    """napari's "in progress..." label in the status bar of the window
    holding *widget*, or None (not docked yet, or a napari without it).

    Found through Qt (the window's status bar, the one label showing a
    movie), not napari's private attributes, which warn in a plugin.
    """
    try:
        window = widget.window()
    except RuntimeError:  # the widget was deleted
        return None
    if not isinstance(window, QMainWindow):
        return None
    labels = [
        label
        for label in window.statusBar().findChildren(QLabel)
        if label.movie() is not None
    ]
    return labels[0] if len(labels) == 1 else None


def prime_activity_indicator(widget: QWidget) -> bool:
    """Give the indicator its final size now; True if it was primed.

    Loads the movie's first frame without starting it or showing the
    label. Idempotent: a label whose movie has a frame is left alone.
    """
    label = activity_indicator(widget)
    if label is None:
        return False
    movie = label.movie()
    if movie.currentPixmap().isNull():
        movie.jumpToFrame(0)
        label.updateGeometry()
    return True


def prime_activity_indicator_soon(widget: QWidget) -> None:
    """:func:`prime_activity_indicator` on the next event-loop turn.

    The widget is made before napari docks it; one turn later it is in
    the viewer's window and the status bar's relayout joins the dock's.
    """
    QTimer.singleShot(0, lambda: prime_activity_indicator(widget))
