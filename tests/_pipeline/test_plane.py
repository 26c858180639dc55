"""One plane's path: a deep border takes the source's own values when
the engine copies the source's pixels, else it keeps 8 bits."""

import numpy as np
import pytest

from fakes import FakeEngine
from napari_outpaint import Expand, outpaint_array
from napari_outpaint.engines.local import LocalEngine

EXPAND = Expand(top=20, bottom=20, left=25, right=25)


def _ramp(dtype):
    values = np.linspace(0, 60000, 96 * 128).reshape(96, 128)
    return (
        (values + np.random.default_rng(1).normal(0, 30, values.shape))
        .clip(0, 65535)
        .astype(dtype)
    )


@pytest.mark.parametrize('dtype', [np.uint16, np.float32])
def test_a_copying_engine_gives_the_border_the_sources_values(dtype):
    data = _ramp(dtype)
    result = outpaint_array(data, EXPAND, engine=LocalEngine(method='reflect'))
    border = result.data[result.mask]
    inner = ~result.mask
    np.testing.assert_array_equal(result.data[inner].reshape(data.shape), data)
    assert np.isin(border, data).all()
    assert len(np.unique(border)) > 256
    bits = 8 * np.dtype(dtype).itemsize
    assert result.provenance['generated_bits'] == bits
    assert result.provenance['source_values'] == 1.0


def test_an_engine_that_makes_new_pixels_keeps_8_bits():
    """An engine that does not say it copies (as Runflow): at most 256
    levels in the border, and the provenance says 8 bits."""
    data = _ramp(np.uint16)
    result = outpaint_array(data, EXPAND, engine=FakeEngine())
    assert len(np.unique(result.data[result.mask])) <= 256
    assert result.provenance['generated_bits'] == 8
    assert result.provenance['source_values'] is None


def test_an_8_bit_plane_is_left_as_the_engine_made_it():
    data = (_ramp(np.uint16) >> 8).astype(np.uint8)
    result = outpaint_array(data, EXPAND, engine=LocalEngine(method='reflect'))
    assert result.provenance['generated_bits'] == 8
    assert result.provenance['source_values'] is None


def test_patchmatch_copies_so_its_border_has_the_sources_values():
    data = _ramp(np.uint16)
    result = outpaint_array(data, EXPAND, engine=LocalEngine(workers=0))
    border = result.data[result.mask]
    assert result.engine_result.model == 'patchmatch'
    assert np.isin(border, data).all()
    assert len(np.unique(border)) > 256
    assert result.provenance['generated_bits'] == 16
