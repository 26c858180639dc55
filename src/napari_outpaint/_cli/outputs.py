"""Write a command-line result: image, mask and sidecar JSON, atomically."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from napari_outpaint._cli.inputs import Job
from napari_outpaint._cli.overwrite import is_zarr_path
from napari_outpaint._expand import Expand
from napari_outpaint._io import check_writable, write_atomic, write_image
from napari_outpaint._pipeline import jsonable
from napari_outpaint._version import __version__


def _placement(job: Job, result: Any, expand: Expand) -> dict[str, Any]:
    """Where the result sits, and where the original sits inside it."""
    image = job.image
    scale = [float(s) for s in result.scale]
    translate = [float(t) for t in result.translate]
    height, width = image.data.shape[image.plane_axes : image.plane_axes + 2]
    plan = job.plan
    pad = plan.target if plan is not None else expand.padding(height, width)
    first = plan.passes[0].expand if plan is not None else expand
    # result pixel coordinates of the centre of the original's pixel (0, 0)
    offset = [
        round((0.0 - t) / s, 6)
        for t, s in zip(translate[-2:], scale[-2:], strict=True)
    ]
    affine = getattr(result, 'affine', None)
    return {
        'scale': scale,
        'translate': translate,
        'affine': None if affine is None else np.asarray(affine).tolist(),
        'unit': image.unit,
        'original_offset_px': offset,
        'padding_px': pad._asdict(),
        'expand': first.as_dict(),
        'passes': [p.expand.as_dict() for p in plan.passes] if plan else None,
        'note': (
            'scale/translate/affine place the result in the world frame of '
            'the input (input.scale, translate 0); original_offset_px is '
            'where the centre of the original pixel (0, 0) lies, in result '
            'pixel coordinates (row, col).'
        ),
    }


def write_outputs(
    job: Job,
    result: Any,
    expand: Expand,
    args: argparse.Namespace,
) -> list[Path]:
    """Write the result, its mask and the sidecar; return the paths.

    A ``*.zarr`` output was written plane by plane during the batch (with
    its mask and provenance): nothing is left to write.
    """
    image = job.image
    output = job.output
    if is_zarr_path(output):
        return [output]
    layer_scale = [float(s) for s in result.scale]
    written = [
        write_atomic(
            output,
            lambda p: write_image(
                p,
                np.asarray(result.data),
                rgb=image.rgb,
                axes=image.axes,
                scale=layer_scale,
                unit=image.unit,
            ),
        )
    ]
    mask_path = None
    if not args.no_mask and result.mask is not None:
        mask_path = job.mask_path
        mask = np.asarray(result.mask).astype(np.uint8) * 255
        mask_axes = image.axes[:-1] if image.rgb else image.axes
        written.append(
            write_atomic(
                mask_path,
                lambda p: write_image(
                    p,
                    mask,
                    rgb=False,
                    axes=mask_axes if mask.ndim == len(mask_axes) else None,
                    scale=layer_scale,
                    unit=image.unit,
                ),
            )
        )

    sidecar = {
        'napari_outpaint': __version__,
        'input': image.describe(),
        'output': {
            'path': str(output),
            'shape': list(np.shape(result.data)),
            'dtype': str(np.asarray(result.data).dtype),
            'mask': str(mask_path) if mask_path else None,
            'native_resolution': bool(args.native_resolution),
        },
        'contrast_limits': list(job.contrast_limits)
        if job.contrast_limits
        else None,
        'placement': _placement(job, result, expand),
        'provenance': result.provenance,
    }
    channels = getattr(result, 'channels', None)
    if channels is not None:  # outpainted together, written on their axis
        sidecar['channels'] = channels
    sidecar_path = job.sidecar_path
    text = json.dumps(jsonable(sidecar), indent=2, ensure_ascii=False)
    written.append(
        write_atomic(
            sidecar_path, lambda p: p.write_text(text + '\n', 'utf-8')
        )
    )
    return written


def check_rgb8_output(path: str | Path) -> None:
    """Fail early if an 8-bit RGB image cannot be written to *path*."""
    check_writable(path, dtype=np.dtype(np.uint8), rgb=True, ndim=2)


def write_rgb8(path: str | Path, image: np.ndarray) -> Path:
    """Write an 8-bit RGB image to *path* atomically; return the path."""
    return write_atomic(Path(path), lambda p: write_image(p, image, rgb=True))
