"""Expand: four validated percentages, and the geometry of the padded canvas.

The padding rule is shared by every engine, the stand-in server and the
placement maths: a side expanded by ``p`` percent of an axis of ``n`` pixels
gains ``round_half_up(n * p / 100)`` pixels.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from napari_outpaint._errors import InvalidInputError

__all__ = ['MAX_PERCENT', 'Expand', 'Padding', 'check_expand', 'pad_pixels']

MAX_PERCENT = 80
_SIDES = ('top', 'bottom', 'left', 'right')


def pad_pixels(length: int, percent: int) -> int:
    """Pixels added to an axis of *length* pixels by *percent* percent."""
    return (length * percent * 2 + 100) // 200


class Padding(NamedTuple):
    """Pixels added on each side of a 2D plane."""

    top: int
    bottom: int
    left: int
    right: int

    def canvas_shape(self, height: int, width: int) -> tuple[int, int]:
        """Shape ``(rows, cols)`` of the padded canvas."""
        return height + self.top + self.bottom, width + self.left + self.right


@dataclass(frozen=True)
class Expand:
    """How far to expand each side, in integer percent of that axis (0-80).

    A side left out is 0; at least one must be above 0, so that no call
    spends money by accident. Any integer type is accepted (``int``,
    ``numpy.int64``, ...) and kept as ``int``.

    Parameters
    ----------
    top, bottom : int
        Percent of the image height added above / below.
    left, right : int
        Percent of the image width added left / right.

    Raises
    ------
    InvalidInputError
        (also a ``ValueError``) naming the field, for a value that is not
        an integer in 0-80, or when all four are 0.

    Examples
    --------
    >>> Expand(top=10, bottom=30, left=70).padding(100, 200)
    Padding(top=10, bottom=30, left=140, right=0)
    """

    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    def __post_init__(self) -> None:
        for side in _SIDES:
            value = getattr(self, side)
            if isinstance(value, bool | np.bool_) or not isinstance(
                value, numbers.Integral
            ):
                raise InvalidInputError(
                    side,
                    f'must be an integer percent 0-{MAX_PERCENT}, got '
                    f'{value!r} ({type(value).__name__}); e.g. {side}=20.',
                )
            if not 0 <= value <= MAX_PERCENT:
                raise InvalidInputError(
                    side,
                    f'must be between 0 and {MAX_PERCENT} percent, got '
                    f'{value}; Runflow accepts 0-{MAX_PERCENT} per side.',
                )
            object.__setattr__(self, side, int(value))
        if not any(getattr(self, side) for side in _SIDES):
            raise InvalidInputError(
                'expand',
                'all four sides are 0, so there is nothing to outpaint; '
                'set at least one of top/bottom/left/right above 0.',
            )

    def padding(self, height: int, width: int) -> Padding:
        """Pixels added on each side of a ``height`` x ``width`` plane."""
        return Padding(
            pad_pixels(height, self.top),
            pad_pixels(height, self.bottom),
            pad_pixels(width, self.left),
            pad_pixels(width, self.right),
        )

    def canvas_shape(self, height: int, width: int) -> tuple[int, int]:
        """Shape ``(rows, cols)`` of the expanded canvas."""
        return self.padding(height, width).canvas_shape(height, width)

    def as_dict(self) -> dict[str, int]:
        """``{'top': .., 'bottom': .., 'left': .., 'right': ..}``."""
        return {side: getattr(self, side) for side in _SIDES}

    def to_runflow_input(self) -> dict[str, int]:
        """The four ``expand_*`` fields of a ``runflow/outpaint`` input."""
        return {f'expand_{side}': getattr(self, side) for side in _SIDES}


def check_expand(expand: Any) -> Expand:
    """Return *expand* if it is an :class:`Expand`, else raise."""
    if not isinstance(expand, Expand):
        raise InvalidInputError(
            'expand',
            f'expected Expand(top, bottom, left, right), got '
            f'{type(expand).__name__}; e.g. Expand(10, 10, 0, 0).',
        )
    return expand
