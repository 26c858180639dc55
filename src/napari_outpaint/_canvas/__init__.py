"""The canvas a user wishes, in any measure, planned as Runflow passes."""

from napari_outpaint._canvas.plan import (
    DEFAULT_MAX_PASSES,
    CanvasPass,
    CanvasPlan,
    plan_canvas,
)
from napari_outpaint._canvas.wish import Canvas

__all__ = [
    'DEFAULT_MAX_PASSES',
    'Canvas',
    'CanvasPass',
    'CanvasPlan',
    'plan_canvas',
]
