"""Outpainting engines behind one small :class:`Engine` protocol."""

from napari_outpaint.engines._base import Engine, EngineResult

__all__ = ['Engine', 'EngineResult']
