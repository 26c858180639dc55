"""The memory of one plane's path: bounded, estimated, refused when too big.

What this file checks
---------------------
- A plane's path (conversion, engine, back to its dtype, seam score)
  peaks below :func:`plane_peak_bytes`, the estimate README states; the
  first release peaked at 60x a uint8 plane, four times over it.
- A canvas above the limit (``NAPARI_OUTPAINT_MAX_PIXELS``) or a peak
  above the memory available is refused before the engine is called,
  naming the limit and how to raise it.
"""

from __future__ import annotations

import platform
import tracemalloc

import numpy as np
import pytest

from fakes import FakeEngine
from napari_outpaint import Expand, outpaint_array
from napari_outpaint._errors import ConfigurationError, InvalidInputError
from napari_outpaint._pipeline import memory
from napari_outpaint._pipeline.memory import (
    MAX_PIXELS_ENV,
    check_plane_fits,
    max_pixels_setting,
    plane_peak_bytes,
)
from napari_outpaint.engines.local import LocalEngine

EXPAND = Expand(10, 10, 10, 10)


@pytest.mark.parametrize(
    ('shape', 'dtype'),
    [((1200, 1000), np.uint8), ((1000, 900), np.uint16),
     ((800, 900, 3), np.uint8), ((700, 600), np.float32)],
)  # fmt: skip
def test_a_planes_path_peaks_below_the_estimate(shape, dtype):
    """Measured with tracemalloc over outpaint_array (reflect engine)."""
    data = np.random.default_rng(0).integers(0, 200, shape).astype(dtype)
    rgb = len(shape) == 3
    canvas = EXPAND.canvas_shape(*shape[:2])
    estimate = plane_peak_bytes(
        shape[:2], canvas, dtype=data.dtype, channels=shape[2] if rgb else 1
    )
    engine = LocalEngine(method='reflect')
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        outpaint_array(data, EXPAND, engine=engine)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= estimate, f'peak {peak / data.nbytes:.1f}x the plane'


def test_a_canvas_above_the_limit_is_refused_before_the_engine(monkeypatch):
    """The limit from the environment; the message says how to raise it."""
    monkeypatch.setenv(MAX_PIXELS_ENV, '1000')
    engine = FakeEngine()
    with pytest.raises(InvalidInputError) as info:
        outpaint_array(np.zeros((40, 40), np.uint8), EXPAND, engine=engine)
    assert info.value.field == 'max_pixels'
    assert MAX_PIXELS_ENV in str(info.value)
    assert '--max-pixels' in str(info.value)
    assert engine.calls == []


def test_a_plane_that_cannot_fit_in_memory_is_refused(monkeypatch):
    """Estimated peak above what is available: refused, both sizes said."""
    monkeypatch.setattr(memory, 'available_memory_bytes', lambda: 10**8)
    with pytest.raises(InvalidInputError, match='95 MB is available'):
        check_plane_fits(
            (5000, 5000), EXPAND, dtype=np.dtype(np.uint8), channels=1
        )
    check_plane_fits((100, 100), EXPAND, dtype=np.dtype(np.uint8), channels=1)


@pytest.mark.parametrize('text', ['lots', '0', '-5'])
def test_an_invalid_limit_setting_is_a_configuration_error(monkeypatch, text):
    """A bad ``NAPARI_OUTPAINT_MAX_PIXELS`` names itself."""
    monkeypatch.setenv(MAX_PIXELS_ENV, text)
    with pytest.raises(ConfigurationError, match=MAX_PIXELS_ENV):
        max_pixels_setting()
    assert max_pixels_setting(5) == 5


def test_freed_memory_is_handed_back_on_glibc(monkeypatch):
    """On glibc (this machine) ``malloc_trim`` is found and called once per
    call; elsewhere the call is a no-op."""
    calls = []
    monkeypatch.setattr(
        memory, '_malloc_trim', lambda: lambda pad: calls.append(pad)
    )
    memory.return_freed_memory()
    assert calls == [0]
    monkeypatch.undo()
    if platform.libc_ver()[0] == 'glibc':
        assert memory._malloc_trim() is not None
    memory.return_freed_memory()  # the real one: never raises
