"""napari layers, no Qt: a layer in, an aligned layer out.

What goes in from a layer and the styled result and mask layers
(:mod:`.convert`), ``outpaint_layer`` (:mod:`.outpaint`), and re-opening a
cached result as an aligned layer (:mod:`.history`).
"""

from napari_outpaint._layers.convert import mask_layer, plane_shown
from napari_outpaint._layers.history import (
    BATCH_PREFIX,
    HistoryItem,
    clear_history,
    describe_item,
    describe_plane,
    entry_matches,
    group_entries,
    history_choices,
    history_items,
    open_batch,
    open_cached_result,
    open_for_viewer,
    open_item_for_viewer,
    plane_label,
    reopen_native,
    source_matches,
)
from napari_outpaint._layers.outpaint import outpaint_layer

__all__ = [
    'BATCH_PREFIX',
    'HistoryItem',
    'clear_history',
    'describe_item',
    'describe_plane',
    'entry_matches',
    'group_entries',
    'history_choices',
    'history_items',
    'mask_layer',
    'open_batch',
    'open_cached_result',
    'open_for_viewer',
    'open_item_for_viewer',
    'outpaint_layer',
    'plane_label',
    'plane_shown',
    'reopen_native',
    'source_matches',
]
