"""Inputs of the command line: files, folders, planes, output paths.

What this file checks
---------------------
- Missing or unsupported input files, and outputs that cannot hold the
  result (JPEG, float to PNG), are refused before any work (exit 2).
- ``--plane``: required for a stack, checked against its shape, refused
  on a 2D image; one plane of a z-stack is placed at its z.
- A folder input is a batch of its images, one output per image.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from cli_runner import SIDES, run
from napari_outpaint._cli import exit_codes as _cli


def test_missing_input_exits_2(tmp_path):
    """A missing input file is a usage error that says so."""
    ran = run(
        str(tmp_path / 'nope.tif'), '-o', str(tmp_path / 'o.tif'), *SIDES
    )
    assert ran.code == _cli.EXIT_USAGE
    assert 'no such file' in ran.err


def test_unsupported_input_exits_2(tmp_path):
    """An unsupported file type is refused with the supported list."""
    (tmp_path / 'a.bmp').write_bytes(b'BM')
    ran = run(str(tmp_path / 'a.bmp'), '-o', str(tmp_path / 'o.tif'), *SIDES)
    assert ran.code == _cli.EXIT_USAGE
    assert '.tif' in ran.err


def test_jpeg_output_is_refused(rgb_png, tmp_path):
    """JPEG output is refused (lossy) before any work, naming --output."""
    path, _ = rgb_png
    ran = run(str(path), '-o', str(tmp_path / 'o.jpg'), *SIDES)
    assert ran.code == _cli.EXIT_USAGE
    assert '--output' in ran.err
    assert 'lossy' in ran.err


def test_float_tiff_to_png_is_refused(tmp_path):
    """A float image cannot go to PNG: the error suggests .tif."""
    tifffile.imwrite(tmp_path / 'f.tif', np.zeros((8, 8), np.float32))
    ran = run(str(tmp_path / 'f.tif'), '-o', str(tmp_path / 'o.png'), *SIDES)
    assert ran.code == _cli.EXIT_USAGE
    assert '.tif output' in ran.err


def test_stack_without_plane_exits_2(zstack, tmp_path):
    """A stack needs --plane, and the message shows how."""
    path, _ = zstack
    ran = run(str(path), '-o', str(tmp_path / 'o.tif'), *SIDES)
    assert ran.code == _cli.EXIT_USAGE
    assert '--plane' in ran.err
    assert '--plane all' in ran.err


@pytest.mark.parametrize('plane', ['3', '0,1', 'x'])
def test_bad_plane_exits_2(zstack, tmp_path, plane):
    """A plane out of range, with too many indices or not a number fails."""
    path, _ = zstack
    ran = run(
        str(path), '-o', str(tmp_path / 'o.tif'), *SIDES, '--plane', plane
    )
    assert ran.code == _cli.EXIT_USAGE
    assert '--plane' in ran.err


def test_plane_on_2d_image_exits_2(rgb_png, tmp_path):
    """--plane on a 2D image is refused rather than ignored."""
    path, _ = rgb_png
    ran = run(str(path), '-o', str(tmp_path / 'o.png'), *SIDES, '--plane', '0')
    assert ran.code == _cli.EXIT_USAGE
    assert '2D image' in ran.err


def test_one_plane_of_a_zstack(zstack, tmp_path):
    """--plane 1 outpaints that plane and places it at z = 1 x spacing."""
    path, data = zstack
    out = tmp_path / 'out.tif'
    ran = run(
        str(path), '-o', str(out), *SIDES, '--engine', 'reflect',
        '--plane', '1',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    written = tifffile.imread(out)
    assert written.shape[-2:] == (26, 38)
    np.testing.assert_array_equal(written.reshape(26, 38)[2:, 6:], data[1])
    sidecar = json.loads((tmp_path / 'out.tif.json').read_text())
    assert sidecar['output']['shape'] == [1, 26, 38]
    assert sidecar['placement']['scale'] == [2.0, 0.5, 0.5]
    assert sidecar['placement']['translate'] == [2.0, -1.0, -3.0]
    assert sidecar['provenance']['plane'] == [1]


def test_folder_of_images_is_a_batch(tmp_path):
    """A folder input writes <stem>.outpainted.<ext> for each image."""
    folder = tmp_path / 'in'
    folder.mkdir()
    for name in ('a.png', 'b.png'):
        Image.fromarray(np.full((10, 10, 3), 9, np.uint8)).save(folder / name)
    (folder / 'notes.txt').write_text('not an image')
    out = tmp_path / 'out'
    ran = run(str(folder), '-o', str(out), *SIDES, '--engine', 'reflect')
    assert ran.code == 0, ran.err
    assert sorted(p.name for p in out.iterdir()) == [
        'a.outpainted.mask.png', 'a.outpainted.png', 'a.outpainted.png.json',
        'b.outpainted.mask.png', 'b.outpainted.png', 'b.outpainted.png.json',
    ]  # fmt: skip
    assert '[2/2] b' in ran.err
