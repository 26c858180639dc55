"""Fixtures of the command-line tests: input images and a Runflow setup."""

import numpy as np
import pytest
import tifffile
from PIL import Image


@pytest.fixture
def rgb_png(tmp_path):
    """A 40 x 60 random RGB PNG, ``photo.png``: (path, pixels)."""
    rng = np.random.default_rng(0)
    data = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    path = tmp_path / 'photo.png'
    Image.fromarray(data).save(path)
    return path, data


@pytest.fixture
def zstack(tmp_path):
    """A 3 x 24 x 32 uint16 ImageJ z-stack (0.5 um pixels, 2 um spacing)."""
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


@pytest.fixture
def runflow_env(runflow_standin, monkeypatch):
    """The Runflow stand-in, with the environment pointing the CLI at it."""
    monkeypatch.setenv('RUNFLOW_BASE_URL', runflow_standin.base_url)
    monkeypatch.setenv('RUNFLOW_API_KEY', 'test-key')
    monkeypatch.setenv('SSL_CERT_FILE', str(runflow_standin.ca_path))
    return runflow_standin
