"""``outpaint_layer(layer, ..., channel_axis=)``: one layer, channels on an
axis, outpainted together into one layer of the same axes.

A ``(C, Y, X)`` or ``(Z, C, Y, X)`` layer shown as one multichannel layer
has one contrast limit, so each channel goes to 8 bits through its own
range computed from the data: the smallest and largest finite value of
the channel over every plane (uint8 channels: 0-255). The channels then
take the runs :mod:`.channel_runs` gives them (up to three per Runflow
run, all in one with the local engine), and are stacked back on
*channel_axis*.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import napari.layers
import numpy as np
from napari.utils.transforms.transform_utils import shear_to_matrix

from napari_outpaint._batch import BatchProgress
from napari_outpaint._cache import ConfirmCallback
from napari_outpaint._canvas import Canvas
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import Expand
from napari_outpaint._imaging import stack_contrast_limits
from napari_outpaint._layers.channel_runs import Channel, outpaint_channels
from napari_outpaint._layers.convert import plane_shown, result_layer
from napari_outpaint._pipeline import RESULT_SUFFIX, normalize_plane
from napari_outpaint._progress import CancelToken, ProgressCallback
from napari_outpaint.engines import Engine

__all__ = ['check_channel_axis', 'outpaint_channel_axis']


def check_channel_axis(layer: napari.layers.Image, channel_axis: Any) -> int:
    """*channel_axis* of *layer* as an axis index 0 .. ndim - 3.

    Raises
    ------
    InvalidInputError
        Naming ``channel_axis``: not an int, out of range, one of the two
        axes of the plane, an RGB layer, or a transform that mixes the
        channel axis with others.
    """
    ndim = layer.ndim
    if isinstance(channel_axis, bool) or not isinstance(
        channel_axis, int | np.integer
    ):
        raise InvalidInputError(
            'channel_axis',
            f'must be an int (the axis of the layer that holds the '
            f'channels), got {channel_axis!r}.',
        )
    if layer.rgb:
        raise InvalidInputError(
            'channel_axis',
            f'layer {layer.name!r} is RGB: its colours are its channels; '
            'call outpaint_layer without channel_axis=.',
        )
    axis = int(channel_axis)
    if not -ndim <= axis < ndim:
        raise InvalidInputError(
            'channel_axis',
            f'{channel_axis} is out of range for layer {layer.name!r} of '
            f'{ndim} dimensions (use 0 to {ndim - 3}).',
        )
    axis %= ndim
    if axis >= ndim - 2:
        raise InvalidInputError(
            'channel_axis',
            f'axis {axis} of layer {layer.name!r} is a displayed axis (the '
            f'last two are the rows and columns of the plane); the '
            f'channels are on one of the axes 0 to {ndim - 3}.'
            if ndim > 2
            else f'layer {layer.name!r} is 2D: it has no channel axis; '
            'call outpaint_layer without channel_axis=.',
        )
    for name, matrix in _linear_parts(layer):
        if _mixes(matrix, axis):
            raise InvalidInputError(
                'channel_axis',
                f'the {name} of layer {layer.name!r} mixes axis {axis} '
                'with other axes; channels must be a plain axis (scale '
                'and translate only on it).',
            )
    return axis


def outpaint_channel_axis(
    layer: napari.layers.Image,
    expand: Expand | Canvas,
    *,
    channel_axis: int,
    engine: Engine | str | None = None,
    plane: Sequence[int] | int | None = None,
    planes: str | Iterable[Any] | None = None,
    confirm: bool | ConfirmCallback | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    concurrency: int | None = None,
    batch_progress: Callable[[BatchProgress], None] | None = None,
) -> napari.layers.Image:
    """The channels on *channel_axis* of *layer* outpainted together.

    *plane* / *planes* index the non-displayed axes other than the
    channel axis. See ``outpaint_layer``.
    """
    axis = check_channel_axis(layer, channel_axis)
    data = layer.data[0] if layer.multiscale else layer.data
    lead_shape = tuple(
        int(n) for i, n in enumerate(data.shape[:-2]) if i != axis
    )
    if planes is not None and not lead_shape:
        raise InvalidInputError(
            'planes',
            f'layer {layer.name!r} has one plane per channel; call '
            'outpaint_layer without planes=.',
        )
    if planes is None:
        plane = _plane(layer, plane, axis, lead_shape)
    channels = []
    for k in range(data.shape[axis]):
        values = data[(slice(None),) * axis + (k,)]
        channels.append(
            Channel(
                data=values,
                contrast_limits=stack_contrast_limits(values, rgb=False),
                gamma=layer.gamma,
                name=f'{layer.name}[{k}]',
            )
        )
    outputs = outpaint_channels(
        channels,
        expand,
        placement=_reduced_placement(layer, axis),
        engine=engine,
        plane=plane,
        planes=planes,
        confirm=confirm,
        progress=progress,
        cancel=cancel,
        concurrency=concurrency,
        batch_progress=batch_progress,
    )
    first = outputs[0]
    provenance = dict(first.provenance)
    record = dict(provenance.pop('channels'))
    record.pop('channel', None)
    record.update(
        axis=axis,
        count=len(channels),
        contrast_limits=[list(c.contrast_limits) for c in channels],
        group_provenances=(
            [o.provenance for o in {id(o.result): o for o in outputs}.values()]
            if len(record['groups']) > 1
            else None
        ),
    )
    provenance['channels'] = record
    mask = np.expand_dims(first.mask, axis)
    stacked = _Stacked(
        data=np.stack([o.data for o in outputs], axis=axis),
        kwargs=first.layer_kwargs,
        layer=layer,
        axis=axis,
        provenance=provenance,
        mask=np.broadcast_to(
            mask, mask.shape[:axis] + (len(outputs),) + mask.shape[axis + 1 :]
        ),
    )
    return result_layer(layer, stacked)


class _Stacked:
    """The channels stacked back: ``data`` and ``layer_kwargs()`` for
    :func:`~napari_outpaint._layers.convert.result_layer`."""

    def __init__(self, *, data, kwargs, layer, axis, provenance, mask):
        self.data = data
        self._kwargs = kwargs
        self._layer = layer
        self._axis = axis
        self._provenance = provenance
        self._mask = mask

    def layer_kwargs(self) -> dict[str, Any]:
        layer, axis, kwargs = self._layer, self._axis, self._kwargs
        out = {
            'name': f'{layer.name}{RESULT_SUFFIX}',
            'scale': np.insert(
                np.asarray(kwargs['scale'], float), axis, layer.scale[axis]
            ),
            'translate': np.insert(
                np.asarray(kwargs['translate'], float),
                axis,
                layer.translate[axis],
            ),
            'rgb': False,
            'contrast_limits': layer.contrast_limits,
            'gamma': layer.gamma,
            'metadata': {
                'outpaint': self._provenance,
                'outpaint_mask': self._mask,
            },
        }
        affine = kwargs.get('affine')
        if affine is not None:
            out['affine'] = _insert_axis(
                np.asarray(affine, float), axis, layer.affine.affine_matrix
            )
        for name in ('rotate', 'shear'):
            value = kwargs.get(name)
            if value is not None:
                out[name] = _insert_axis(np.asarray(value, float), axis)
        return out


def _plane(layer, plane, axis, lead_shape) -> tuple[int, ...]:
    if plane is None and lead_shape:
        shown = plane_shown(layer)
        if shown is None:
            raise InvalidInputError(
                'plane',
                f'layer {layer.name!r} has {len(lead_shape)} axes besides '
                'the channel axis and no plane shown in a 2D view; pass '
                f'plane= with one index each, e.g. plane='
                f'{(0,) * len(lead_shape)}.',
            )
        plane = tuple(i for a, i in enumerate(shown) if a != axis)
    return normalize_plane(plane, lead_shape)


def _linear_parts(layer) -> list[tuple[str, np.ndarray]]:
    ndim = layer.ndim
    return [
        ('rotate', np.asarray(layer.rotate, float)),
        ('shear', shear_to_matrix(layer.shear, ndim=ndim)),
        (
            'affine',
            np.asarray(layer.affine.affine_matrix, float)[:ndim, :ndim],
        ),
    ]


def _mixes(matrix: np.ndarray, axis: int) -> bool:
    row = np.delete(matrix[axis], axis)
    column = np.delete(matrix[:, axis], axis)
    return bool(np.any(np.abs(row) > 1e-12) or np.any(np.abs(column) > 1e-12))


def _reduced_placement(layer, axis: int) -> dict[str, Any]:
    """The layer's transform without *axis* (which mixes with none)."""
    ndim = layer.ndim
    affine = np.asarray(layer.affine.affine_matrix, float)
    return {
        'scale': np.delete(np.asarray(layer.scale, float), axis),
        'translate': np.delete(np.asarray(layer.translate, float), axis),
        'affine': np.delete(np.delete(affine, axis, 0), axis, 1),
        'rotate': _drop_axis(np.asarray(layer.rotate, float), axis),
        'shear': _drop_axis(shear_to_matrix(layer.shear, ndim=ndim), axis),
    }


def _drop_axis(matrix: np.ndarray, axis: int) -> np.ndarray:
    return np.delete(np.delete(matrix, axis, 0), axis, 1)


def _insert_axis(
    matrix: np.ndarray, axis: int, original: np.ndarray | None = None
) -> np.ndarray:
    """*matrix* with row and column *axis* put back (the *original*'s
    diagonal entry there, else 1)."""
    n = matrix.shape[0] + 1
    keep = [i for i in range(n) if i != axis]
    out = np.eye(n)
    out[np.ix_(keep, keep)] = matrix
    if original is not None:
        out[axis, axis] = original[axis, axis]
        out[axis, -1] = original[axis, -1]
    return out
