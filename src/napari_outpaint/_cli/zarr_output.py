"""``-o result.zarr``: a batch written to an OME-Zarr store as it runs.

The store (:class:`napari_outpaint._io.ResultStore`) holds the result,
its ``[generated]`` mask and the provenance, so no TIFF, mask file or
sidecar is written beside it. Run the same command again after an
interruption: the planes the store holds are not sent again (no
``--overwrite`` needed; a store of another input or expansion is
refused).
"""

from __future__ import annotations

from pathlib import Path

from napari_outpaint._batch import StoreOutput
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._io import ImageFile, check_store_path, is_zarr_path

__all__ = ['check_zarr_output', 'is_zarr_path', 'store_output_for']

_FIELD = '--output'


def check_zarr_output(
    target: Path,
    image: ImageFile,
    planes: tuple[tuple[int, ...], ...] | None,
    *,
    n_inputs: int,
    channels: bool = False,
) -> None:
    """Refuse a zarr output that cannot hold this job, before any run."""
    if channels:
        raise InvalidInputError(
            _FIELD,
            f'{image.source} has channels, outpainted together; a zarr '
            'store does not hold channel results yet: write a .tif.',
        )
    if n_inputs > 1:
        raise InvalidInputError(
            _FIELD,
            f'{target} is a zarr store, which holds the result of one '
            'input; give a folder for several inputs, or one input.',
        )
    if planes is None:
        raise InvalidInputError(
            _FIELD,
            f'{target} is a zarr store, which holds a batch of planes; '
            f'add --plane all for the stack {image.source}, or write a '
            '.tif.',
        )
    check_store_path(target, field=_FIELD)


def store_output_for(image: ImageFile, target: Path) -> StoreOutput | None:
    """The batch's store output for *target* (None unless ``*.zarr``):
    the file's axes (``t``, ``z``, ``y``, ``x``...) and its unit on the
    spatial axes."""
    if not is_zarr_path(target):
        return None
    letters = image.axes.replace('S', '') if image.rgb else image.axes
    names = [a.lower() for a in letters]
    units = [image.unit if a in 'XYZ' else None for a in letters]
    return StoreOutput(target, axis_names=names, units=units, field=_FIELD)
