"""Hatch build hook: the sdist ships the package's napari.yaml as a file.

The package's ``napari.yaml`` is a link to the top-level one, and an
sdist would keep it as a link (which breaks on Windows and under strict
tar filters). This hook puts a copy of the top-level file there instead;
the copy comes from outside the project so that hatch keeps the
top-level file at the top too.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MANIFEST = 'napari.yaml'
PACKAGE_MANIFEST = 'src/napari_outpaint/napari.yaml'


class ManifestFileHook(BuildHookInterface):
    """Copy the top-level manifest into the sdist's package folder."""

    PLUGIN_NAME = 'custom'

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Force-include a copy of the manifest at the package's path."""
        self._folder = Path(tempfile.mkdtemp(prefix='napari-outpaint-'))
        copy = self._folder / MANIFEST
        shutil.copyfile(Path(self.root) / MANIFEST, copy)
        build_data['force_include'][str(copy)] = PACKAGE_MANIFEST

    def finalize(
        self, version: str, build_data: dict[str, Any], artifact_path: str
    ) -> None:
        """Remove the copy."""
        shutil.rmtree(self._folder, ignore_errors=True)
