"""Everything that imports Qt: the dock widget and its parts.

The widget (:mod:`.widget`), the run in a napari worker thread
(:mod:`.worker`), the outline of the canvas in the viewer
(:mod:`.preview`) and the History list (:mod:`.history_panel`). Nothing
below this room imports it.
"""

__all__ = []
