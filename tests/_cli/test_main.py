"""The ``napari-outpaint`` command line, run in-process through ``main``."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_outpaint._cli import console as _cli_console
from napari_outpaint._cli import exit_codes as _cli
from napari_outpaint._cli import inputs as _cli_inputs
from napari_outpaint._cli import worker as _cli_worker
from napari_outpaint._cli.main import main
from napari_outpaint._io.files import read_image

SIDES = ['--top', '10', '--bottom', '0', '--left', '20', '--right', '0']


@dataclass
class Ran:
    """What one call of ``main`` returned and printed."""

    code: int
    out: str
    err: str
    lines: list[str] = field(default_factory=list)


def run(*argv: str, stdin: str = '') -> Ran:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return Ran(code, out.getvalue(), err.getvalue(), out.getvalue().split())


@pytest.fixture
def rgb_png(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    path = tmp_path / 'photo.png'
    Image.fromarray(data).save(path)
    return path, data


@pytest.fixture
def zstack(tmp_path):
    data = (np.arange(3 * 24 * 32) * 13 % 4000).reshape(3, 24, 32)
    data = data.astype(np.uint16)
    path = tmp_path / 'stack.tif'
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(1 / 0.5, 1 / 0.5),
        metadata={'axes': 'ZYX', 'spacing': 2.0, 'unit': 'um'},
    )
    return path, data


def test_help_documents_exit_codes_and_usage():
    """--help exits 0 and documents the exit codes and the sidecar."""
    ran = run('--help')
    assert ran.code == 0
    assert 'exit codes:' in ran.out
    assert '130' in ran.out
    assert 'out.tif.json' in ran.out


@pytest.mark.parametrize(
    ('value', 'match'),
    [('90', 'between 0 and 80'), ('1.5', 'integer percent'), ('-3', '')],
)
def test_bad_percent_exits_2_naming_the_flag(rgb_png, tmp_path, value, match):
    """An out-of-range or non-integer percent is a usage error on --top."""
    path, _ = rgb_png
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), '--top', value,
        '--bottom', '0', '--left', '0', '--right', '0',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_USAGE
    assert '--top' in ran.err
    assert match in ran.err
    assert 'Traceback' not in ran.err
    assert not (tmp_path / 'o.png').exists()


def test_all_zero_exits_2_naming_the_flags(rgb_png, tmp_path):
    """Four zeros are refused: there is nothing to outpaint."""
    path, _ = rgb_png
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), '--top', '0',
        '--bottom', '0', '--left', '0', '--right', '0',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_USAGE
    assert '--top/--bottom/--left/--right' in ran.err


def test_missing_side_flag_exits_2():
    """All four sides are required: no silent default."""
    ran = run('sample:cells', '-o', 'x.tif', '--top', '10')
    assert ran.code == _cli.EXIT_USAGE
    assert '--bottom' in ran.err


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


def test_runflow_without_key_exits_3(rgb_png, tmp_path):
    """--engine runflow with no key is a configuration error naming the fix."""
    path, _ = rgb_png
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES, '--engine', 'runflow'
    )
    assert ran.code == _cli.EXIT_CONFIG
    assert 'RUNFLOW_API_KEY' in ran.err
    assert 'Traceback' not in ran.err


def test_api_key_env_unset_exits_3(rgb_png, tmp_path):
    """--api-key-env naming an unset variable fails and names the flag."""
    path, _ = rgb_png
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--api-key-env', 'MY_UNSET_RUNFLOW_KEY',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_CONFIG
    assert '--api-key-env' in ran.err
    assert 'MY_UNSET_RUNFLOW_KEY' in ran.err


def test_unexpected_error_exits_1_without_traceback(
    rgb_png, tmp_path, monkeypatch
):
    """A bug surfaces as exit 1 and one line, not a traceback."""
    path, _ = rgb_png

    def broken(_spec):
        raise RuntimeError('boom')

    monkeypatch.setattr(_cli_inputs, 'load_input', broken)
    ran = run(str(path), '-o', str(tmp_path / 'o.png'), *SIDES)
    assert ran.code == _cli.EXIT_UNEXPECTED
    assert 'RuntimeError: boom' in ran.err
    assert 'Traceback' not in ran.err


def test_history_empty_cache():
    """history on an empty cache exits 0 and says where it looked."""
    ran = run('history')
    assert ran.code == 0
    assert 'no cached results' in ran.err


def test_history_lists_and_exports_a_cached_result(tmp_path):
    """A cached result is listed with its run id and can be exported."""
    from napari_outpaint._cache.engine import store_result
    from napari_outpaint._cache.store import ResultCache
    from napari_outpaint._expand import Expand
    from napari_outpaint.engines import EngineResult

    image = np.full((12, 16, 3), 77, np.uint8)
    result = EngineResult(
        image=image, engine='runflow', model='runflow/outpaint',
        run_id='run_abc', cost_usd=0.55,
    )  # fmt: skip
    expand = Expand(10, 0, 0, 0)
    cache = ResultCache()
    key = cache.key_for(image, expand, 'runflow/outpaint')
    store_result(cache, key, result, expand)

    ran = run('history')
    assert ran.code == 0
    assert key[:12] in ran.out
    assert 'run_abc' in ran.out

    listed = [
        json.loads(line)
        for line in run('history', '--json').out.split('\n')
        if line
    ]  # noqa: E501
    assert listed[0]['key'] == key
    assert listed[0]['provenance']['run_id'] == 'run_abc'

    out = tmp_path / 'exported.png'
    ran = run('history', '--export', key[:10], '-o', str(out))
    assert ran.code == 0
    np.testing.assert_array_equal(np.asarray(Image.open(out)), image)

    assert run('history', '--clear').code == 0
    assert cache.entries() == []


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _two_pngs(tmp_path):
    paths = []
    for name in ('a.png', 'b.png'):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    return paths


def test_paid_batch_refused_when_not_interactive(tmp_path, monkeypatch):
    """A paid batch without --yes shows the price and exits 6, unasked."""
    monkeypatch.setenv('RUNFLOW_API_KEY', 'secret-test-key')
    ran = run(*_two_pngs(tmp_path), '-o', str(tmp_path / 'out'), *SIDES)
    assert ran.code == _cli.EXIT_NOT_CONFIRMED
    assert 'engine: Runflow' in ran.err
    assert '$RUNFLOW_API_KEY' in ran.err
    assert '2 planes x $0.55 = $1.10' in ran.err
    assert '--yes' in ran.err
    assert 'secret-test-key' not in ran.err + ran.out
    assert list((tmp_path / 'out').iterdir()) == []


def test_paid_batch_declined_interactively(tmp_path, monkeypatch):
    """Answering anything but y at the prompt spends nothing (exit 6)."""
    monkeypatch.setenv('RUNFLOW_API_KEY', 'secret-test-key')
    out, err = io.StringIO(), io.StringIO()
    code = main(
        [*_two_pngs(tmp_path), '-o', str(tmp_path / 'out'), *SIDES],
        stdout=out,
        stderr=err,
        stdin=_TTY('n\n'),
    )
    assert code == _cli.EXIT_NOT_CONFIRMED
    assert 'Spend up to 2 planes x $0.55 = $1.10? [y/N]' in err.getvalue()
    assert 'nothing was spent' in err.getvalue()


def test_ctrl_c_cancels_the_run_and_waits_for_cleanup():
    """Ctrl-C sets the cancel token and waits until the worker cleaned up."""
    import _thread
    import threading

    from napari_outpaint._progress import CancelToken

    cleaned = threading.Event()
    started = threading.Event()

    def work(cancel):
        try:
            started.set()
            _thread.interrupt_main()  # what Ctrl-C does to the main thread
            assert cancel.wait(10.0), 'the CLI never cancelled the run'
            cancel.raise_if_cancelled(run_id='run_1')
        finally:
            cleaned.set()

    console = _cli_console.Console(io.StringIO(), io.StringIO(), quiet=False)
    with pytest.raises(_cli_worker.Interrupted) as info:
        _cli_worker.run_cancellable(work, CancelToken(), console)
    assert started.is_set()
    assert cleaned.is_set()
    assert info.value.cause.run_id == 'run_1'
    assert 'cancelling' in console.err.getvalue()


# -- runs through the Runflow stand-in ---------------------------------------


@pytest.fixture
def runflow_env(runflow_standin, monkeypatch):
    monkeypatch.setenv('RUNFLOW_BASE_URL', runflow_standin.base_url)
    monkeypatch.setenv('RUNFLOW_API_KEY', 'test-key')
    monkeypatch.setenv('SSL_CERT_FILE', str(runflow_standin.ca_path))
    return runflow_standin


def test_runflow_run_writes_result_sidecar_and_mask(
    runflow_env, rgb_png, tmp_path
):
    """A Runflow run writes an aligned result, mask and sidecar; key unseen."""
    path, data = rgb_png
    out = tmp_path / 'out.png'
    ran = run(str(path), '-o', str(out), *SIDES, '--engine', 'runflow')
    assert ran.code == 0, ran.err
    assert ran.lines == [
        str(out), str(tmp_path / 'out.mask.png'), str(out) + '.json'
    ]  # fmt: skip
    assert 'engine: Runflow runflow/outpaint' in ran.err
    assert '1 plane x $0.55 = $0.55' in ran.err

    (server_run,) = runflow_env.runs
    assert all(asset.deleted for asset in runflow_env.assets.values())
    result = np.asarray(Image.open(out))
    assert result.shape == (44, 72, 3)  # top 10% of 40, left 20% of 60
    np.testing.assert_array_equal(result[4:, 12:], data)
    mask = np.asarray(Image.open(tmp_path / 'out.mask.png'))
    assert mask[4:, 12:].max() == 0
    assert mask[:4].min() == 255
    assert mask[:, :12].min() == 255

    sidecar = json.loads((tmp_path / 'out.png.json').read_text())
    assert sidecar['placement']['translate'] == [-4.0, -12.0]
    assert sidecar['placement']['original_offset_px'] == [4.0, 12.0]
    assert sidecar['provenance']['run_id'] == server_run.id
    assert sidecar['provenance']['cost_usd'] == pytest.approx(0.55)
    everything = ran.out + ran.err + json.dumps(sidecar)
    assert 'test-key' not in everything
    assert 'X-Amz-Signature' not in everything


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


def test_auto_engine_picks_runflow_when_a_key_is_set(
    runflow_env, rgb_png, tmp_path
):
    """With a key, the default engine is Runflow, and it says why."""
    path, _ = rgb_png
    ran = run(str(path), '-o', str(tmp_path / 'o.png'), *SIDES)
    assert ran.code == 0, ran.err
    assert 'API key from $RUNFLOW_API_KEY' in ran.err
    assert '--engine local' in ran.err
    assert len(runflow_env.runs) == 1


def test_failed_run_exits_4_with_the_run_id(runflow_env, rgb_png, tmp_path):
    """A run that ends failed is exit 4, naming the run; nothing written."""
    path, _ = rgb_png
    runflow_env.fail_next_run(failure_code='PROVIDER_ERROR')
    out = tmp_path / 'o.png'
    ran = run(str(path), '-o', str(out), *SIDES, '--engine', 'runflow')
    assert ran.code == _cli.EXIT_RUN_ERROR
    assert runflow_env.runs[0].id in ran.err
    assert 'PROVIDER_ERROR' in ran.err
    assert 'Traceback' not in ran.err
    assert sorted(p.name for p in tmp_path.glob('*.png*')) == ['photo.png']


def test_insufficient_credit_exits_4_with_the_fix(
    runflow_env, rgb_png, tmp_path
):
    """A 402 is exit 4 and tells the user how to top up."""
    path, _ = rgb_png
    runflow_env.reject_creates(status=402, times=1, code='INSUFFICIENT_CREDIT')
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES, '--engine', 'runflow'
    )
    assert ran.code == _cli.EXIT_RUN_ERROR
    assert '402' in ran.err
    assert 'Top up' in ran.err


def test_timeout_exits_5_and_the_run_can_be_collected(
    runflow_env, rgb_png, tmp_path
):
    """A timed-out run is exit 5, stays pending, `collect` fetches it."""
    path, _ = rgb_png
    runflow_env.set_delays(processing_delay=1.0)
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--engine', 'runflow', '--timeout', '0.3',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_CANCELLED, ran.err
    (server_run,) = runflow_env.runs
    assert f'napari-outpaint collect {server_run.id}' in ran.err
    assert f'PENDING  run {server_run.id}' in run('history').out

    collected = tmp_path / 'collected.png'
    ran = run('collect', server_run.id, '-o', str(collected))
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 1  # collected, not paid again
    assert np.asarray(Image.open(collected)).shape == (44, 72, 3)
    history = run('history').out
    assert 'PENDING' not in history
    assert server_run.id in history

    # the same command again is answered from the cache: no second run
    ran = run(
        str(path), '-o', str(tmp_path / 'o.png'), *SIDES,
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert len(runflow_env.runs) == 1
    assert (tmp_path / 'o.png').exists()


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


def test_ctrl_c_during_a_run_exits_130_and_cleans_up(
    runflow_env, rgb_png, tmp_path, monkeypatch
):
    """Ctrl-C while queued cancels, deletes the upload and names the run."""
    import _thread

    path, _ = rgb_png
    runflow_env.set_delays(queue_delay=5.0)
    printer = _cli_console.ProgressPrinter.__call__
    interrupted = []

    def interrupt_when_queued(self, event):
        printer(self, event)
        if event.stage == 'queued' and not interrupted:
            interrupted.append(event.run_id)
            _thread.interrupt_main()  # one Ctrl-C

    monkeypatch.setattr(
        _cli_console.ProgressPrinter, '__call__', interrupt_when_queued
    )
    out = tmp_path / 'o.png'
    ran = run(str(path), '-o', str(out), *SIDES, '--engine', 'runflow')
    assert ran.code == _cli.EXIT_INTERRUPTED, ran.err
    (server_run,) = runflow_env.runs
    assert interrupted == [server_run.id]
    assert f'interrupted: cancelled. Run {server_run.id}' in ran.err
    assert f'napari-outpaint collect {server_run.id}' in ran.err
    assert all(asset.deleted for asset in runflow_env.assets.values())
    assert not out.exists()


# -- runs with the local engine (no key, nothing leaves the machine) ---------


def test_rgb_png_reflect_round_trip(rgb_png, tmp_path):
    """An 8-bit RGB PNG comes back as a PNG superset of the original."""
    path, data = rgb_png
    out = tmp_path / 'out.png'
    ran = run(str(path), '-o', str(out), *SIDES, '--engine', 'reflect')
    assert ran.code == 0, ran.err
    assert 'engine: local reflection padding' in ran.err
    result = np.asarray(Image.open(out))
    assert result.shape == (44, 72, 3)
    np.testing.assert_array_equal(result[4:, 12:], data)
    sidecar = json.loads((tmp_path / 'out.png.json').read_text())
    assert sidecar['provenance']['engine'] == 'local'
    assert sidecar['provenance']['model'] == 'reflect'
    assert sidecar['input']['rgb'] is True


def test_16bit_tiff_keeps_dtype_and_pixel_size(tmp_path):
    """A uint16 TIFF keeps its dtype and pixel size; the sidecar places it."""
    data = (np.arange(30 * 40) * 37 % 60000).reshape(30, 40)
    data = data.astype(np.uint16)
    path = tmp_path / 'grey.tif'
    tifffile.imwrite(
        path, data, resolution=(1e4 / 0.25, 1e4 / 0.25),
        resolutionunit='CENTIMETER',
    )  # fmt: skip
    out = tmp_path / 'out.tif'
    ran = run(str(path), '-o', str(out), *SIDES, '--engine', 'reflect')
    assert ran.code == 0, ran.err
    written = read_image(out)
    assert written.data.dtype == np.uint16
    assert written.scale == pytest.approx((0.25, 0.25))
    assert written.unit == 'µm'
    # top 10% of 30 = 3 rows, left 20% of 40 = 8 columns
    np.testing.assert_array_equal(written.data[3:, 8:], data)
    sidecar = json.loads((tmp_path / 'out.tif.json').read_text())
    assert sidecar['placement']['translate'] == pytest.approx([-0.75, -2.0])
    assert sidecar['placement']['original_offset_px'] == [3.0, 8.0]
    assert sidecar['contrast_limits'] == [float(data.min()), float(data.max())]
    mask = tifffile.imread(tmp_path / 'out.mask.tif')
    assert mask.shape == written.data.shape
    assert (mask[3:, 8:] == 0).all()
    assert (mask[:3] == 255).all()


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


def test_float_tiff_with_nan(tmp_path):
    """A float32 TIFF keeps its dtype, values and NaNs in the original area."""
    data = np.linspace(-1.5, 3.25, 24 * 30, dtype=np.float32).reshape(24, 30)
    data[5, 7] = np.nan
    path = tmp_path / 'f.tif'
    tifffile.imwrite(path, data)
    out = tmp_path / 'out.tif'
    ran = run(str(path), '-o', str(out), *SIDES, '--engine', 'reflect')
    assert ran.code == 0, ran.err
    written = tifffile.imread(out)
    assert written.dtype == np.float32
    # top 10% of 24 = 2 rows, left 20% of 30 = 6 columns
    np.testing.assert_array_equal(written[2:, 6:], data)  # NaN == NaN here
    generated = written[:2]
    assert np.isfinite(generated).all()
    assert generated.min() >= -1.5
    assert generated.max() <= 3.25


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


def test_default_engine_without_key_is_local_patchmatch(tmp_path):
    """With no key, the default is local PatchMatch, and it says so."""
    rng = np.random.default_rng(1)
    data = rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)
    Image.fromarray(data).save(tmp_path / 'small.png')
    out = tmp_path / 'out.png'
    ran = run(str(tmp_path / 'small.png'), '-o', str(out), *SIDES)
    assert ran.code == 0, ran.err
    assert (
        'engine: local PatchMatch (no Runflow key configured; set '
        'RUNFLOW_API_KEY to use Runflow)'
    ) in ran.err
    sidecar = json.loads((tmp_path / 'out.png.json').read_text())
    assert sidecar['provenance']['engine'] == 'local'
    np.testing.assert_array_equal(np.asarray(Image.open(out))[2:, 5:], data)


def test_installed_console_script(tmp_path):
    """The installed `napari-outpaint` script runs a tiny job and --help."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name('napari-outpaint')
    assert script.exists(), 'install the package: pip install -e .'
    helped = subprocess.run(
        [script, '--help'], capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0
    assert 'exit codes:' in helped.stdout
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(tmp_path / 'g.png')
    done = subprocess.run(
        [script, str(tmp_path / 'g.png'), '-o', str(tmp_path / 'o.png'),
         *SIDES, '--engine', 'reflect'],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        str(tmp_path / 'o.png'), str(tmp_path / 'o.mask.png'),
        str(tmp_path / 'o.png.json'),
    ]  # fmt: skip
    bad = subprocess.run(
        [script, str(tmp_path / 'g.png'), '-o', str(tmp_path / 'x.png'),
         '--top', '0', '--bottom', '0', '--left', '0', '--right', '0'],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert 'Traceback' not in bad.stderr


def test_progress_bar_on_a_terminal(rgb_png, tmp_path):
    """On a terminal, progress is one bar redrawn in place, then a newline."""
    path, _ = rgb_png
    err = _TTY()
    code = main(
        [str(path), '-o', str(tmp_path / 'o.png'), *SIDES, '-y',
         '--engine', 'reflect'],
        stdout=io.StringIO(), stderr=err, stdin=io.StringIO(),
    )  # fmt: skip
    assert code == 0
    text = err.getvalue()
    assert '\rphoto [' in text
    assert '] 100%' in text
    assert text.endswith('\n')


def test_native_resolution_keeps_the_upscaled_pixels(
    rgb_png, tmp_path, monkeypatch
):
    """--native-resolution writes the service's upscaled pixels and scale."""
    from napari_outpaint.testing import RunflowStandIn

    path, _ = rgb_png
    with RunflowStandIn(
        api_key='test-key', processing_delay=0.05, upscale_long_side=144
    ) as server:
        monkeypatch.setenv('RUNFLOW_BASE_URL', server.base_url)
        monkeypatch.setenv('RUNFLOW_API_KEY', 'test-key')
        monkeypatch.setenv('SSL_CERT_FILE', str(server.ca_path))
        out = tmp_path / 'o.png'
        ran = run(str(path), '-o', str(out), *SIDES, '--native-resolution')
    assert ran.code == 0, ran.err
    assert np.asarray(Image.open(out)).shape == (88, 144, 3)  # 2 x 44x72
    sidecar = json.loads((tmp_path / 'o.png.json').read_text())
    assert sidecar['output']['native_resolution'] is True
    assert sidecar['placement']['scale'] == [0.5, 0.5]
    # the original pixel (0, 0) spans result pixels 8-9 / 24-25: centre 8.5
    assert sidecar['placement']['original_offset_px'] == [8.5, 24.5]


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
    a, b = _two_pngs(tmp_path)
    runflow_env.fail_next_run(failure_code='PROVIDER_ERROR')
    out = tmp_path / 'out'
    ran = run(a, b, '-o', str(out), *SIDES, '--engine', 'runflow', '--yes')
    assert ran.code == _cli.EXIT_RUN_ERROR
    assert '[1/2] a: Run' in ran.err
    assert 'PROVIDER_ERROR' in ran.err
    assert not (out / 'a.outpainted.png').exists()
    assert (out / 'b.outpainted.png').exists()
    assert len(runflow_env.runs) == 2


def test_pipeline_refusal_names_the_flags_and_sends_nothing(
    runflow_env, tmp_path
):
    """Padding that rounds to 0 px is refused naming the flags, offline."""
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / 'tiny.png')
    ran = run(
        str(tmp_path / 'tiny.png'), '-o', str(tmp_path / 'o.png'),
        '--top', '10', '--bottom', '0', '--left', '0', '--right', '0',
        '--engine', 'runflow',
    )  # fmt: skip
    assert ran.code == _cli.EXIT_USAGE
    assert 'error: --top/--bottom/--left/--right: ' in ran.err
    assert runflow_env.requests == []


# -- cost guard and concurrency settings --------------------------------------


@pytest.fixture
def fresh_session_cap(monkeypatch):
    """A new session spend cap for this test; the previous one comes back."""
    from napari_outpaint._cache import cost as _cost

    monkeypatch.delenv(_cost.SPEND_CAP_ENV, raising=False)
    monkeypatch.setattr(_cost, '_SESSION_CAP', None)
    return monkeypatch


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


@pytest.mark.parametrize(
    ('flag', 'value'),
    [('--concurrency', '0'), ('--concurrency', '33'),
     ('--concurrency', 'x'), ('--spend-cap', '-1'), ('--spend-cap', 'inf')],
)  # fmt: skip
def test_bad_setting_exits_2_naming_the_flag(rgb_png, tmp_path, flag, value):
    """--concurrency outside 1-32 or a bad --spend-cap is a usage error."""
    path, _ = rgb_png
    ran = run(str(path), '-o', str(tmp_path / 'o.png'), *SIDES, flag, value)
    assert ran.code == _cli.EXIT_USAGE
    assert flag in ran.err
    assert 'Traceback' not in ran.err
    assert not (tmp_path / 'o.png').exists()


@pytest.mark.filterwarnings('ignore:The seam around the original')
def test_concurrency_flag_sets_the_batch_workers(
    zstack, tmp_path, monkeypatch
):
    """--plane all --concurrency 3 runs the batch with three workers."""
    from napari_outpaint._batch import outpaint as _batch

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
