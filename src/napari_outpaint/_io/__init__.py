"""Files on disk: images with their pixel sizes, atomic writes, sidecars.

Reading and writing PNG/JPEG/TIFF (OME and ImageJ metadata) in
:mod:`.files`; writing any file so that readers never see a partial one
in :mod:`.atomic`; which axis holds the channels in :mod:`.channels`;
the names of a result's mask and sidecar, and reading the sidecar, in
:mod:`.sidecar`; a batch result as an OME-Zarr store written plane by
plane (:class:`ResultStore`) in :mod:`.zarr_store`.
"""

from napari_outpaint._io.atomic import write_atomic, write_bytes_atomic
from napari_outpaint._io.channels import channel_axis_of
from napari_outpaint._io.files import (
    PNG_SUFFIXES,
    TIFF_SUFFIXES,
    ImageFile,
    check_writable,
    read_image,
    write_image,
)
from napari_outpaint._io.sidecar import (
    mask_path_for,
    read_sidecar,
    sidecar_path_for,
)
from napari_outpaint._io.zarr_store import (
    ResultStore,
    check_store_path,
    is_result_store,
    is_zarr_path,
    ome_axes,
    read_store_attrs,
)

__all__ = [
    'ImageFile',
    'ResultStore',
    'PNG_SUFFIXES',
    'TIFF_SUFFIXES',
    'channel_axis_of',
    'check_store_path',
    'check_writable',
    'is_result_store',
    'is_zarr_path',
    'mask_path_for',
    'read_image',
    'ome_axes',
    'read_sidecar',
    'read_store_attrs',
    'sidecar_path_for',
    'write_atomic',
    'write_bytes_atomic',
    'write_image',
]
