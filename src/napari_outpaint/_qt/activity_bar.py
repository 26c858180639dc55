"""napari's Activity dock for a run, at one repaint per event-loop turn.

napari's Qt progress bar repaints the whole window at once
(``QApplication.processEvents``) when it is added and on every new value
or description; on software OpenGL each repaint holds the GUI thread for
15-40 ms (bench/ui_stall.py). :class:`ActivityBar` keeps the bar showing
real progress while asking for as few of those as it can:

- the bar is made one event-loop turn after :meth:`ActivityBar.open`, so
  the dock's own repaint (its inputs disabled at Run) is not added to it;
- a description or value equal to the one shown is not sent again, and a
  value only moves forward, by whole percents;
- a new description and a new value are sent in two turns, not in one;
- a change asked for while napari's repaint is running (its
  ``processEvents`` delivers more progress) waits for the next turn
  instead of nesting another repaint in it.

The status bar's "in progress..." indicator is a ``QLabel`` showing a
``QMovie`` that has no frame until the first bar of a session starts it.
Its size hint then grows from the text's to the frame's, the status bar
grows by one pixel, and the canvas is resized and redrawn, all inside the
repaint napari forces as it adds that bar: the first Run of a session
stalled the viewer about twice as long as later ones.
:func:`prime_activity_indicator` loads the movie's first frame while the
label stays hidden (napari retains its size when hidden), so the status
bar takes its final height when the dock is added, which resizes the
canvas anyway. Nothing is shown: no bar, no spinner.
"""

from __future__ import annotations

from collections.abc import Callable

from napari.utils import cancelable_progress
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QLabel, QMainWindow, QWidget

__all__ = [
    'BAR_TOTAL',
    'ActivityBar',
    'activity_indicator',
    'prime_activity_indicator',
    'prime_activity_indicator_soon',
]

# The bar counts to this; its time read-out shows no 'it/s'.
BAR_TOTAL = 100
_BAR_FORMAT = '{l_bar}{bar}| {elapsed} elapsed, {remaining} left'


class ActivityBar:
    """One run's bar in napari's Activity dock.

    Parameters
    ----------
    on_cancel : callable
        Called when the user presses Cancel on the bar.
    """

    def __init__(self, on_cancel: Callable[[], None]) -> None:
        self._on_cancel = on_cancel
        self._bar: cancelable_progress | None = None
        self._open = False
        self._busy = False  # inside one of napari's repaints
        self._description: str | None = None  # the latest asked for
        # tqdm keeps its desc as 'text: ', so the shown one is kept here
        self._shown_description: str | None = None
        self._target = 0  # the latest value asked for, 0..BAR_TOTAL
        self._then: Callable[[], None] | None = None
        self._turn = QTimer()
        self._turn.setSingleShot(True)
        self._turn.setInterval(0)
        self._turn.timeout.connect(self._next_change)

    @property
    def progress(self) -> cancelable_progress | None:
        """napari's progress object, once the bar is made."""
        return self._bar

    def open(
        self, description: str, then: Callable[[], None] | None = None
    ) -> None:
        """Show a bar at 0 with *description*, one turn from now.

        *then* is called once the bar is made (or failed to be): a worker
        started there does not compete with napari's repaints for the GIL.
        """
        self.close()
        self._open = True
        self._description = description
        self._target = 0
        self._then = then
        self._turn.start()

    def show(self, description: str, fraction: float | None = None) -> None:
        """Show *description* and, if given, *fraction* (0..1) done."""
        if not self._open:
            return
        self._description = description
        if fraction is not None:
            value = round(BAR_TOTAL * max(0.0, min(1.0, fraction)))
            self._target = max(self._target, value)  # planes come unordered
        if not self._busy:
            self._next_change()

    def close(self) -> None:
        """Close the bar (or never make it); later calls do nothing."""
        self._open = False
        self._turn.stop()
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()

    def _next_change(self) -> None:
        """Make the bar, or send it one change; the rest a turn later."""
        if not self._open or self._busy:
            return
        self._busy = True
        try:
            if self._bar is None:
                self._shown_description = self._description
                self._bar = cancelable_progress(
                    total=BAR_TOTAL,
                    desc=self._description,
                    cancel_callback=self._on_cancel,
                    bar_format=_BAR_FORMAT,
                )
                if not self._open:  # closed by napari's repaint of it
                    self._bar, bar = None, self._bar
                    bar.close()
            elif self._shown_description != self._description:
                self._shown_description = self._description
                self._bar.set_description(self._description)
            elif self._target > self._bar.n:
                # update() (not n=) emits the value the Activity bar shows
                self._bar.update(self._target - self._bar.n)
        finally:
            self._busy = False
            then, self._then = self._then, None
            if then is not None:
                then()
        if self._open and self._pending():
            self._turn.start()

    def _pending(self) -> bool:
        bar = self._bar
        return bar is None or (
            self._shown_description != self._description
            or self._target > bar.n
        )


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
