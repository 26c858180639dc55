"""A border copied from the source gets the source's own values back."""

import numpy as np
import pytest

from napari_outpaint._imaging import depth
from napari_outpaint._imaging.depth import restore_depth


def _deep(shape=(64, 80), seed=0):
    """uint16 whose 8-bit view (>> 8) is noise: unique neighbourhoods."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 65535, shape, dtype=np.uint16)
    return values, (values >> 8).astype(np.uint8)


def test_pixels_copied_unflipped_get_exactly_their_source_values():
    """A canvas made of shifted copies of the source (as PatchMatch
    copies patches): each border pixel gets the value it was copied
    from."""
    values, view = _deep()
    canvas8 = np.zeros((64, 140), np.uint8)
    canvas8[:, :80] = view
    canvas8[:, 80:] = view[:, 10:70]  # copied, shifted by 70 columns
    hole = np.zeros(canvas8.shape, bool)
    hole[:, 80:] = True
    found, ok, exact = restore_depth(view, canvas8, values, hole)
    assert ok.all()
    inner = np.s_[1:-1, 81:-1]  # away from the copy's own edges
    expect = values[:, 10:70]
    got = found.reshape(64, 60)
    np.testing.assert_array_equal(got[1:-1, 1:-1], expect[1:-1, 1:-1])
    assert exact >= hole[inner].sum()


def test_every_value_is_the_sources_and_the_depth_is_kept():
    """A smooth 16-bit ramp, mirrored out (no exact neighbourhoods): the
    border takes source values of the same 8-bit level, far more than
    256 distinct ones."""
    values = np.linspace(0, 65535, 128 * 128).reshape(128, 128)
    values = values.astype(np.uint16)
    view = (values >> 8).astype(np.uint8)
    canvas8 = np.pad(view, 20, mode='symmetric')
    hole = np.ones(canvas8.shape, bool)
    hole[20:-20, 20:-20] = False
    found, ok, _ = restore_depth(view, canvas8, values, hole)
    assert ok.all()
    assert np.isin(found, values).all()
    assert len(np.unique(found)) > 256
    assert ((found >> 8) == canvas8[hole]).all()  # the level is kept


def test_a_level_the_source_lacks_keeps_the_engines_value():
    values, view = _deep()
    view = np.minimum(view, 200)
    canvas8 = np.full((70, 80), 250, np.uint8)  # no source pixel is 250
    canvas8[3:67] = view
    hole = np.zeros(canvas8.shape, bool)
    hole[:3] = hole[67:] = True
    _, ok, exact = restore_depth(view, canvas8, values, hole)
    assert not ok.any()
    assert exact == 0


def test_a_large_source_is_subsampled_and_still_gives_source_values(
    monkeypatch,
):
    monkeypatch.setattr(depth, 'MAX_KEYS', 500)
    monkeypatch.setattr(depth, 'QUERY_CHUNK', 64)
    values, view = _deep((100, 100), seed=3)
    canvas8 = np.pad(view, 8, mode='symmetric')
    hole = np.ones(canvas8.shape, bool)
    hole[8:-8, 8:-8] = False
    found, ok, _ = restore_depth(view, canvas8, values, hole)
    assert len(found) == hole.sum()
    assert ok.all()  # every level of the source has a pixel to give
    assert np.isin(found, values).all()


@pytest.mark.parametrize('dtype', [np.float32, np.int32])
def test_other_deep_dtypes_come_back_as_they_are(dtype):
    values, view = _deep((40, 40))
    values = values.astype(dtype) / 7 if dtype == np.float32 else values
    values = values.astype(dtype)
    canvas8 = np.pad(view, 4, mode='symmetric')
    hole = np.ones(canvas8.shape, bool)
    hole[4:-4, 4:-4] = False
    found, ok, _ = restore_depth(view, canvas8, values, hole)
    assert found.dtype == np.dtype(dtype)
    assert np.isin(found[ok], values).all()


def test_source_positions_point_at_pixels_of_the_same_guide_colour():
    """A canvas copied from the source (rows moved, one column mirrored)
    gets, per border pixel, a source pixel with exactly its guide colour;
    a neighbourhood copied whole is matched to its own pixel."""
    from napari_outpaint._imaging import source_positions

    rng = np.random.default_rng(7)
    source = rng.integers(0, 256, (60, 70, 3)).astype(np.uint8)
    canvas = np.zeros((75, 70, 3), np.uint8)
    canvas[15:] = source
    canvas[:15] = source[30:45]
    hole = np.zeros((75, 70), bool)
    hole[:15] = True
    rows, cols, exact = source_positions(source, canvas, hole)
    np.testing.assert_array_equal(source[rows, cols], canvas[hole])
    assert exact > 0.7 * hole.sum()
    inner = np.zeros_like(hole)
    inner[2:13, 1:69] = True  # neighbourhoods wholly inside the copy
    picked_r = np.empty(hole.shape, int)
    picked_r[hole] = rows
    np.testing.assert_array_equal(picked_r[inner], (np.nonzero(inner)[0] + 30))


def test_source_positions_fall_back_to_the_nearest_level():
    from napari_outpaint._imaging import source_positions

    source = np.full((10, 10), 100, np.uint8)
    source[:5] = 200
    canvas = np.full((12, 10), 130, np.uint8)  # a level the source lacks
    canvas[2:] = source
    hole = np.zeros((12, 10), bool)
    hole[:2] = True
    rows, cols, exact = source_positions(source, canvas, hole)
    assert exact == 0
    assert (source[rows, cols] == 100).all()  # 100 is nearer 130 than 200
