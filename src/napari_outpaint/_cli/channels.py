"""Multichannel files on the command line: the channels outpainted together.

A TIFF / OME-TIFF whose metadata names a channel axis (``C``: OME
``DimensionOrder``, ImageJ ``channels``, tifffile's axes; see
:func:`napari_outpaint._io.channel_axis_of`) is outpainted as one image:
up to three channels per Runflow run (``ceil(C / 3)`` runs per plane; the
local engine: one), each through its own range (its finite min and max
over the file, or ``--contrast-limits`` for all), and written back with
the channels on the same axis. ``--plane`` then names the other
non-spatial axes (``--plane all``: every plane of them); a ``--plane``
with an index for the channel axis too outpaints that channel alone.
"""

from __future__ import annotations

import argparse
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from napari_outpaint._batch import BatchResult
from napari_outpaint._canvas import Canvas
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import Expand
from napari_outpaint._imaging import CHANNELS_PER_RUN, stack_contrast_limits
from napari_outpaint._io import ImageFile
from napari_outpaint._layers.channel_runs import Channel, outpaint_channels

__all__ = ['ChannelsResult', 'channel_selection', 'outpaint_channels_job']

Plane = tuple[int, ...]


def channel_selection(
    image: ImageFile, axis: int | None, plane: str | Plane | None
) -> tuple[Plane | None, tuple[Plane, ...] | None] | None:
    """``(plane, planes)`` over the axes other than the channel *axis*, or
    None when the job is not channels together (no channel axis, or a
    ``--plane`` that names a channel too)."""
    if axis is None:
        return None
    lead = image.data.shape[: image.plane_axes]
    others = tuple(n for i, n in enumerate(lead) if i != axis)
    letters = ''.join(
        a for i, a in enumerate(image.axes[: len(lead)]) if i != axis
    )
    if plane is None:
        if all(n == 1 for n in others):
            return (0,) * len(others), None
        raise InvalidInputError(
            '--plane',
            f'{image.source} is a stack of shape {image.data.shape} (axes '
            f'{image.axes}, channels on {image.axes[axis]}); name a plane '
            f'of the axes {letters}, e.g. --plane '
            f'{",".join("0" * len(others))}, or use --plane all.',
        )
    if plane == 'all':
        every = tuple(np.ndindex(*others))
        return (every[0], None) if len(every) == 1 else (None, every)
    if len(plane) == len(lead):
        return None  # one channel named: that channel alone
    if len(plane) != len(others) or any(
        i >= n for i, n in zip(plane, others, strict=True)
    ):
        raise InvalidInputError(
            '--plane',
            f'{",".join(map(str, plane))} does not name a plane of '
            f'{image.source}: the channels (axis {image.axes[axis]}) are '
            f'outpainted together, so give {len(others)} index(es) within '
            f'{others} (axes {letters}), or {len(lead)} to pick one '
            'channel.',
        )
    return tuple(plane), None


def channel_groups(image: ImageFile, axis: int | None) -> int:
    """Runflow runs per plane for the channels of *image*."""
    if axis is None:
        return 1
    return math.ceil(image.data.shape[axis] / CHANNELS_PER_RUN)


@dataclass(frozen=True, eq=False)
class ChannelsResult:
    """The channels stacked back on their axis, as the CLI writes them.

    ``outcomes``, ``complete``, ``finished`` and :meth:`summary` are the
    first group's (every group runs the same planes) for a batch.
    """

    data: np.ndarray
    mask: np.ndarray
    scale: tuple[float, ...]
    translate: tuple[float, ...]
    provenance: dict[str, Any]
    channels: dict[str, Any]
    group_result: Any = field(repr=False)
    affine: None = None
    warnings: tuple[str, ...] = ()

    @property
    def outcomes(self) -> Any:
        result = self.group_result
        return result.outcomes if isinstance(result, BatchResult) else None

    @property
    def complete(self) -> bool:
        return self.group_result.complete

    @property
    def finished(self) -> Any:
        return self.group_result.finished

    def summary(self) -> str:
        return self.group_result.summary()


def outpaint_channels_job(
    job: Any,
    engine: Any,
    expand: Expand | Canvas,
    args: argparse.Namespace,
    *,
    progress: Callable | None,
    batch_progress: Callable | None,
    cancel: Any,
    cap: Any,
) -> ChannelsResult:
    """Outpaint the channels of *job*'s image together; stack them back."""
    image = job.image
    axis = job.channel_axis
    data = job.pixels()
    channels = []
    limits = []
    for k in range(data.shape[axis]):
        values = data[(slice(None),) * axis + (k,)]
        lim = job.contrast_limits or stack_contrast_limits(values, rgb=False)
        limits.append([float(v) for v in lim])
        channels.append(
            Channel(
                data=values,
                contrast_limits=tuple(lim),
                gamma=1.0,
                name=f'{image.name}[{image.axes[axis]}={k}]',
            )
        )
    scale = [float(s) for i, s in enumerate(image.scale) if i != axis]
    with warnings.catch_warnings():
        # the groups note is said on the console (result.warnings)
        warnings.filterwarnings('ignore', message='Groups are generated')
        outputs = outpaint_channels(
            channels,
            expand,
            placement={'scale': scale},
            engine=engine,
            plane=job.plane,
            planes=job.planes,
            confirm=True,  # the price was shown and confirmed up front
            progress=progress,
            cancel=cancel,
            concurrency=args.concurrency,
            batch_progress=batch_progress,
            spend_cap=cap,
            max_pixels=args.max_pixels,
        )
    first = outputs[0]
    stacked = np.stack([o.data for o in outputs], axis=axis)
    mask = np.expand_dims(first.mask, axis)
    record = dict(first.provenance['channels'])
    record.pop('channel', None)
    record.update(
        axis=axis,
        letter=image.axes[axis],
        count=len(channels),
        contrast_limits=limits,
    )
    provenance = dict(first.provenance)
    provenance['channels'] = record
    kwargs = first.layer_kwargs
    return ChannelsResult(
        data=stacked,
        mask=np.broadcast_to(mask, stacked.shape),
        scale=tuple(
            np.insert(
                np.asarray(kwargs['scale'], float), axis, image.scale[axis]
            )
        ),
        translate=tuple(
            np.insert(np.asarray(kwargs['translate'], float), axis, 0.0)
        ),
        provenance=provenance,
        channels=record,
        group_result=first.result,
        warnings=(record['note'],) if record.get('note') else (),
    )
