"""Make docs/screenshot.png: the Outpaint widget docked, a result shown.

Opens napari with the RGB coffee sample, docks the widget from the
manifest, runs the local engine (no key, no network) through the widget's
own Run button, waits for the worker, and grabs the whole window. Run it
under a virtual display::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot.py docs/screenshot.png

(``make screenshot`` does exactly this.) With ``--handles`` it makes
docs/screenshot-handles.png instead: no run, the canvas sized by
"aspect ratio" square with the outline selected as a handle, as a user sees
it before dragging a corner or an edge.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

PLUGIN = 'napari-outpaint'
WIDGET = 'Outpaint (expand canvas)'
SIDES = {'top': 15, 'bottom': 15, 'left': 30, 'right': 30}
MAX_BYTES = 1_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('output', type=Path, help='PNG to write')
    parser.add_argument('--timeout', type=float, default=300.0)
    parser.add_argument(
        '--handles',
        action='store_true',
        help='show the outline as a handle (square canvas) instead of a run',
    )
    args = parser.parse_args(argv)

    import napari
    from qtpy.QtCore import QEventLoop, QTimer
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(title='napari-outpaint', show=True)
    viewer.window.resize(1500, 900)
    viewer.open_sample(PLUGIN, 'coffee')
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    widget._engine_choice.value = 'local'
    app = QApplication.instance()
    if args.handles:
        return _grab_handles(viewer, widget, app, args.output)
    for side, value in SIDES.items():
        widget._sides[side].value = value
    widget._run_button.clicked.emit()

    deadline = time.monotonic() + args.timeout
    while widget.worker is not None and time.monotonic() < deadline:
        loop = QEventLoop()  # run the GUI for a moment, then look again
        QTimer.singleShot(100, loop.quit)
        loop.exec()
    if widget.worker is not None:
        print(f'timed out after {args.timeout:g} s', file=sys.stderr)
        return 1
    if 'coffee [outpainted]' not in viewer.layers:
        print('the run produced no layer', file=sys.stderr)
        return 1
    viewer.reset_view()
    for _ in range(20):  # let the canvas and the notifications settle
        app.processEvents()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    image = viewer.screenshot(canvas_only=False, flash=False)
    _save_small_png(image, args.output)
    viewer.close()
    print(f'wrote {args.output} ({args.output.stat().st_size} bytes)')
    return 0


def _grab_handles(viewer, widget, app, output: Path) -> int:
    """Size the canvas square, select the outline as a handle and grab."""
    fields = widget._fields
    fields.size_by.value = 'aspect ratio'
    fields.ratio_preset.value = 'square'
    widget._drag_outline.clicked.emit()
    if 'outpaint preview' not in viewer.layers:
        print('no outline was drawn', file=sys.stderr)
        return 1
    preview = viewer.layers['outpaint preview']
    if viewer.layers.selection.active is not preview:
        print('the outline is not selected as a handle', file=sys.stderr)
        return 1
    for _ in range(20):  # let the dock take its width before fitting
        app.processEvents()
    viewer.reset_view()
    viewer.scene.camera.zoom *= 0.9  # a margin around the handles
    for _ in range(20):
        app.processEvents()
    output.parent.mkdir(parents=True, exist_ok=True)
    _save_small_png(viewer.screenshot(canvas_only=False, flash=False), output)
    viewer.close()
    print(f'wrote {output} ({output.stat().st_size} bytes)')
    return 0


def _save_small_png(image, path: Path) -> None:
    """Save RGBA *image* as PNG, quantised if it would exceed 1 MB."""
    from PIL import Image

    picture = Image.fromarray(image).convert('RGB')
    picture.save(path, optimize=True)
    if path.stat().st_size > MAX_BYTES:
        picture.quantize(colors=256, dither=Image.Dither.NONE).save(
            path, optimize=True
        )


if __name__ == '__main__':
    sys.exit(main())
