"""The rules of the house (docs/architecture.md), checked on the code.

- the import-linter contracts in pyproject.toml hold (floors, Qt only in
  ``_qt``, no napari below ``_layers``, a stand-in independent of the
  client);
- ``import napari_outpaint`` loads neither napari nor Qt;
- imports stand at the top of each file: a function-level import only
  for a heavy or optional dependency, with a comment saying why;
- at most 8 modules directly in the package, at most 15 in any folder.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'src' / 'napari_outpaint'
#: What may be imported inside a function (heavy or optional), and why.
LAZY = {
    'scipy': 'heavy; napari bans it at module level too',
    'skimage': 'heavy: only the sample data need it',
    'patchmatch': 'loads OpenCV; may be missing on a platform',
    'ome_types': 'about a second to import: only OME-TIFFs need it',
    'trustme': 'optional: only the stand-in needs it',
    'distributed': 'optional: only for a Dask cluster, and on its workers',
    'napari.utils.transforms.transform_utils': 'napari, below _layers',
    'dask': 'heavy: only a result read back from a zarr store needs it',
}


def test_import_linter_contracts_hold():
    """``lint-imports`` passes: every arrow runs one way, no circle."""
    lint = Path(sys.executable).with_name('lint-imports')
    done = subprocess.run(
        [str(lint), '--no-cache', str(ROOT / 'pyproject.toml')],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'broken' not in done.stdout.lower().replace('0 broken', '')


def test_importing_the_package_loads_no_napari_and_no_qt():
    """The public face loads napari-facing names only when asked."""
    code = (
        'import sys, napari_outpaint\n'
        'loaded = [m for m in ("napari", "qtpy", "PyQt6", "PyQt5", '
        '"PySide6", "magicgui") if m in sys.modules]\n'
        'print(",".join(loaded))\n'
    )
    done = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == ''


def _function_level_imports():
    for path in sorted(PACKAGE.rglob('*.py')):
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import | ast.ImportFrom):
                    module = (
                        sub.module
                        if isinstance(sub, ast.ImportFrom)
                        else sub.names[0].name
                    )
                    around = ' '.join(lines[sub.lineno - 2 : sub.lineno])
                    yield path.relative_to(PACKAGE), module, around


def test_imports_stand_at_the_top_of_each_file():
    """Inside functions only the heavy or optional imports, commented."""
    unexpected = []
    for path, module, around in _function_level_imports():
        if path.parts[0] == 'testing' and module.startswith(
            'napari_outpaint.testing'
        ):
            unexpected.append(f'{path}: {module} (a circle?)')
        elif not module.startswith(tuple(LAZY)):
            unexpected.append(f'{path}: {module}')
        elif '#' not in around:
            unexpected.append(f'{path}: {module} without a comment why')
    assert unexpected == []


def test_no_type_checking_imports():
    """A file's import block says what it depends on."""
    found = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob('*.py')
        if 'if TYPE_CHECKING:' in path.read_text()
    ]
    assert found == []


@pytest.mark.parametrize(
    ('folder', 'limit'),
    [(PACKAGE, 8)]
    + [
        (folder, 15)
        for folder in sorted(PACKAGE.iterdir())
        if (folder / '__init__.py').exists()
    ],
)
def test_rooms_stay_small(folder, limit):
    """At most 8 modules at the top of the package, 15 in any folder."""
    modules = sorted(p.name for p in folder.glob('*.py'))
    assert len(modules) <= limit, modules
