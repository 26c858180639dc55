"""Canvas: how much canvas the user wants, in the measure they think in.

Runflow speaks one language, four integer percentages 0-80 of the source.
A :class:`Canvas` is the user's wish in any of five measures (pixels per
side, world units per side, an exact final shape, an aspect ratio, or
percentages of any size); :meth:`Canvas.padding` turns it into exact
pixels per side of a given plane, and :mod:`.plan` finds the Runflow
passes that cover it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import Padding

__all__ = ['Canvas']

_SIDES = ('top', 'bottom', 'left', 'right')
#: Slack when a world size is a whole number of pixels but for rounding.
_WORLD_SLACK = 1e-9

Measure = Literal['pixels', 'world', 'shape', 'aspect', 'percent']


@dataclass(frozen=True)
class Canvas:
    """A wished canvas around a plane; build one with a class method.

    Attributes
    ----------
    measure : str
        ``'pixels'``, ``'world'``, ``'shape'``, ``'aspect'`` or
        ``'percent'``.
    sides : tuple of float
        ``(top, bottom, left, right)`` for pixels, world and percent.
    rows, cols : int or None
        The final shape, for ``shape``.
    ratio : float or None
        ``cols / rows`` of the final canvas, for ``aspect``.
    anchor : tuple of float
        Where the original sits in a ``shape`` or ``aspect`` canvas,
        ``(row, col)`` in [0, 1]: 0 = top / left, 1 = bottom / right.

    Examples
    --------
    >>> Canvas.pixels(left=50).padding(100, 200)
    Padding(top=0, bottom=0, left=50, right=0)
    >>> Canvas.shape(200, 300, anchor=(0, 0.5)).padding(100, 200)
    Padding(top=0, bottom=100, left=50, right=50)
    """

    measure: Measure
    sides: tuple[float, float, float, float] = (0, 0, 0, 0)
    rows: int | None = None
    cols: int | None = None
    ratio: float | None = None
    anchor: tuple[float, float] = (0.5, 0.5)

    # -- the five measures -------------------------------------------------
    @classmethod
    def pixels(
        cls, top: int = 0, bottom: int = 0, left: int = 0, right: int = 0
    ) -> Canvas:
        """Exact pixels added on each side."""
        values = _checked_sides(_whole, top, bottom, left, right)
        return cls('pixels', _something(values))

    @classmethod
    def world(
        cls,
        top: float = 0.0,
        bottom: float = 0.0,
        left: float = 0.0,
        right: float = 0.0,
    ) -> Canvas:
        """World units (the layer's scale x pixels) added on each side."""
        values = _checked_sides(_non_negative, top, bottom, left, right)
        return cls('world', _something(values))

    @classmethod
    def shape(
        cls,
        rows: int,
        cols: int,
        anchor: Sequence[float] = (0.5, 0.5),
    ) -> Canvas:
        """An exact final ``rows`` x ``cols``, the original at *anchor*."""
        return cls(
            'shape',
            rows=_whole('rows', rows),
            cols=_whole('cols', cols),
            anchor=_anchor(anchor),
        )

    @classmethod
    def aspect(
        cls, ratio: float, anchor: Sequence[float] = (0.5, 0.5)
    ) -> Canvas:
        """The smallest canvas of ``cols / rows = ratio`` holding the plane."""
        if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real):
            raise InvalidInputError(
                'ratio',
                f'must be a number cols/rows, got {ratio!r}; e.g. 16 / 9.',
            )
        if not (math.isfinite(ratio) and ratio > 0):
            raise InvalidInputError(
                'ratio',
                f'must be a finite number above 0, got {ratio!r}; e.g. '
                '16 / 9 for a wide canvas, 1 for a square.',
            )
        return cls('aspect', ratio=float(ratio), anchor=_anchor(anchor))

    @classmethod
    def percent(
        cls,
        top: float = 0,
        bottom: float = 0,
        left: float = 0,
        right: float = 0,
    ) -> Canvas:
        """Percent of the source's size on each side, any size >= 0."""
        values = _checked_sides(_non_negative, top, bottom, left, right)
        return cls('percent', _something(values))

    # -- the wish in pixels ------------------------------------------------
    def padding(
        self,
        height: int,
        width: int,
        scale: Sequence[float] | None = None,
    ) -> Padding:
        """Exact pixels wished on each side of a *height* x *width* plane.

        Parameters
        ----------
        height, width : int
            The source plane, in pixels.
        scale : pair of float, optional
            World units per pixel along rows and columns; needed by
            :meth:`world` only.

        Raises
        ------
        InvalidInputError
            For world units without a scale, a target shape smaller than
            the plane on an axis, or a wish that adds nothing.
        """
        if self.measure == 'pixels':
            padding = Padding(*(int(v) for v in self.sides))
        elif self.measure == 'percent':
            sizes = (height, height, width, width)
            padding = Padding(
                *(
                    math.floor(n * p / 100 + 0.5)
                    for n, p in zip(sizes, self.sides, strict=True)
                )
            )
        elif self.measure == 'world':
            row_size, col_size = _scale(scale)
            sizes = (row_size, row_size, col_size, col_size)
            padding = Padding(
                *(
                    math.ceil(v / s - _WORLD_SLACK)
                    for v, s in zip(self.sides, sizes, strict=True)
                )
            )
        elif self.measure == 'shape':
            padding = _placed(
                (self.rows, self.cols), (height, width), self.anchor
            )
        else:
            padding = _placed(
                _aspect_shape(self.ratio, height, width),
                (height, width),
                self.anchor,
            )
        if not any(padding):
            raise InvalidInputError(
                'canvas',
                f'{self.describe()} adds no pixel to a {height} x {width} '
                'plane; ask for a larger canvas.',
            )
        return padding

    def describe(self) -> str:
        """A short human reading of the wish, e.g. ``'2048 x 2048 px'``."""
        if self.measure == 'shape':
            return f'a {self.rows} x {self.cols} px canvas'
        if self.measure == 'aspect':
            return f'an aspect ratio of {self.ratio:g} (cols / rows)'
        unit = {'pixels': ' px', 'world': ' world units', 'percent': ' %'}
        text = ', '.join(
            f'{side} {value:g}{unit[self.measure]}'
            for side, value in zip(_SIDES, self.sides, strict=True)
            if value
        )
        return text or 'nothing'


def _whole(field: str, value: object) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, numbers.Integral
    ):
        raise InvalidInputError(
            field,
            f'must be a whole number of pixels, got {value!r}; e.g. '
            f'{field}=100.',
        )
    if value < 0:
        raise InvalidInputError(
            field, f'must be 0 or more pixels, got {value}.'
        )
    return int(value)


def _non_negative(field: str, value: object) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, numbers.Real
    ):
        raise InvalidInputError(
            field, f'must be a number, got {value!r}; e.g. {field}=50.'
        )
    if not math.isfinite(value) or value < 0:
        raise InvalidInputError(
            field, f'must be a finite number 0 or more, got {value!r}.'
        )
    return float(value)


def _checked_sides(check, *values) -> list:
    """*check* ``(side, value)`` for top, bottom, left and right."""
    return [
        check(side, value) for side, value in zip(_SIDES, values, strict=True)
    ]


def _something(values: list) -> tuple[float, float, float, float]:
    if not any(values):
        raise InvalidInputError(
            'canvas',
            'all four sides are 0, so there is nothing to outpaint; set at '
            'least one of top/bottom/left/right above 0.',
        )
    return tuple(values)


def _anchor(anchor: Sequence[float]) -> tuple[float, float]:
    try:
        row, col = (float(a) for a in anchor)
    except (TypeError, ValueError):
        raise InvalidInputError(
            'anchor',
            f'must be two numbers (row, col) in [0, 1], got {anchor!r}; '
            'e.g. (0.5, 0.5) for the middle.',
        ) from None
    if not (0.0 <= row <= 1.0 and 0.0 <= col <= 1.0):
        raise InvalidInputError(
            'anchor',
            f'must be within [0, 1] on both axes, got {anchor!r}; 0 puts '
            'the original at the top / left, 1 at the bottom / right.',
        )
    return row, col


def _scale(scale: Sequence[float] | None) -> tuple[float, float]:
    if scale is None:
        raise InvalidInputError(
            'scale',
            'Canvas.world needs the pixel size: give scale=(row, col) '
            'world units per pixel (a layer brings its own).',
        )
    try:
        row, col = (float(s) for s in scale)
    except (TypeError, ValueError):
        raise InvalidInputError(
            'scale',
            f'must be two numbers (row, col) per pixel, got {scale!r}.',
        ) from None
    if not (row > 0 and col > 0 and math.isfinite(row * col)):
        raise InvalidInputError(
            'scale', f'must be above 0 on both axes, got {scale!r}.'
        )
    return row, col


def _aspect_shape(ratio: float, height: int, width: int) -> tuple[int, int]:
    """The smallest ``(rows, cols)`` of cols / rows ~ *ratio* that holds
    a *height* x *width* plane (whole pixels: the nearest such shape)."""
    if width / height < ratio:
        return height, max(width, round(height * ratio))
    return max(height, round(width / ratio)), width


def _placed(
    target: tuple[int, int], source: tuple[int, int], anchor
) -> Padding:
    """Per-side pixels placing *source* at *anchor* inside *target*."""
    sides = []
    for field, want, have, where in zip(
        ('rows', 'cols'), target, source, anchor, strict=True
    ):
        extra = want - have
        if extra < 0:
            raise InvalidInputError(
                field,
                f'the target ({want}) is smaller than the original ({have}) '
                f'on this axis; a canvas can only grow: use {field} >= '
                f'{have}.',
            )
        before = math.floor(where * extra + 0.5)
        sides.append((before, extra - before))
    (top, bottom), (left, right) = sides
    return Padding(top, bottom, left, right)
