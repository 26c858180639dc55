"""The main command end to end: every input through the one pipeline.

What this file checks
---------------------
- A repeated command is answered from the paid-result cache.
- ``--plane all`` outpaints a stack into one aligned stack; a failed
  plane or file does not stop the others, and a rerun only pays for
  what failed.
- The spend cap (``--spend-cap`` or ``NAPARI_OUTPAINT_SPEND_CAP_USD``)
  refuses the run that would exceed it, before any request, and keeps
  what finished.
- ``--concurrency`` sets the number of batch workers.
- The settings file (the widget's Options) sets the cap and the workers
  when no flag or variable does; a bad value in it exits 3, naming it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from cli_runner import SIDES, run, two_pngs
from napari_outpaint._batch import outpaint as _batch
from napari_outpaint._cli import exit_codes as _cli
from napari_outpaint._cli import outputs as _cli_outputs
from napari_outpaint._settings import save_settings, settings_path


def test_runflow_repeat_is_answered_from_the_cache(
    runflow_env, rgb_png, tmp_path
):
    """The same command twice creates one run: the second is free."""
    path, _ = rgb_png
    args = [str(path), *SIDES, '--engine', 'runflow']
    assert run(*args, '-o', str(tmp_path / 'a.png')).code == 0
    ran = run(*args, '-o', str(tmp_path / 'b.png'))
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 1
    assert 'cache' in ran.err
    np.testing.assert_array_equal(
        np.asarray(Image.open(tmp_path / 'a.png')),
        np.asarray(Image.open(tmp_path / 'b.png')),
    )
    history = run('history')
    assert runflow_env.runs[0].id in history.out


def test_stack_batch_through_runflow(runflow_env, zstack, tmp_path):
    """--plane all --yes outpaints every plane into one aligned stack."""
    path, data = zstack
    out = tmp_path / 'out.tif'
    ran = run(
        str(path), '-o', str(out), *SIDES, '--engine', 'runflow',
        '--plane', 'all', '--yes',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert '3 planes x $0.55 = $1.65' in ran.err
    assert len(runflow_env.runs) == 3
    written = tifffile.imread(out)
    assert written.dtype == np.uint16
    # 24 x 32 planes: top 10% = 2 rows, left 20% = 6 columns
    assert written.shape == (3, 26, 38)
    np.testing.assert_array_equal(written[:, 2:, 6:], data)
    sidecar = json.loads(out.with_name('out.tif.json').read_text())
    assert sidecar['placement']['scale'] == [2.0, 0.5, 0.5]
    assert sidecar['placement']['translate'] == [0.0, -1.0, -3.0]
    statuses = [
        o['status'] for o in sidecar['provenance']['batch']['outcomes']
    ]
    assert statuses == ['done'] * 3


def test_batch_with_a_failed_plane_keeps_the_others(
    runflow_env, zstack, tmp_path
):
    """One failed plane: the others are written, exit 4, rerun is cheap."""
    path, data = zstack
    runflow_env.fail_next_run(failure_code='PROVIDER_ERROR')
    out = tmp_path / 'out.tif'
    args = [str(path), *SIDES, '--engine', 'runflow', '--plane', 'all', '-y']
    ran = run(*args, '-o', str(out))
    assert ran.code == _cli.EXIT_RUN_ERROR, ran.err
    assert 'partial result written (2 of 3 planes' in ran.err
    sidecar = json.loads(out.with_name('out.tif.json').read_text())
    outcomes = sidecar['provenance']['batch']['outcomes']
    assert sorted(o['status'] for o in outcomes) == ['done', 'done', 'failed']
    written = tifffile.imread(out)
    for outcome in outcomes:
        (z,) = outcome['plane']
        if outcome['status'] == 'done':
            np.testing.assert_array_equal(written[z, 2:, 6:], data[z])
        else:
            assert not written[z].any()

    ran = run(*args, '-o', str(tmp_path / 'again.tif'))
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 4  # only the failed plane ran again


def test_a_failed_file_does_not_stop_the_next(runflow_env, tmp_path):
    """In a batch of files, one failed run is reported and the rest done."""
    a, b = two_pngs(tmp_path)
    runflow_env.fail_next_run(failure_code='PROVIDER_ERROR')
    out = tmp_path / 'out'
    ran = run(a, b, '-o', str(out), *SIDES, '--engine', 'runflow', '--yes')
    assert ran.code == _cli.EXIT_RUN_ERROR
    assert '[1/2] a: Run' in ran.err
    assert 'PROVIDER_ERROR' in ran.err
    assert not (out / 'a.outpainted.png').exists()
    assert (out / 'b.outpainted.png').exists()
    assert len(runflow_env.runs) == 2


def _distinct_pngs(tmp_path, n=2):
    paths = []
    for i in range(n):
        data = np.random.default_rng(i).integers(0, 255, (8, 10, 3), np.uint8)
        Image.fromarray(data).save(tmp_path / f'{"abc"[i]}.png')
        paths.append(str(tmp_path / f'{"abc"[i]}.png'))
    return paths


def test_spend_cap_refuses_the_run_that_would_exceed_it(
    runflow_env, tmp_path, fresh_session_cap
):
    """--spend-cap 1: the first $0.55 file runs, the second is refused (6)."""
    out = tmp_path / 'out'
    ran = run(
        *_distinct_pngs(tmp_path), '-o', str(out), *SIDES,
        '--engine', 'runflow', '--yes', '--spend-cap', '1',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_NOT_CONFIRMED, ran.err
    assert len(runflow_env.runs) == 1
    assert (out / 'a.outpainted.png').exists()
    assert not (out / 'b.outpainted.png').exists()
    assert 'spend cap: $1.00' in ran.err
    assert 'room for 1 more paid run' in ran.err
    assert '[2/2] b: The session spend cap of $1.00 is reached' in ran.err
    assert '--spend-cap' in ran.err.split('cap of $1.00 is reached')[1]


def test_spend_cap_below_one_run_sends_nothing(
    runflow_env, rgb_png, tmp_path, fresh_session_cap
):
    """--spend-cap 0.5 refuses a single $0.55 run before any request."""
    path, _ = rgb_png
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--engine', 'runflow', '--spend-cap', '0.5',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_NOT_CONFIRMED, ran.err
    assert runflow_env.requests == []
    assert not (tmp_path / 'o.png').exists()
    assert 'NAPARI_OUTPAINT_SPEND_CAP_USD' in ran.err


def test_spend_cap_stops_a_stack_batch_and_keeps_finished_planes(
    runflow_env, zstack, tmp_path, fresh_session_cap
):
    """--plane all under a $1.20 cap: two planes written, the third not run."""
    path, data = zstack
    out = tmp_path / 'out.tif'
    ran = run(
        str(path), '-o', str(out), *SIDES, '--engine', 'runflow',
        '--plane', 'all', '--yes', '--spend-cap', '1.20',
        '--concurrency', '1',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_NOT_CONFIRMED, ran.err
    assert len(runflow_env.runs) == 2
    assert 'partial result written (2 of 3 planes' in ran.err
    written = tifffile.imread(out)
    np.testing.assert_array_equal(written[:2, 2:, 6:], data[:2])
    assert not written[2].any()


def test_env_spend_cap_applies_to_the_cli(
    runflow_env, rgb_png, tmp_path, fresh_session_cap
):
    """NAPARI_OUTPAINT_SPEND_CAP_USD caps a run without the flag."""
    path, _ = rgb_png
    fresh_session_cap.setenv('NAPARI_OUTPAINT_SPEND_CAP_USD', '0.5')
    ran = run(str(path), '-o', str(tmp_path / 'o.png'), *SIDES)
    assert ran.code == _cli.EXIT_NOT_CONFIRMED, ran.err
    assert 'spend cap: $0.50 (env' in ran.err
    assert runflow_env.runs == []


def test_bad_env_spend_cap_exits_3_naming_it(
    rgb_png, tmp_path, fresh_session_cap
):
    """An invalid NAPARI_OUTPAINT_SPEND_CAP_USD is a configuration error."""
    path, _ = rgb_png
    fresh_session_cap.setenv('NAPARI_OUTPAINT_SPEND_CAP_USD', 'lots')
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES, '--engine', 'reflect'
    )
    assert ran.code == _cli.EXIT_CONFIG
    assert 'NAPARI_OUTPAINT_SPEND_CAP_USD' in ran.err
    assert not (tmp_path / 'o.png').exists()


@pytest.mark.filterwarnings('ignore:The seam around the original')
def test_concurrency_flag_sets_the_batch_workers(
    zstack, tmp_path, monkeypatch
):
    """--plane all --concurrency 3 runs the batch with three workers."""

    sizes = []

    class Pool(_batch.ThreadPoolExecutor):
        def __init__(self, workers, **kw):
            sizes.append(workers)
            super().__init__(workers, **kw)

    monkeypatch.setattr(_batch, 'ThreadPoolExecutor', Pool)
    path, _ = zstack
    ran = run(
        str(path), '-o', str(tmp_path / 'o.tif'), *SIDES,
        '--engine', 'reflect', '--plane', 'all', '--concurrency', '3',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert sizes == [3]


# ------------------------------------------------------- the settings file


def test_the_settings_file_caps_a_run_and_the_flag_wins(
    runflow_env, rgb_png, tmp_path, fresh_session_cap
):
    """spend_cap_usd in the settings file caps a run with neither the flag
    nor the variable, before any request, and says where it comes from;
    --spend-cap still wins over it."""
    path, _ = rgb_png
    save_settings({'spend_cap_usd': 0.5})
    ran = run(str(path), '-o', str(tmp_path / 'o.png'), *SIDES)
    assert ran.code == _cli.EXIT_NOT_CONFIRMED, ran.err
    assert f'spend cap: $0.50 (spend_cap_usd in {settings_path()}' in ran.err
    assert runflow_env.requests == []
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--spend-cap', '5',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 1


def test_a_variable_wins_over_the_settings_file_in_the_cli(
    runflow_env, rgb_png, tmp_path, fresh_session_cap
):
    """NAPARI_OUTPAINT_SPEND_CAP_USD=5 over a file's 0.5: the run is paid."""
    path, _ = rgb_png
    save_settings({'spend_cap_usd': 0.5})
    fresh_session_cap.setenv('NAPARI_OUTPAINT_SPEND_CAP_USD', '5')
    ran = run(str(path), '-o', str(tmp_path / 'o.png'), *SIDES)
    assert ran.code == 0, ran.err
    assert 'spend cap: $5.00 (env' in ran.err
    assert len(runflow_env.runs) == 1


@pytest.mark.filterwarnings('ignore:The seam around the original')
def test_the_settings_file_sets_the_batch_workers_and_the_flag_wins(
    zstack, tmp_path, monkeypatch
):
    """concurrency = 2 in the file: two workers; --concurrency 3 wins."""
    sizes = []

    class Pool(_batch.ThreadPoolExecutor):
        def __init__(self, workers, **kw):
            sizes.append(workers)
            super().__init__(workers, **kw)

    monkeypatch.setattr(_batch, 'ThreadPoolExecutor', Pool)
    save_settings({'concurrency': 2})
    path, _ = zstack
    args = [str(path), *SIDES, '--engine', 'reflect', '--plane', 'all']
    assert run(*args, '-o', str(tmp_path / 'a.tif')).code == 0
    ran = run(*args, '-o', str(tmp_path / 'b.tif'), '--concurrency', '3')
    assert ran.code == 0, ran.err
    assert sizes == [2, 3]


def test_a_bad_value_in_the_settings_file_exits_3_naming_file_and_key(
    rgb_png, tmp_path
):
    """max_passes = 0 in the file: a configuration error naming the file
    and the key; nothing is written."""
    path, _ = rgb_png
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text('max_passes = 0\n')
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES, '--engine', 'reflect'
    )
    assert ran.code == _cli.EXIT_CONFIG, ran.err
    assert str(settings_path()) in ran.err
    assert 'max_passes' in ran.err
    assert not (tmp_path / 'o.png').exists()


def test_the_help_names_the_settings_file():
    """--help says where the settings file is and the precedence."""
    ran = run('--help')
    assert str(settings_path()) in ran.out
    assert 'NAPARI_OUTPAINT_CONFIG' in ran.out


# --------------------------------------------- preconditions before paying


@pytest.mark.parametrize('dtype', ['int64', 'uint64', 'float16'])
def test_dtypes_ome_cannot_describe_are_written_as_plain_tiff(
    runflow_env, tmp_path, dtype
):
    """int64/uint64/float16 results keep their dtype (a plain TIFF)."""
    data = (np.arange(24 * 32).reshape(24, 32) % 200).astype(dtype)
    source = tmp_path / 'in.tif'
    tifffile.imwrite(source, data)
    out = tmp_path / 'out.tif'
    ran = run(str(source), '-o', str(out), *SIDES, '--engine', 'runflow')
    assert ran.code == 0, ran.err
    written = tifffile.imread(out)
    assert written.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(written[2:, 6:], data)


def test_an_unwritable_output_folder_is_refused_before_any_request(
    runflow_env, rgb_png
):
    """/proc takes no new files: refused (exit 2), nothing uploaded."""
    path, _ = rgb_png
    ran = run(str(path), '-o', '/proc/out.png', *SIDES, '--engine', 'runflow')
    assert ran.code == 2, ran.err
    assert 'cannot write in the folder /proc' in ran.err
    assert runflow_env.requests == []


def test_a_read_only_output_folder_is_refused_before_any_request(
    runflow_env, rgb_png, read_only_dir
):
    """A read-only file system: refused (exit 2), nothing uploaded."""
    path, _ = rgb_png
    out = read_only_dir / 'out.png'
    ran = run(str(path), '-o', str(out), *SIDES, '--engine', 'runflow')
    assert ran.code == 2, ran.err
    assert f'cannot write in the folder {read_only_dir}' in ran.err
    assert runflow_env.requests == []
    assert list(read_only_dir.iterdir()) == []


def test_a_read_only_cache_is_refused_before_any_request(
    runflow_env, rgb_png, tmp_path, monkeypatch, read_only_dir
):
    """The cache folder on a read-only file system: exit 3, nothing sent."""
    path, _ = rgb_png
    monkeypatch.setenv('NAPARI_OUTPAINT_CACHE_DIR', str(read_only_dir))
    ran = run(
        str(path), '-o', str(tmp_path / 'out.png'), *SIDES,
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == 3, ran.err
    assert 'NAPARI_OUTPAINT_CACHE_DIR' in ran.err
    assert 'nothing was sent' in ran.err
    assert runflow_env.requests == []
    assert not (tmp_path / 'out.png').exists()


def test_an_unwritable_cache_is_refused_before_any_request(
    runflow_env, rgb_png, tmp_path, monkeypatch
):
    """A file where the cache folder should be: exit 3, nothing sent."""
    path, _ = rgb_png
    (tmp_path / 'not-a-folder').write_text('x')
    monkeypatch.setenv(
        'NAPARI_OUTPAINT_CACHE_DIR', str(tmp_path / 'not-a-folder' / 'c')
    )
    ran = run(
        str(path), '-o', str(tmp_path / 'out.png'), *SIDES,
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == 3, ran.err
    assert 'NAPARI_OUTPAINT_CACHE_DIR' in ran.err
    assert 'nothing was sent' in ran.err
    assert runflow_env.requests == []


def test_a_base_url_ending_in_v1_exits_3_before_any_request(
    runflow_env, rgb_png, tmp_path, monkeypatch
):
    """``RUNFLOW_BASE_URL=.../v1`` is a configuration error, not a 404."""
    path, _ = rgb_png
    monkeypatch.setenv('RUNFLOW_BASE_URL', f'{runflow_env.base_url}/v1')
    ran = run(
        str(path), '-o', str(tmp_path / 'out.png'), *SIDES,
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == 3, ran.err
    assert 'ends in /v1' in ran.err
    assert 'run id' not in ran.err
    assert runflow_env.requests == []


def test_a_result_that_cannot_be_written_after_paying_is_kept(
    runflow_env, rgb_png, tmp_path, monkeypatch
):
    """The write fails after the run: the run id is printed, the result is
    in the cache, and the same command again is free."""
    path, _ = rgb_png
    out = tmp_path / 'out.png'
    real_write = _cli_outputs.write_image

    def disk_full(*args, **kwargs):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(_cli_outputs, 'write_image', disk_full)
    args = [str(path), '-o', str(out), *SIDES, '--engine', 'runflow']
    ran = run(*args)
    assert ran.code == _cli.EXIT_RUN_ERROR
    run_id = runflow_env.runs[0].id
    assert run_id in ran.err
    assert 'kept in the paid-result cache' in ran.err
    assert 'unexpected' not in ran.err
    assert not out.exists()
    monkeypatch.setattr(_cli_outputs, 'write_image', real_write)
    ran = run(*args)
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 1  # answered from the cache


def test_channels_as_samples_are_refused_before_any_request(
    runflow_env, tmp_path
):
    """A (Y, X, 2) TIFF is two channels, not 30 planes of 40 x 2."""
    source = tmp_path / 'two.tif'
    tifffile.imwrite(
        source, np.zeros((30, 40, 2), np.uint8), photometric='minisblack',
        planarconfig='contig', extrasamples=[0],
    )  # fmt: skip
    ran = run(
        str(source), '-o', str(tmp_path / 'o.tif'), *SIDES,
        '--engine', 'runflow', '--plane', 'all', '--yes',
    )  # fmt: skip
    assert ran.code == 2, ran.err
    assert '2 samples per pixel' in ran.err
    assert runflow_env.requests == []


def test_a_channel_axis_is_never_a_batch_of_planes(runflow_env, tmp_path):
    """--plane all on a CYX stack outpaints the channels together (one
    run, not one per channel); one channel may still be named alone."""
    source = tmp_path / 'cyx.tif'
    data = np.random.default_rng(0).integers(0, 255, (3, 24, 32), np.uint8)
    tifffile.imwrite(
        source, data, photometric='minisblack', metadata={'axes': 'CYX'}
    )
    args = [str(source), *SIDES, '--engine', 'runflow']
    ran = run(*args, '-o', str(tmp_path / 'a.tif'), '--plane', 'all', '-y')
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 1
    assert tifffile.imread(tmp_path / 'a.tif').shape == (3, 26, 38)
    ran = run(*args, '-o', str(tmp_path / 'b.tif'), '--plane', '1')
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 2
    assert tifffile.imread(tmp_path / 'b.tif').shape == (26, 38)  # one channel


def test_max_pixels_refuses_before_any_request(runflow_env, rgb_png, tmp_path):
    """--max-pixels below the canvas: exit 2 naming the flag, nothing sent."""
    path, _ = rgb_png
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--engine', 'runflow', '--max-pixels', '2500',
    )  # fmt: skip
    assert ran.code == 2, ran.err
    assert '--max-pixels' in ran.err
    assert runflow_env.requests == []


def test_an_exact_canvas_of_two_passes_is_confirmed_paid_once_each(
    runflow_env, rgb_png, tmp_path
):
    """--canvas 120x60 on 40 rows needs two passes: refused unconfirmed
    off a terminal (nothing sent), two runs with --yes, the exact size
    with the original bit-identical in the middle, none the second time."""
    path, data = rgb_png
    out = tmp_path / 'big.png'
    command = (str(path), '-o', str(out), '--canvas', '120x60')
    ran = run(*command, '--engine', 'runflow')
    assert ran.code == _cli.EXIT_NOT_CONFIRMED, ran.err
    assert '1 plane x 2 passes x $0.55 = $1.10' in ran.err
    assert runflow_env.requests == []

    ran = run(*command, '--engine', 'runflow', '--yes')
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 2
    written = np.asarray(Image.open(out))
    assert written.shape == (120, 60, 3)
    np.testing.assert_array_equal(written[40:80], data)
    placement = json.loads((tmp_path / 'big.png.json').read_text())[
        'placement'
    ]
    assert placement['padding_px'] == {
        'top': 40, 'bottom': 40, 'left': 0, 'right': 0,
    }  # fmt: skip
    assert len(placement['passes']) == 2

    again = run(*command, '--engine', 'runflow', '--yes', '--overwrite')
    assert again.code == 0, again.err
    assert len(runflow_env.runs) == 2


def test_world_units_use_the_files_pixel_size(zstack, tmp_path):
    """2 um at 0.5 um per pixel is 4 pixels; the plane's pixels stay."""
    path, data = zstack
    out = tmp_path / 'more.tif'
    ran = run(
        str(path), '-o', str(out), '--left-world', '2', '--plane', '1',
        '--engine', 'reflect',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    written = tifffile.imread(out)
    assert written.shape[-2:] == (24, 36)
    np.testing.assert_array_equal(written.reshape(24, 36)[:, 4:], data[1])


@pytest.mark.parametrize(
    ('flags', 'named'),
    [
        (('--left', '10', '--left-px', '5'), 'got --top/--bottom'),
        ((), 'say how much canvas'),
        (('--left-px', '5', '--anchor', '0,0'), '--anchor'),
        (('--left-world', '5'), '--top-world'),  # a PNG has no pixel size
        (('--canvas', '10x60'), 'rows'),  # smaller than the original
    ],
)
def test_a_canvas_asked_wrongly_is_refused_before_any_request(
    runflow_env, rgb_png, tmp_path, flags, named
):
    path, _ = rgb_png
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *flags,
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_USAGE, ran.err
    assert named in ran.err
    assert runflow_env.requests == []


def test_a_deep_image_is_told_its_border_has_8_bits(
    runflow_env, zstack, rgb_png, tmp_path
):
    """uint16 through Runflow: the done line and the provenance say 8
    bits; through the local engine the border holds the file's own
    values (16 bits); 8-bit in: nothing to say."""
    path, data = zstack
    ran = run(
        str(path), '-o', str(tmp_path / 'deep.tif'), *SIDES, '--plane', '0',
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert 'generated at 8 bits and mapped back to uint16' in ran.err
    sidecar = json.loads((tmp_path / 'deep.tif.json').read_text())
    assert sidecar['provenance']['generated_bits'] == 8
    ran = run(
        str(path), '-o', str(tmp_path / 'local.tif'), *SIDES, '--plane',
        '0', '--engine', 'reflect',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert '8 bits' not in ran.err
    sidecar = json.loads((tmp_path / 'local.tif.json').read_text())
    assert sidecar['provenance']['generated_bits'] == 16
    written = tifffile.imread(tmp_path / 'local.tif')
    assert np.isin(written, data[0]).all()  # the file's own values
    png, _ = rgb_png
    ran = run(
        str(png), '-o', str(tmp_path / 'flat.png'), *SIDES,
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert '8 bits' not in ran.err


def test_batch_route_env_sends_a_stack_as_one_runflow_batch(
    runflow_env, zstack, tmp_path, monkeypatch
):
    """NAPARI_OUTPAINT_BATCH_ROUTE=auto: ``--plane all`` sends its three
    planes as one batch request (three runs), written as single runs
    would be; a rerun is answered from the cache."""
    monkeypatch.setenv('NAPARI_OUTPAINT_BATCH_ROUTE', 'auto')
    path, data = zstack
    out = tmp_path / 'out.tif'
    args = [str(path), *SIDES, '--engine', 'runflow', '--plane', 'all']
    ran = run(*args, '-o', str(out), '--yes')
    assert ran.code == 0, ran.err
    assert len(runflow_env.batches) == 1
    assert len(runflow_env.runs) == 3
    assert not any(
        r.path.endswith('/outpaint/runs') for r in runflow_env.requests
    )
    written = tifffile.imread(out)
    np.testing.assert_array_equal(written[:, 2:, 6:], data)
    again = run(*args, '-o', str(tmp_path / 'again.tif'), '--yes')
    assert again.code == 0, again.err
    assert len(runflow_env.batches) == 1
    assert len(runflow_env.runs) == 3
