"""Everything that imports Qt: the dock widget and its parts.

The widget (:mod:`.widget`), the run in a napari worker thread
(:mod:`.worker`), the outline of the canvas in the viewer
(:mod:`.preview`), the History list (:mod:`.history_panel`), what a
failure tells the user (:mod:`.failures`), the words of progress
(:mod:`.progress_text`), keeping things in view (:mod:`.view`), the
first run's imports loaded ahead on a background thread (:mod:`.warm_up`),
and ``outpaint_layer`` off the GUI thread for scripts and notebooks
(:mod:`.scripting`). Nothing below this room imports it.
"""

__all__ = []
