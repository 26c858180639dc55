"""What a command-line run writes: the result, its mask and the sidecar.

What this file checks
---------------------
- The result holds the original pixels exactly where the sidecar's
  placement says, in the input's dtype (uint8, uint16, float32 with
  NaN) and pixel size.
- The mask marks the generated pixels (255) and only those.
- ``--native-resolution`` keeps the service's upscaled pixels and scale.
- Neither the API key nor a presigned signature ends up in what is
  printed or written.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from cli_runner import SIDES, run
from napari_outpaint._io.files import read_image
from napari_outpaint.testing import RunflowStandIn


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


def test_native_resolution_keeps_the_upscaled_pixels(
    rgb_png, tmp_path, monkeypatch
):
    """--native-resolution writes the service's upscaled pixels and scale."""

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
