"""napari layers, no Qt: a layer in, an aligned layer out.

What goes in from a layer and the styled result and mask layers
(:mod:`.convert`), ``outpaint_layer`` (:mod:`.outpaint`; with
``channel_axis=``, :mod:`.channel_axis`), channel layers of one image
together (``outpaint_layers``, :mod:`.channels`; the runs they share,
:mod:`.channel_runs`), re-opening a
cached result as an aligned layer (:mod:`.history`), and which layers are
the widget's results and their masks (:mod:`.pairing`).
"""

from napari_outpaint._layers.channels import channel_siblings, outpaint_layers
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
from napari_outpaint._layers.pairing import (
    is_paired_mask,
    is_result,
    mask_of,
    name_mask,
    paired_mask,
    previous_result,
    tag_result,
)

__all__ = [
    'BATCH_PREFIX',
    'HistoryItem',
    'channel_siblings',
    'clear_history',
    'describe_item',
    'describe_plane',
    'entry_matches',
    'group_entries',
    'history_choices',
    'history_items',
    'is_paired_mask',
    'is_result',
    'mask_layer',
    'mask_of',
    'name_mask',
    'open_batch',
    'open_cached_result',
    'open_for_viewer',
    'open_item_for_viewer',
    'outpaint_layer',
    'outpaint_layers',
    'paired_mask',
    'plane_label',
    'plane_shown',
    'previous_result',
    'reopen_native',
    'source_matches',
    'tag_result',
]
