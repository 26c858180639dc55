"""Outputs never replace inputs; an existing file only when asked.

What this file checks
---------------------
- An output that is an input of the same command, however it is spelled
  (``..``, a symbolic link, a hard link, a later input of a batch), is
  refused before any run: the stand-in sees no request.
- An existing output that is not an input is refused without
  ``--overwrite`` (no terminal), asked about on a terminal (yes replaces,
  no refuses), replaced with ``--overwrite``.
- ``history --export -o`` follows the same rule.
- Running a folder into itself skips the files napari-outpaint wrote.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import tifffile
import zarr
from PIL import Image

from cli_runner import SIDES, TTY, run
from napari_outpaint._cli import exit_codes as _cli
from napari_outpaint._cli.console import Console
from napari_outpaint._cli.overwrite import check_outputs, file_identity
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._io import read_store_attrs


def _png(path, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(data).save(path)
    return data


def _console():
    return Console(io.StringIO(), io.StringIO(), quiet=False)


def test_file_identity_sees_through_spellings_and_links(tmp_path):
    """``..``, symbolic and hard links name the same file."""
    (tmp_path / 'sub').mkdir()
    target = tmp_path / 'a.png'
    target.write_bytes(b'x')
    (tmp_path / 'soft.png').symlink_to(target)
    os.link(target, tmp_path / 'hard.png')
    same = {
        file_identity(target),
        file_identity(tmp_path / 'sub' / '..' / 'a.png'),
        file_identity(tmp_path / 'soft.png'),
        file_identity(tmp_path / 'hard.png'),
    }
    assert len(same) == 1
    assert file_identity(tmp_path / 'b.png') != file_identity(target)


@pytest.mark.parametrize('spelling', ['dotdot', 'symlink', 'hardlink'])
def test_an_output_that_is_an_input_is_refused(tmp_path, spelling):
    """However the input is spelled, it is never an output."""
    source = tmp_path / 'in.png'
    source.write_bytes(b'x')
    (tmp_path / 'sub').mkdir()
    spelled = {
        'dotdot': tmp_path / 'sub' / '..' / 'in.png',
        'symlink': tmp_path / 'link.png',
        'hardlink': tmp_path / 'hard.png',
    }[spelling]
    if spelling == 'symlink':
        spelled.symlink_to(source)
    if spelling == 'hardlink':
        os.link(source, spelled)
    with pytest.raises(InvalidInputError, match='never overwrite inputs'):
        check_outputs(
            [spelled], [source], overwrite=True, console=_console(),
            stdin=io.StringIO(),
        )  # fmt: skip
    assert source.read_bytes() == b'x'


def test_an_existing_output_is_asked_about_on_a_terminal(tmp_path):
    """On a terminal: 'y' replaces, anything else refuses."""
    out = tmp_path / 'out.png'
    out.write_bytes(b'old')
    console = _console()
    check_outputs(
        [out], [], overwrite=False, console=console, stdin=TTY('y\n')
    )
    assert 'Replace' in console.err.getvalue()
    with pytest.raises(InvalidInputError, match='not replaced'):
        check_outputs(
            [out], [], overwrite=False, console=console, stdin=TTY('\n')
        )


def test_cli_output_equal_to_a_later_input_is_refused(runflow_env, tmp_path):
    """``a.png``'s output would be ``a.outpainted.png``, itself an input."""
    _png(tmp_path / 'a.png')
    later = tmp_path / 'a.outpainted.png'
    before = _png(later, seed=1)
    ran = run(
        str(tmp_path / 'a.png'), str(later), '-o', str(tmp_path), *SIDES,
        '--engine', 'runflow', '--overwrite',
    )  # fmt: skip
    assert ran.code == 2, ran.err
    assert 'never overwrite inputs' in ran.err
    assert runflow_env.requests == []
    np.testing.assert_array_equal(np.asarray(Image.open(later)), before)


def test_cli_output_spelled_as_the_input_is_refused(runflow_env, tmp_path):
    """``-o sub/../in.png`` for ``in.png``: refused, nothing sent."""
    data = _png(tmp_path / 'in.png')
    (tmp_path / 'sub').mkdir()
    ran = run(
        str(tmp_path / 'in.png'), '-o', str(tmp_path / 'sub/../in.png'),
        *SIDES, '--engine', 'runflow', '--overwrite',
    )  # fmt: skip
    assert ran.code == 2
    assert runflow_env.requests == []
    np.testing.assert_array_equal(
        np.asarray(Image.open(tmp_path / 'in.png')), data
    )


def test_cli_existing_output_needs_overwrite(runflow_env, tmp_path):
    """An existing output: refused without --overwrite, replaced with it."""
    _png(tmp_path / 'in.png')
    out = tmp_path / 'out.png'
    out.write_bytes(b'keep me')
    args = [str(tmp_path / 'in.png'), '-o', str(out), *SIDES]
    ran = run(*args, '--engine', 'runflow')
    assert ran.code == 2
    assert '--overwrite' in ran.err
    assert out.read_bytes() == b'keep me'
    assert runflow_env.requests == []
    ran = run(*args, '--engine', 'runflow', '--overwrite')
    assert ran.code == 0, ran.err
    assert Image.open(out).size == (32 + 6, 24 + 2)


def test_history_export_onto_an_existing_image_needs_overwrite(
    runflow_env, tmp_path
):
    """``history --export KEY -o FILE`` never replaces FILE unasked."""
    _png(tmp_path / 'in.png')
    ran = run(
        str(tmp_path / 'in.png'), '-o', str(tmp_path / 'out.png'), *SIDES,
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    key = run('history', '--json').out.split('"key": "')[1][:12]
    mine = tmp_path / 'mine.png'
    mine.write_bytes(b'precious')
    ran = run('history', '--export', key, '-o', str(mine))
    assert ran.code == 2
    assert mine.read_bytes() == b'precious'
    ran = run('history', '--export', key, '-o', str(mine), '--overwrite')
    assert ran.code == 0, ran.err
    assert Image.open(mine).size[0] > 0


def test_a_folder_into_itself_skips_its_own_outputs(runflow_env, tmp_path):
    """The second run into the same folder does not outpaint its results."""
    folder = tmp_path / 'photos'
    folder.mkdir()
    _png(folder / 'a.png')
    _png(folder / 'b.png', seed=2)
    args = [str(folder), '-o', str(folder), *SIDES, '--engine', 'runflow']
    assert run(*args, '--yes').code == 0
    assert len(runflow_env.runs) == 2
    written = sorted(p.name for p in folder.iterdir())
    assert 'a.outpainted.png' in written
    assert 'a.outpainted.mask.png' in written
    ran = run(*args, '--yes', '--overwrite')
    assert ran.code == 0, ran.err
    assert 'skipped 4 file(s) napari-outpaint wrote' in ran.err
    assert len(runflow_env.runs) == 2  # answered from the cache
    assert not any('outpainted.outpainted' in p.name for p in folder.iterdir())


# ------------------------------- -o result.zarr: resumed, not replaced


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
