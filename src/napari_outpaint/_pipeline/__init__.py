"""One plane: validate, outpaint, bring back, place, record.

A validated source (:mod:`.source`, checks in :mod:`.validate`), the
per-plane path through an engine (:mod:`.plane`), placing it in world and
the public ``outpaint_array`` (:mod:`.array`), the memory a plane's path
needs (:mod:`.memory`), and the provenance record (:mod:`.provenance`).
No napari layers, no Qt.
"""

from napari_outpaint._pipeline.array import (
    RESULT_SUFFIX,
    OutpaintResult,
    check_adds_pixels,
    check_plan,
    confirm_passes,
    outpaint_array,
    outpaint_source_plane,
)
from napari_outpaint._pipeline.memory import (
    DEFAULT_MAX_PIXELS,
    MAX_PIXELS_ENV,
    check_plane_fits,
    max_pixels_setting,
    return_freed_memory,
)
from napari_outpaint._pipeline.passes import (
    MAX_PASSES_ENV,
    check_wish,
    max_passes_setting,
    plan_for,
)
from napari_outpaint._pipeline.plane import native_mask
from napari_outpaint._pipeline.provenance import GENERATED_BITS, jsonable
from napari_outpaint._pipeline.source import Source, prepare_source
from napari_outpaint._pipeline.validate import (
    affine_matrix,
    linear_matrix,
    normalize_plane,
)

__all__ = [
    'DEFAULT_MAX_PIXELS',
    'GENERATED_BITS',
    'MAX_PASSES_ENV',
    'MAX_PIXELS_ENV',
    'OutpaintResult',
    'RESULT_SUFFIX',
    'Source',
    'affine_matrix',
    'check_adds_pixels',
    'check_plan',
    'check_plane_fits',
    'check_wish',
    'confirm_passes',
    'jsonable',
    'linear_matrix',
    'max_passes_setting',
    'max_pixels_setting',
    'native_mask',
    'normalize_plane',
    'outpaint_array',
    'outpaint_source_plane',
    'plan_for',
    'prepare_source',
    'return_freed_memory',
]
