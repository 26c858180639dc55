"""The npe2 manifest of this worktree: valid, and its menu entry works.

What this file checks
---------------------
- ``npe2 validate`` accepts the top-level ``napari.yaml`` (and imports
  its commands), which declares the reader, the writer and the menu.
- Every menu it contributes to is one napari offers plugins (npe2 itself
  accepts any id; napari silently skips the others), and names one of
  its commands.
- In a real viewer, *Layers > Transform* lists the widget beside its
  *Plugins* entry, and the entry docks it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from napari._app_model import get_app_model
from napari._app_model.constants import MenuId
from npe2 import PluginManifest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / 'napari.yaml'
WIDGET_COMMAND = 'napari-outpaint.make_widget'


def test_manifest_validates_with_reader_writer_and_menu():
    """``npe2 validate --imports`` passes; the three contributions exist."""
    done = subprocess.run(
        [sys.executable, '-m', 'npe2', 'validate', str(MANIFEST), '--imports'],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    contributions = PluginManifest.from_file(MANIFEST).contributions
    assert [r.command for r in contributions.readers] == [
        'napari-outpaint.get_reader'
    ]
    assert [w.command for w in contributions.writers] == [
        'napari-outpaint.write_result'
    ]
    assert WIDGET_COMMAND in [
        item.command for item in contributions.menus['napari/layers/transform']
    ]


def test_menus_are_ones_napari_offers_and_name_our_commands():
    """Each menu id is contributable in napari; each item is a command."""
    contributions = PluginManifest.from_file(MANIFEST).contributions
    offered = {str(menu) for menu in MenuId.contributables()}
    commands = {c.id for c in contributions.commands}
    assert contributions.menus
    for menu_id, items in contributions.menus.items():
        assert menu_id in offered, menu_id
        for item in items:
            assert item.command in commands, item.command


@pytest.mark.gui
def test_layers_transform_menu_docks_the_widget(make_napari_viewer):
    """*Layers > Transform* and *Plugins* both list it; the entry docks it."""
    viewer = make_napari_viewer()
    app = get_app_model()
    for menu_id in (MenuId.LAYERS_TRANSFORM, MenuId.MENUBAR_PLUGINS):
        listed = [
            getattr(item, 'command', None)
            for item in app.menus.get_menu(menu_id)
        ]
        assert WIDGET_COMMAND in [c.id for c in listed if c], menu_id
    widget, name = app.commands.execute_command(WIDGET_COMMAND).result()
    assert name in viewer.window.dock_widgets
    assert type(widget).__name__ == 'OutpaintWidget'
