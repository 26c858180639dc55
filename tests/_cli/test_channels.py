"""Multichannel TIFF / OME-TIFF on the command line: the channels are
outpainted together and written back on the same axis."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from cli_runner import SIDES, run
from napari_outpaint._io import channel_axis_of, read_image


def _channels(shape, dtype=np.uint16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 3000, shape).astype(dtype)


@pytest.mark.parametrize(
    ('kind', 'axes', 'axis'),
    [
        ('ome', 'CYX', 0),
        ('ome', 'ZCYX', 1),
        ('imagej', 'ZCYX', 1),
        ('plain', 'CYX', 0),
        ('plain', 'ZYX', None),
    ],
)
def test_the_channel_axis_comes_from_the_metadata(tmp_path, kind, axes, axis):
    shape = {'CYX': (3, 24, 32), 'ZCYX': (2, 3, 24, 32), 'ZYX': (3, 24, 32)}
    path = tmp_path / ('x.ome.tif' if kind == 'ome' else 'x.tif')
    data = _channels(shape[axes])
    if kind == 'imagej':
        tifffile.imwrite(path, data, imagej=True, metadata={'axes': axes})
    elif kind == 'ome':
        tifffile.imwrite(path, data, ome=True, metadata={'axes': axes})
    else:
        tifffile.imwrite(
            path, data, photometric='minisblack', metadata={'axes': axes}
        )
    assert channel_axis_of(read_image(path)) == axis


def test_cyx_tiff_takes_one_run_and_is_written_on_the_same_axes(
    runflow_env, tmp_path
):
    source = tmp_path / 'cyx.ome.tif'
    data = np.stack(
        [_channels((24, 32), seed=k) * (k + 1) for k in range(3)]
    )  # three ranges
    tifffile.imwrite(source, data, ome=True, metadata={'axes': 'CYX'})
    out = tmp_path / 'out.ome.tif'
    ran = run(str(source), '-o', str(out), *SIDES, '--engine', 'runflow')
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 1
    with tifffile.TiffFile(out) as tif:
        assert tif.series[0].axes == 'CYX'
        written = tif.asarray()
    assert written.shape == (3, 26, 38)
    assert written.dtype == np.uint16
    np.testing.assert_array_equal(written[:, 2:, 6:], data)
    sidecar = json.loads((tmp_path / 'out.ome.tif.json').read_text())
    assert sidecar['channels']['axis'] == 0
    assert sidecar['channels']['letter'] == 'C'
    assert sidecar['channels']['count'] == 3
    limits = sidecar['channels']['contrast_limits']
    assert limits[2][1] > 2.5 * limits[0][1]  # each channel its own range
    mask = tifffile.imread(tmp_path / 'out.ome.mask.tif')
    assert mask.shape == written.shape


def test_a_stack_of_channels_is_one_run_per_plane(runflow_env, tmp_path):
    source = tmp_path / 'zcyx.tif'
    data = _channels((2, 3, 24, 32))
    tifffile.imwrite(source, data, imagej=True, metadata={'axes': 'ZCYX'})
    out = tmp_path / 'out.tif'
    ran = run(
        str(source), '-o', str(out), *SIDES, '--engine', 'runflow',
        '--plane', 'all', '-y',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 2  # one per z plane, not 6
    written = tifffile.imread(out)
    assert written.shape == (2, 3, 26, 38)
    np.testing.assert_array_equal(written[:, :, 2:, 6:], data)
    ran = run(
        str(source), '-o', str(tmp_path / 'z1.tif'), *SIDES,
        '--engine', 'runflow', '--plane', '1',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 2  # plane 1 from the cache
    np.testing.assert_array_equal(
        tifffile.imread(tmp_path / 'z1.tif'), written[1]
    )


def test_five_channels_are_two_runs_and_say_so(runflow_env, tmp_path):
    source = tmp_path / 'c5.tif'
    data = _channels((5, 24, 32))
    tifffile.imwrite(
        source, data, photometric='minisblack', metadata={'axes': 'CYX'}
    )
    out = tmp_path / 'out.tif'
    ran = run(str(source), '-o', str(out), *SIDES, '--engine', 'runflow')
    assert ran.code != 0  # two paid runs need --yes off a terminal
    assert runflow_env.requests == []
    ran = run(str(source), '-o', str(out), *SIDES, '--engine', 'runflow', '-y')
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 2
    assert 'generated separately' in ran.err + ran.out
    assert tifffile.imread(out).shape == (5, 26, 38)


def test_a_plane_that_fits_neither_reading_is_refused(runflow_env, tmp_path):
    source = tmp_path / 'tzcyx.tif'
    tifffile.imwrite(
        source,
        _channels((2, 2, 3, 24, 32)),
        imagej=True,
        metadata={'axes': 'TZCYX'},
    )
    ran = run(
        str(source), '-o', str(tmp_path / 'o.tif'), *SIDES,
        '--engine', 'runflow', '--plane', '1',
    )  # fmt: skip
    assert ran.code == 2, ran.err
    assert '--plane' in ran.err
    assert 'axes TZ' in ran.err
    assert runflow_env.requests == []
