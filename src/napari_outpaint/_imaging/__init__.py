"""Pixels in, pixels out: pure numpy and Pillow, no napari, no I/O.

The 8-bit RGB view an engine sees and the way back to the source's dtype
(:mod:`.convert`), PNG/WebP/JPEG codecs (:mod:`.codecs`), where a result
sits in world coordinates (:mod:`.placement`), the source's own values for
a border copied from it (:mod:`.depth`), channels of one image as one
8-bit image (:mod:`.channels`), and two checks of a result:
the seam score (:mod:`.quality`) and the alignment of the original inside
it (:mod:`.alignment`).
"""

from napari_outpaint._imaging.alignment import (
    ALIGNMENT_WARN_PX,
    Alignment,
    measure_alignment,
)
from napari_outpaint._imaging.channels import (
    CHANNELS_PER_RUN,
    ChannelComposite,
    guide_basis,
)
from napari_outpaint._imaging.codecs import decode_image, encode_png
from napari_outpaint._imaging.convert import (
    BAND_PIXELS,
    as_level0,
    default_contrast_limits,
    from_rgb8,
    leading_ndim,
    resample_rgb8,
    select_plane,
    stack_contrast_limits,
    to_rgb8,
)
from napari_outpaint._imaging.depth import restore_depth, source_positions
from napari_outpaint._imaging.placement import (
    canvas_world_bounds,
    place_result,
)
from napari_outpaint._imaging.quality import SEAM_WARN_THRESHOLD, seam_score

__all__ = [
    'BAND_PIXELS',
    'CHANNELS_PER_RUN',
    'ChannelComposite',
    'ALIGNMENT_WARN_PX',
    'Alignment',
    'SEAM_WARN_THRESHOLD',
    'as_level0',
    'canvas_world_bounds',
    'decode_image',
    'default_contrast_limits',
    'encode_png',
    'from_rgb8',
    'guide_basis',
    'leading_ndim',
    'measure_alignment',
    'place_result',
    'resample_rgb8',
    'restore_depth',
    'seam_score',
    'select_plane',
    'source_positions',
    'stack_contrast_limits',
    'to_rgb8',
]
