"""Plan a wished canvas as Runflow passes: integer percentages 0-80.

Each pass outpaints the canvas of the pass before. Per side the plan picks
the smallest integer percentage whose padding covers what is still
wished however Runflow rounds a percentage to pixels (floor, nearest or
ceil: the docs do not say), so ``floor(n * p / 100)`` pixels must suffice
(pass after pass); what the passes add beyond the wish (by the shared
padding rule, which the result is placed on) is cropped away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from napari_outpaint._canvas.wish import Canvas
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import MAX_PERCENT, Expand, Padding, pad_pixels

__all__ = ['DEFAULT_MAX_PASSES', 'CanvasPass', 'CanvasPlan', 'plan_canvas']

#: Most passes a plan may chain unless the caller allows more.
DEFAULT_MAX_PASSES = 4


@dataclass(frozen=True)
class CanvasPass:
    """One Runflow request of a plan.

    Attributes
    ----------
    expand : Expand
        The four percentages sent.
    height, width : int
        The canvas this pass outpaints (the source, or the previous
        pass's result).
    padding : Padding
        Pixels this pass adds (the shared padding rule).
    """

    expand: Expand
    height: int
    width: int
    padding: Padding


@dataclass(frozen=True)
class CanvasPlan:
    """The passes that give a wished canvas, and what to crop after them.

    Attributes
    ----------
    height, width : int
        The source plane.
    target : Padding
        Exact pixels wished on each side.
    passes : tuple of CanvasPass
        In order; one for a plain :class:`~napari_outpaint.Expand`.
    """

    height: int
    width: int
    target: Padding
    passes: tuple[CanvasPass, ...]

    @property
    def covered(self) -> Padding:
        """Pixels all passes add on each side (>= ``target``)."""
        sides = zip(*(p.padding for p in self.passes), strict=True)
        return Padding(*(sum(side) for side in sides))

    @property
    def crop(self) -> Padding:
        """Pixels removed from each side of the last pass's canvas."""
        return Padding(
            *(c - t for c, t in zip(self.covered, self.target, strict=True))
        )

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the final canvas: exactly the wish."""
        return self.target.canvas_shape(self.height, self.width)

    @property
    def offset(self) -> tuple[int, int]:
        """Where the original's first pixel sits in the final canvas."""
        return self.target.top, self.target.left


def plan_canvas(
    wish: Canvas | Expand,
    height: int,
    width: int,
    *,
    scale: Sequence[float] | None = None,
    max_passes: int = DEFAULT_MAX_PASSES,
) -> CanvasPlan:
    """The passes that give *wish* around a *height* x *width* plane.

    Parameters
    ----------
    wish : Canvas or Expand
        An :class:`Expand` is one pass, as it always was.
    height, width : int
        The source plane, in pixels.
    scale : pair of float, optional
        World units per pixel (rows, cols), for :meth:`Canvas.world`.
    max_passes : int
        The most passes allowed.

    Raises
    ------
    InvalidInputError
        For a bad wish, or one that needs more than *max_passes* passes
        (the message gives the largest canvas they reach).
    """
    if isinstance(wish, Expand):
        padding = wish.padding(height, width)
        only = CanvasPass(wish, height, width, padding)
        return CanvasPlan(height, width, padding, (only,))
    if not isinstance(wish, Canvas):
        raise InvalidInputError(
            'canvas',
            f'expected a Canvas or an Expand, got {type(wish).__name__}; '
            'e.g. Canvas.pixels(left=100) or Expand(top=20).',
        )
    if isinstance(max_passes, bool) or not (
        isinstance(max_passes, int) and max_passes >= 1
    ):
        raise InvalidInputError(
            'max_passes', f'must be an integer >= 1, got {max_passes!r}.'
        )
    target = wish.padding(height, width, scale)
    passes = _passes(target, height, width, max_passes)
    if passes is None:
        rows, cols = _reach(target, height, width, max_passes)
        some = f'{max_passes} pass' + ('es' if max_passes > 1 else '')
        raise InvalidInputError(
            'canvas',
            f'{wish.describe()} needs more than {some} of at most '
            f'{MAX_PERCENT} % per side; {some} reach at most {rows} x '
            f'{cols} px from this {height} x {width} plane. Ask for less, '
            'or allow more passes (max_passes, '
            'NAPARI_OUTPAINT_MAX_PASSES, or Max passes in the Options).',
        )
    return CanvasPlan(height, width, target, passes)


def _passes(
    target: Padding, height: int, width: int, max_passes: int
) -> tuple[CanvasPass, ...] | None:
    remaining = list(target)
    passes: list[CanvasPass] = []
    while any(r > 0 for r in remaining):
        if len(passes) == max_passes:
            return None
        sizes = (height, height, width, width)
        percents = [
            _percent_for(r, n) for r, n in zip(remaining, sizes, strict=True)
        ]
        expand = Expand(*percents)
        padding = expand.padding(height, width)
        passes.append(CanvasPass(expand, height, width, padding))
        remaining = [  # what Runflow adds at the least (floor rounding)
            r - n * p // 100
            for r, n, p in zip(remaining, sizes, percents, strict=True)
        ]
        height, width = padding.canvas_shape(height, width)
    return tuple(passes)


def _percent_for(pixels: int, length: int) -> int:
    """The smallest percent whose floor-rounded padding covers *pixels*,
    capped at the service's maximum."""
    if pixels <= 0:
        return 0
    return min(MAX_PERCENT, -(-100 * pixels // length))


def _reach(
    target: Padding, height: int, width: int, passes: int
) -> tuple[int, int]:
    """The canvas *passes* passes at the maximum reach on the wished sides."""
    grow = [t > 0 for t in target]
    for _ in range(passes):
        top, bottom, left, right = (
            pad_pixels(n, MAX_PERCENT) if g else 0
            for g, n in zip(grow, (height, height, width, width), strict=True)
        )
        height, width = height + top + bottom, width + left + right
    return height, width
