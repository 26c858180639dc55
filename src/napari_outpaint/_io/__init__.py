"""Files on disk: images with their pixel sizes, and atomic writes.

Reading and writing PNG/JPEG/TIFF (OME and ImageJ metadata) in
:mod:`.files`; writing any file so that readers never see a partial one
in :mod:`.atomic`.
"""

from napari_outpaint._io.atomic import write_atomic, write_bytes_atomic
from napari_outpaint._io.files import (
    PNG_SUFFIXES,
    TIFF_SUFFIXES,
    ImageFile,
    check_writable,
    read_image,
    write_image,
)

__all__ = [
    'ImageFile',
    'PNG_SUFFIXES',
    'TIFF_SUFFIXES',
    'check_writable',
    'read_image',
    'write_atomic',
    'write_bytes_atomic',
    'write_image',
]
