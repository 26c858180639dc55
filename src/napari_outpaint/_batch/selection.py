"""Which planes of an nD array a batch covers."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from napari_outpaint._errors import InvalidInputError

__all__ = ['Plane', 'plane_text', 'planes_along', 'select_planes']

Plane = tuple[int, ...]


def plane_text(plane: Plane) -> str:
    """A plane as the user writes it (``--plane 1,2``): ``'1,2'``."""
    return ','.join(str(int(i)) for i in plane)


def select_planes(
    leading_shape: Sequence[int], planes: str | Iterable[Any] = 'all'
) -> list[Plane]:
    """The plane indices a batch covers, validated, in order.

    Parameters
    ----------
    leading_shape : sequence of int
        The shape of the non-spatial axes.
    planes : 'all' or iterable
        ``'all'``, or indices: tuples (one int per non-spatial axis), or
        plain ints when there is one non-spatial axis.
    """
    shape = tuple(int(n) for n in leading_shape)
    if isinstance(planes, str):
        if planes != 'all':
            raise InvalidInputError(
                'planes',
                f"use 'all' or a list of plane indices, not {planes!r}.",
            )
        return list(itertools.product(*(range(n) for n in shape)))
    chosen: list[Plane] = []
    for item in planes:
        index = (item,) if isinstance(item, int | np.integer) else item
        try:
            index = tuple(int(i) for i in index)
        except TypeError as exc:
            raise InvalidInputError(
                'planes', f'{item!r} is not a plane index.'
            ) from exc
        if len(index) != len(shape) or not all(
            0 <= i < n for i, n in zip(index, shape, strict=True)
        ):
            raise InvalidInputError(
                'planes',
                f'{item!r} is not a plane of the non-spatial shape {shape} '
                f'(give {len(shape)} indices, each in range).',
            )
        if index not in chosen:
            chosen.append(index)
    if not chosen:
        raise InvalidInputError('planes', 'select at least one plane.')
    return chosen


def planes_along(
    leading_shape: Sequence[int], axis: int, current: Sequence[int]
) -> list[Plane]:
    """Every plane along *axis*, the other axes fixed at *current*.

    For the widget's "all planes along axis ...": *current* is the
    viewer's ``dims.current_step`` restricted to the non-spatial axes.
    """
    base = [int(i) for i in current]
    if not 0 <= axis < len(leading_shape):
        raise InvalidInputError(
            'axis', f'must be a non-spatial axis 0-{len(leading_shape) - 1}.'
        )
    planes = []
    for i in range(int(leading_shape[axis])):
        base[axis] = i
        planes.append(tuple(base))
    return planes
