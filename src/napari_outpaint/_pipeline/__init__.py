"""One plane: validate, outpaint, bring back, place, record.

A validated source (:mod:`.source`, checks in :mod:`.validate`), the
per-plane path through an engine (:mod:`.plane`), placing it in world and
the public ``outpaint_array`` (:mod:`.array`), and the provenance record
(:mod:`.provenance`). No napari layers, no Qt.
"""

from napari_outpaint._pipeline.array import (
    RESULT_SUFFIX,
    OutpaintResult,
    check_adds_pixels,
    outpaint_array,
    outpaint_source_plane,
)
from napari_outpaint._pipeline.plane import native_mask
from napari_outpaint._pipeline.provenance import jsonable
from napari_outpaint._pipeline.source import Source, prepare_source
from napari_outpaint._pipeline.validate import (
    affine_matrix,
    linear_matrix,
    normalize_plane,
)

__all__ = [
    'OutpaintResult',
    'RESULT_SUFFIX',
    'Source',
    'native_mask',
    'affine_matrix',
    'check_adds_pixels',
    'jsonable',
    'linear_matrix',
    'normalize_plane',
    'outpaint_array',
    'outpaint_source_plane',
    'prepare_source',
]
