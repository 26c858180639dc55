"""``-o result.zarr``: a stack batch written to an OME-Zarr store as it
runs, resumed by running the same command again; bad outputs refused
before any request."""

from __future__ import annotations

import numpy as np
import tifffile
import zarr

from cli_runner import SIDES, run
from napari_outpaint._cli import exit_codes as _cli
from napari_outpaint._io import read_store_attrs


def test_stack_batch_writes_an_ome_zarr_store(zstack, tmp_path):
    """The store holds the planes (original pixels bit-exact), the mask
    and OME axes with the file's pixel size; no TIFF or sidecar."""
    path, data = zstack
    out = tmp_path / 'out.zarr'
    ran = run(
        str(path), '-o', str(out), *SIDES, '--engine', 'reflect',
        '--plane', 'all',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert ran.lines[-1] == str(out)
    group = zarr.open_group(str(out), mode='r')
    image = group['0'][...]
    np.testing.assert_array_equal(image[:, 2:, 6:], data)
    assert group['labels/generated/0'][0, 0, 0] == 1
    assert group['labels/generated/0'][0, 5, 10] == 0
    (scales,) = group.attrs['ome']['multiscales']
    assert [a['name'] for a in scales['axes']] == ['z', 'y', 'x']
    assert {a['unit'] for a in scales['axes']} == {'micrometer'}
    scale = scales['datasets'][0]['coordinateTransformations'][0]['scale']
    assert scale == [2.0, 0.5, 0.5]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'out.zarr', 'stack.tif',
    ]  # fmt: skip


def test_interrupted_zarr_batch_resumes_with_the_same_command(
    runflow_env, zstack, tmp_path, fresh_session_cap, monkeypatch
):
    """A spend cap stops the batch after 2 planes; the same command again
    (with an empty cache) makes 1 run, for the plane the store lacks."""
    path, data = zstack
    out = tmp_path / 'out.zarr'
    args = [
        str(path), '-o', str(out), *SIDES, '--engine', 'runflow',
        '--plane', 'all', '--yes', '--concurrency', '1',
    ]  # fmt: skip
    ran = run(*args, '--spend-cap', '1.20')
    assert ran.code == _cli.EXIT_NOT_CONFIRMED, ran.err
    assert len(runflow_env.runs) == 2
    assert f'the planes in {out} are not sent again' in ran.err
    assert len(read_store_attrs(out)['planes_done']) == 2

    monkeypatch.setenv('NAPARI_OUTPAINT_CACHE_DIR', str(tmp_path / 'new'))
    ran = run(*args)
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 3
    assert '2 stored' in ran.err
    image = zarr.open_group(str(out), mode='r')['0'][...]
    np.testing.assert_array_equal(image[:, 2:, 6:], data)


def test_a_multichannel_file_is_refused_for_a_zarr_output(tmp_path):
    """Channels outpainted together are not written to a store yet."""
    data = np.zeros((3, 2, 16, 20), np.uint16)
    path = tmp_path / 'multi.tif'
    tifffile.imwrite(path, data, imagej=True, metadata={'axes': 'ZCYX'})
    ran = run(str(path), '-o', str(tmp_path / 'm.zarr'), *SIDES,
              '--engine', 'reflect', '--plane', 'all')  # fmt: skip
    assert ran.code == _cli.EXIT_USAGE, ran.err
    assert '--output' in ran.err
    assert 'channels' in ran.err
    assert not (tmp_path / 'm.zarr').exists()


def test_bad_zarr_outputs_exit_before_any_request(
    runflow_env, zstack, rgb_png, tmp_path, read_only_dir
):
    """Not our store, a 2D input, several inputs, a read-only folder, a
    store of another expansion: exit 2 naming --output, nothing sent."""
    path, _ = zstack
    plain = tmp_path / 'plain.zarr'
    zarr.open_group(str(plain), mode='w')
    batch = ['--engine', 'runflow', '--plane', 'all', '--yes']
    cases = [
        ([str(path), '-o', str(plain), *batch], 'not a napari-outpaint'),
        ([str(rgb_png[0]), '-o', str(tmp_path / 'a.zarr'), '--yes'],
         'holds a batch of planes'),
        ([str(path), str(path), '-o', str(tmp_path / 'b.zarr'), *batch],
         'one input'),
        ([str(path), '-o', str(read_only_dir / 'c.zarr'), *batch],
         'cannot write'),
    ]  # fmt: skip
    for argv, words in cases:
        ran = run(*argv, *SIDES)
        assert ran.code == _cli.EXIT_USAGE, (argv, ran.err)
        assert '--output' in ran.err
        assert words in ran.err
    assert runflow_env.requests == []

    out = tmp_path / 'out.zarr'
    ran = run(str(path), '-o', str(out), *SIDES, '--engine', 'reflect',
              '--plane', 'all')  # fmt: skip
    assert ran.code == 0, ran.err
    wider = ['--top', '30', '--bottom', '0', '--left', '20', '--right', '0']
    ran = run(str(path), '-o', str(out), *wider, '--engine', 'reflect',
              '--plane', 'all')  # fmt: skip
    assert ran.code == _cli.EXIT_USAGE
    assert 'another expansion' in ran.err
    assert runflow_env.requests == []
