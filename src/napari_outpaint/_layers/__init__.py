"""napari layers, no Qt: a layer in, an aligned layer out.

What goes in from a layer and the styled result and mask layers
(:mod:`.convert`), ``outpaint_layer`` (:mod:`.outpaint`), and re-opening a
cached result as an aligned layer (:mod:`.history`).
"""

from napari_outpaint._layers.convert import mask_layer, plane_shown
from napari_outpaint._layers.history import (
    history_choices,
    open_cached_result,
    open_for_viewer,
    reopen_native,
)
from napari_outpaint._layers.outpaint import outpaint_layer

__all__ = [
    'history_choices',
    'mask_layer',
    'open_cached_result',
    'open_for_viewer',
    'outpaint_layer',
    'plane_shown',
    'reopen_native',
]
