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

import logging

from qtpy.QtCore import QTimer

__all__ = [
    'activity_indicator',
    'prime_activity_indicator',
    'prime_activity_indicator_soon',
]

logger = logging.getLogger(__name__)


def activity_indicator(viewer) -> object | None:
    """napari's "in progress..." label in *viewer*'s status bar, or None.

    napari keeps it private (``_activity_dialog._toggleButton``); a napari
    without it gives None and the first run pays the layout, as before.
    """
    window = getattr(getattr(viewer, 'window', None), '_qt_window', None)
    dialog = getattr(window, '_activity_dialog', None)
    toggle = getattr(dialog, '_toggleButton', None)
    return getattr(toggle, '_inProgressIndicator', None)


def prime_activity_indicator(viewer) -> bool:
    """Give the indicator its final size now; True if it was primed.

    Loads the movie's first frame without starting it or showing the
    label. Idempotent: a label whose movie has a frame is left alone.
    """
    label = activity_indicator(viewer)
    movie = label.movie() if label is not None else None
    if movie is None:
        return False
    try:
        if movie.currentPixmap().isNull():
            movie.jumpToFrame(0)
            label.updateGeometry()
    except RuntimeError as exc:  # the viewer's widgets were deleted
        logger.debug('Activity indicator not primed: %s', exc)
        return False
    return True


def prime_activity_indicator_soon(viewer) -> None:
    """:func:`prime_activity_indicator` on the next event-loop turn.

    The widget is made before its dock is added; one turn later the
    status bar's relayout joins the dock's.
    """
    QTimer.singleShot(0, lambda: prime_activity_indicator(viewer))
