"""The package as users get it: public API, manifest, wheel, sdist."""

import ast
import json
import re
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

import napari_outpaint

ROOT = Path(__file__).resolve().parents[1]


def test_public_api_is_sorted_and_importable():
    """Every name in __all__ exists, and __all__ is sorted."""
    names = napari_outpaint.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(napari_outpaint, name), name


def test_contract_names_are_public():
    """The names issue #4 marks as a contract are importable."""
    from napari_outpaint import (  # noqa: F401
        Expand,
        RunflowEngine,
        outpaint_array,
        outpaint_layer,
    )


def test_manifest_validates_with_imports():
    """npe2 validates the installed manifest and imports its commands."""
    result = subprocess.run(
        [
            sys.executable,
            '-m',
            'npe2',
            'validate',
            'napari-outpaint',
            '--imports',
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'valid' in result.stdout


def test_what_the_package_imports_is_declared():
    """The samples import scikit-image: it is a dependency, not a test
    extra (napari happens to bring it today)."""
    sample = ROOT / 'src' / 'napari_outpaint' / '_sample_data.py'
    imported = {
        (node.module or '').split('.')[0]
        for node in ast.walk(ast.parse(sample.read_text()))
        if isinstance(node, ast.ImportFrom)
    }
    assert 'skimage' in imported
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    names = {
        re.split(r'[\s<>=!~;\[]', dep, maxsplit=1)[0].lower()
        for dep in project['dependencies']
    }
    assert 'scikit-image' in names


@pytest.fixture(scope='module')
def sdist(tmp_path_factory):
    """An sdist built from this repository."""
    out = tmp_path_factory.mktemp('sdist')
    subprocess.run(
        [sys.executable, '-m', 'build', '--sdist', '-o', str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (path,) = out.glob('napari_outpaint-*.tar.gz')
    return path


def test_sdist_ships_the_manifest_as_files(sdist):
    """Both napari.yaml of the sdist are files (no link), equal to the top."""
    top = (ROOT / 'napari.yaml').read_bytes()
    with tarfile.open(sdist) as tf:
        members = {
            m.name.split('/', 1)[1]: m
            for m in tf.getmembers()
            if m.name.endswith('napari.yaml')
        }
        assert sorted(members) == [
            'napari.yaml', 'src/napari_outpaint/napari.yaml'
        ]  # fmt: skip
        for member in members.values():
            assert member.isfile(), member.name
            assert tf.extractfile(member).read() == top


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """A wheel built from this repository."""
    out = tmp_path_factory.mktemp('dist')
    subprocess.run(
        [sys.executable, '-m', 'build', '--wheel', '-o', str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (path,) = out.glob('napari_outpaint-*.whl')
    return path


def test_wheel_ships_the_top_level_manifest(wheel):
    """The wheel holds napari.yaml itself (not a link), equal to the top."""
    with zipfile.ZipFile(wheel) as zf:
        shipped = zf.read('napari_outpaint/napari.yaml')
        names = zf.namelist()
    assert shipped == (ROOT / 'napari.yaml').read_bytes()
    assert not any(n.startswith('tests/') for n in names)


def test_wheel_installs_and_napari_lists_the_plugin(wheel, tmp_path):
    """In a fresh venv, napari (npe2) lists the plugin, widget and samples."""
    env_dir = tmp_path / 'venv'
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / 'bin' / 'python'
    subprocess.run(
        [str(python), '-m', 'pip', 'install', '--quiet', str(wheel)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    listed = subprocess.run(
        [
            str(python),
            '-m',
            'npe2',
            'list',
            '-f',
            'json',
            '--fields',
            'name,contributions.widgets,contributions.sample_data',
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (plugin,) = [
        p for p in json.loads(listed.stdout) if p['name'] == 'napari-outpaint'
    ]
    widgets = [w['display_name'] for w in plugin['contributions.widgets']]
    samples = [s['key'] for s in plugin['contributions.sample_data']]
    assert widgets == ['Outpaint (expand canvas)']
    assert samples == ['cells', 'coffee']
    validated = subprocess.run(
        [str(python), '-m', 'npe2', 'validate', 'napari-outpaint'],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
