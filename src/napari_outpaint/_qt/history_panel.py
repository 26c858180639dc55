"""The widget's "History" section: pick a past result, open it aligned.

Thin: listing and re-opening live in :mod:`napari_outpaint._layers.history`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from magicgui.widgets import CheckBox, ComboBox, Container, PushButton
from napari.utils.notifications import show_error, show_info

from napari_outpaint._errors import OutpaintError
from napari_outpaint._layers import history_choices, open_for_viewer
from napari_outpaint._qt.failures import describe_failure

__all__ = ['HistoryPanel']


class HistoryPanel(Container):
    """A collapsible list of cached results and an Open button.

    Parameters
    ----------
    selected_image : callable
        Returns the image layer to align with (or None).
    add_layer : callable
        Adds the re-opened layer to the viewer.
    """

    def __init__(
        self,
        selected_image: Callable[[], Any],
        add_layer: Callable[[Any], None],
    ) -> None:
        super().__init__(labels=False)
        self._selected_image = selected_image
        self._add_layer = add_layer
        self.toggle = CheckBox(text='History (past results)', value=False)
        self.entries = ComboBox(
            choices=self._choices, nullable=False, visible=False
        )
        self.entries.tooltip = (
            'Results kept in the local cache: date, source, expand, '
            'engine/model, cost. Open re-opens one for free, aligned with '
            'the selected image when it is the source.'
        )
        self.open_button = PushButton(text='Open', visible=False)
        self.extend([self.toggle, self.entries, self.open_button])
        self.toggle.changed.connect(self._on_toggle)
        self.open_button.changed.connect(self._on_open)

    def refresh(self) -> None:
        """Read the cache again (after a run), if the section is open."""
        if not self.toggle.value:
            return
        known = set(self.entries.choices)
        self.entries.reset_choices()
        newest = self.entries.choices[:1]
        if newest and newest[0] not in known:
            self.entries.value = newest[0]  # a new result: select it

    def _choices(self, _widget=None) -> list:
        if not self.toggle.value:
            return []

        try:
            return history_choices()
        except OSError:
            return []

    def _on_toggle(self, shown: bool) -> None:
        self.entries.visible = shown
        self.open_button.visible = shown
        self.refresh()

    def _on_open(self, _value=None) -> None:

        key = self.entries.value
        if key is None:
            show_info('Outpaint: no past result selected.')
            return
        try:
            layer = open_for_viewer(key, self._selected_image())
        except (OutpaintError, OSError) as exc:
            failure = describe_failure(exc)
            show_error(
                failure.message('Outpaint could not re-open the result')
            )
            return
        self._add_layer(layer)
