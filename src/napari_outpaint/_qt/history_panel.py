"""The widget's "History" section: find a past result, open it aligned.

Thin: listing, filtering, re-opening and clearing live in
:mod:`napari_outpaint._layers.history`. A batch is one entry; picking it
shows its planes: all of them (one nD layer) or one plane. *Clear* asks
twice (a two-step button, no dialog) and says what it did in the panel,
not in a notification.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    Label,
    LineEdit,
    PushButton,
)
from napari.utils.notifications import show_error, show_info

from napari_outpaint._cache import ResultCache
from napari_outpaint._errors import OutpaintError
from napari_outpaint._layers import (
    HistoryItem,
    clear_history,
    describe_item,
    describe_plane,
    history_items,
    open_item_for_viewer,
    source_matches,
)
from napari_outpaint._qt.failures import describe_failure
from napari_outpaint._qt.progress_text import axis_names

__all__ = ['ALL_PLANES', 'CLEAR_TEXT', 'HistoryPanel']

#: The planes picker's value for "the whole batch, one nD layer".
ALL_PLANES = ''
CLEAR_TEXT = 'Clear'


class HistoryPanel(Container):
    """A collapsible, filterable list of cached results; Open and Clear.

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
        self._items: dict[str, HistoryItem] = {}
        self._clear_armed = False
        self.toggle = CheckBox(text='History (past results)', value=False)
        self.filter = LineEdit(value='', visible=False)
        self.filter.native.setPlaceholderText(
            'filter: source, date, engine, run id'
        )
        self.filter.tooltip = (
            'Show only results whose source name, date (YYYY-MM-DD HH:MM), '
            'engine/model, run id or key contain every word.'
        )
        self.entries = ComboBox(
            choices=self._choices, nullable=False, visible=False
        )
        self.entries.tooltip = (
            'Results kept in the local cache: date, source, expand, '
            'engine/model, cost; a batch is one entry. Open re-opens one '
            'for free, aligned with the selected image when it is the '
            'source.'
        )
        self.planes = ComboBox(
            choices=self._plane_choices, nullable=False, visible=False
        )
        self.planes.tooltip = (
            'A batch: open all its planes as one nD layer, or one plane.'
        )
        self.open_button = PushButton(text='Open', visible=False)
        self.clear_button = PushButton(text=CLEAR_TEXT, visible=False)
        self.clear_button.tooltip = (
            'Delete every cached result (pending runs are kept). Asks '
            'again before it deletes.'
        )
        self.message = Label(value='', visible=False)
        self.extend(
            [
                self.toggle,
                self.filter,
                self.entries,
                self.planes,
                self.open_button,
                self.clear_button,
                self.message,
            ]
        )
        self.toggle.changed.connect(self._on_toggle)
        self.filter.changed.connect(self._on_filter)
        self.entries.changed.connect(self._on_entry)
        self.open_button.changed.connect(self._on_open)
        self.clear_button.changed.connect(self._on_clear)

    @property
    def selected_item(self) -> HistoryItem | None:
        """The History item picked, or None."""
        return self._items.get(self.entries.value)

    def refresh(self) -> None:
        """Read the cache again (after a run), if the section is open."""
        self._disarm_clear()
        if not self.toggle.value:
            return
        known = set(self.entries.choices)
        self.entries.reset_choices()
        newest = self.entries.choices[:1]
        if newest and newest[0] not in known:
            self.entries.value = newest[0]  # a new result: select it
        self._on_entry()

    # -- choices ---------------------------------------------------------
    def _choices(self, _widget=None) -> list:
        if not self.toggle.value:
            self._items = {}
            return []
        try:
            items = history_items(text=self.filter.value)
        except (OSError, OutpaintError):
            items = []
        self._items = {item.key: item for item in items}
        return [(describe_item(item), item.key) for item in items]

    def _plane_choices(self, _widget=None) -> list:
        item = self.selected_item
        if item is None or not item.is_batch:
            return []
        n = len(item.entries)
        names = self._axis_names(item)
        return [
            (f'all {n} planes, as one nD layer', ALL_PLANES),
            *((describe_plane(e, names), e.key) for e in item.entries),
        ]

    def _axis_names(self, item: HistoryItem) -> tuple[str, ...]:
        """The selected image's labels of the batch's plane axes, when it
        is the batch's source and names them (``'z'``), else none."""
        layer = self._selected_image()
        first = item.entries[0]
        if layer is None or not source_matches(first, layer):
            return ()
        n_lead = len(first.provenance.get('plane') or ())
        names = axis_names(tuple(layer.axis_labels), n_lead)
        return () if any(n.startswith('axis ') for n in names) else names

    # -- events ----------------------------------------------------------
    def _on_toggle(self, shown: bool) -> None:
        for widget in (
            self.filter,
            self.entries,
            self.open_button,
            self.clear_button,
        ):
            widget.visible = shown
        self.message.visible = shown and bool(self.message.value)
        self.refresh()

    def _on_filter(self, _value=None) -> None:
        self.refresh()

    def _on_entry(self, _value=None) -> None:
        self._disarm_clear()
        self.planes.reset_choices()
        item = self.selected_item
        self.planes.visible = bool(
            self.toggle.value and item is not None and item.is_batch
        )

    def _on_open(self, _value=None) -> None:
        item = self.selected_item
        if item is None:
            show_info('Outpaint: no past result selected.')
            return
        plane_key = self.planes.value if item.is_batch else None
        try:
            layer = open_item_for_viewer(
                item, self._selected_image(), plane_key=plane_key or None
            )
        except (OutpaintError, OSError) as exc:
            failure = describe_failure(exc)
            show_error(
                failure.message('Outpaint could not re-open the result')
            )
            return
        self._add_layer(layer)

    def _on_clear(self, _value=None) -> None:
        if not self._clear_armed:
            try:
                count = len(ResultCache().entries())
            except (OSError, OutpaintError):
                count = 0
            self._clear_armed = True
            self.clear_button.text = f'Click again to delete {count} result(s)'
            self._say(
                'Clear deletes every cached result (pending runs are '
                'kept). Click again to confirm; any other change cancels.'
            )
            return
        try:
            said = clear_history()
        except (OSError, OutpaintError) as exc:
            said = f'could not clear the cache: {exc}'
        self.refresh()
        self._say(f'{said}; pending runs are kept')

    def _disarm_clear(self) -> None:
        if self._clear_armed:
            self._clear_armed = False
            self.clear_button.text = CLEAR_TEXT
            self._say('')

    def _say(self, text: str) -> None:
        self.message.value = text
        self.message.visible = self.toggle.value and bool(text)
