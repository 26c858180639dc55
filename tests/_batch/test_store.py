"""A batch written to a zarr store as planes arrive, against the Runflow
stand-in: lazy reads of the source, resume from the store (and the
cache) without a new run, and outputs refused before any request."""

from __future__ import annotations

import threading

import dask
import dask.array as da
import numpy as np
import pytest
import zarr

from napari_outpaint._batch.outpaint import outpaint_planes
from napari_outpaint._cache.cost import SpendCap
from napari_outpaint._cache.store import ResultCache
from napari_outpaint._errors import (
    BudgetError,
    InvalidInputError,
    OutpaintCancelled,
)
from napari_outpaint._expand import Expand
from napari_outpaint._io import read_store_attrs
from napari_outpaint._pipeline.array import outpaint_array
from napari_outpaint._progress import CancelToken
from napari_outpaint.engines.local import LocalEngine
from napari_outpaint.engines.runflow import RunflowEngine

EXPAND = Expand(top=20, bottom=0, left=25, right=0)
SHAPE = (2, 3, 10, 12)  # (t, z, rows, cols)
LIMITS = (0, 4000)


@pytest.fixture
def engine(runflow_standin):
    return RunflowEngine(
        base_url=runflow_standin.base_url,
        api_key='test-key',
        verify=runflow_standin.ca_path,
    )


@pytest.fixture
def stack():
    rng = np.random.default_rng(7)
    return rng.integers(0, 4000, SHAPE, dtype=np.uint16)


class PlaneReads:
    """A dask stack of one chunk per plane that records each plane read."""

    def __init__(self, data: np.ndarray) -> None:
        self.source = data
        self.reads: list[tuple[int, ...]] = []
        self.lock = threading.Lock()
        lead = data.shape[:-2]
        self.array = da.map_blocks(
            self._block,
            dtype=data.dtype,
            chunks=tuple((1,) * n for n in lead) + data.shape[-2:],
        )

    def _block(self, block_info=None):
        where = block_info[None]['chunk-location'][:-2]
        with self.lock:
            self.reads.append(tuple(where))
        return self.source[tuple(slice(i, i + 1) for i in where)]


def _batch(data, engine, **kw):
    kw.setdefault('confirm', True)
    kw.setdefault('spend_cap', SpendCap())
    return outpaint_planes(data, EXPAND, engine=engine, **kw)


def test_batch_into_a_store_matches_the_in_memory_batch(
    stack, engine, tmp_path
):
    """The same pixels, mask and placement as without output; the data
    is a dask array over the store, and every plane is listed done."""
    path = tmp_path / 'r.zarr'
    kw = {'contrast_limits': LIMITS, 'scale': (2, 3, 0.5, 0.25)}
    in_memory = _batch(stack, engine, cache=ResultCache(), **kw)
    stored = _batch(stack, engine, output=path, cache=ResultCache(), **kw)
    assert isinstance(stored.data, da.Array)
    np.testing.assert_array_equal(stored.data.compute(), in_memory.data)
    np.testing.assert_array_equal(stored.mask.compute(), in_memory.mask)
    assert stored.scale == in_memory.scale
    assert stored.translate == in_memory.translate
    assert stored.filled.all()
    record = read_store_attrs(path)
    assert sorted(map(tuple, record['planes_done'])) == sorted(
        np.ndindex(*SHAPE[:2])
    )
    assert (
        record['provenance']['batch']['id']
        == (stored.provenance['batch']['id'])
    )


@pytest.mark.parametrize('stop', ['cancel', '402'])
def test_interrupted_store_batch_resumes_without_a_run_for_its_planes(
    stack, engine, runflow_standin, tmp_path, stop
):
    """Stopped after 2 planes (a cancel, or a 402), the batch resumes
    into the same store with a new, empty cache: the 2 planes it holds
    are not sent again; only the other 4 make runs."""
    path = tmp_path / 'r.zarr'
    cancel = CancelToken()

    stopped = []

    def on_progress(event):
        if event.plane and event.finished == 2 and not stopped:
            stopped.append(stop)  # once: later reports see 2 finished too
            if stop == 'cancel':
                cancel.cancel()
            else:
                runflow_standin.reject_creates(
                    status=402, code='INSUFFICIENT_CREDIT', times=1
                )

    first = _batch(
        stack,
        engine,
        output=path,
        cache=ResultCache(tmp_path / 'cache-1'),
        concurrency=1,
        cancel=cancel,
        progress=on_progress,
        contrast_limits=LIMITS,
    )
    assert first.filled.sum() == 2
    if stop == 'cancel':
        assert isinstance(first.stopped_by, OutpaintCancelled)
    done_first = {tuple(p) for p in read_store_attrs(path)['planes_done']}
    assert len(done_first) == 2
    assert len(runflow_standin.runs) == 2

    estimates = []
    second = _batch(
        stack,
        engine,
        output=path,
        cache=ResultCache(tmp_path / 'cache-2'),  # nothing cached
        confirm=lambda e: estimates.append(e) or True,
        contrast_limits=LIMITS,
    )
    assert len(runflow_standin.runs) == 6  # 4 new runs, not 6
    assert estimates[0].n_planes == 4
    status = {o.plane: o.status for o in second.outcomes}
    assert {p for p, s in status.items() if s == 'stored'} == done_first
    assert list(status.values()).count('done') == 4
    assert second.complete
    assert second.cost_usd == pytest.approx(4 * 0.55)
    reference = _batch(
        stack, engine, cache=ResultCache(tmp_path / 'cache-2'),
        contrast_limits=LIMITS,
    )  # fmt: skip
    np.testing.assert_array_equal(second.data.compute(), reference.data)


def test_planes_in_the_cache_fill_a_new_store_for_free(
    stack, engine, runflow_standin, tmp_path
):
    """A batch run without output, then into a store: the store is filled
    from the paid-result cache, with no new run."""
    cache = ResultCache()
    _batch(stack, engine, cache=cache, contrast_limits=LIMITS)
    assert len(runflow_standin.runs) == 6
    result = _batch(
        stack,
        engine,
        cache=cache,
        output=tmp_path / 'r.zarr',
        contrast_limits=LIMITS,
    )
    assert len(runflow_standin.runs) == 6
    assert {o.status for o in result.outcomes} == {'cached'}
    assert result.filled.all()


def test_bad_outputs_are_refused_before_any_request(
    stack, engine, runflow_standin, tmp_path, read_only_dir
):
    """Not our store, a store of another expansion or source, a
    read-only folder: an error naming output, and nothing sent."""
    declined = tmp_path / 'declined.zarr'
    with pytest.raises(BudgetError):
        _batch(stack, engine, output=declined, confirm=None)
    assert not declined.exists()
    plain = tmp_path / 'plain.zarr'
    zarr.open_group(str(plain), mode='w')
    with pytest.raises(InvalidInputError, match='^output: .*not a napari'):
        _batch(stack, engine, output=plain, cache=ResultCache())
    with pytest.raises(InvalidInputError, match='^output: cannot write'):
        _batch(stack, engine, output=read_only_dir / 'r.zarr')
    assert runflow_standin.requests == []

    local = LocalEngine(method='reflect')
    path = tmp_path / 'r.zarr'
    _batch(stack, local, output=path, contrast_limits=LIMITS)
    with pytest.raises(InvalidInputError, match='another expansion'):
        outpaint_planes(
            stack, Expand(10, 0, 0, 0), engine=local, output=path,
            contrast_limits=LIMITS,
        )  # fmt: skip
    with pytest.raises(InvalidInputError, match='first_plane_sha256'):
        _batch(stack[:, ::-1], local, output=path, contrast_limits=LIMITS)
    with pytest.raises(InvalidInputError, match='another engine'):
        _batch(stack, engine, output=path, contrast_limits=LIMITS)
    assert runflow_standin.requests == []


def test_a_lazy_stack_is_read_one_plane_at_a_time(stack, tmp_path):
    """Every read of a dask stack computes one plane: each plane once for
    the run, plus the first plane once to fingerprint the store; with no
    contrast limits, the shared window reads each plane once more."""
    planes = sorted(np.ndindex(*SHAPE[:2]))
    reads = PlaneReads(stack)
    local = LocalEngine(method='reflect')
    result = _batch(
        reads.array, local, output=tmp_path / 'a.zarr', contrast_limits=LIMITS
    )
    assert result.complete
    assert sorted(reads.reads) == sorted([*planes, planes[0]])

    reads.reads.clear()
    _batch(reads.array, local, output=tmp_path / 'b.zarr')
    assert sorted(reads.reads) == sorted([*planes, *planes, planes[0]])

    reads.reads.clear()
    with dask.config.set(scheduler='sync'):
        outpaint_array(reads.array, EXPAND, engine=local, plane=(1, 2))
    assert reads.reads == [(1, 2)]


def test_an_rgb_stack_goes_to_a_store_with_a_colour_axis(tmp_path):
    """RGB planes keep their colour axis (last, NGFF type channel); the
    mask has the layer's axes only."""
    rgb = np.random.default_rng(2).integers(0, 255, (2, 10, 12, 3), np.uint8)
    local = LocalEngine(method='reflect')
    path = tmp_path / 'rgb.zarr'
    stored = _batch(rgb, local, output=path)
    in_memory = _batch(rgb, local)
    np.testing.assert_array_equal(stored.data.compute(), in_memory.data)
    assert stored.mask.shape == in_memory.data.shape[:-1]
    axes = zarr.open_group(str(path), mode='r').attrs['ome']['multiscales'][0][
        'axes'
    ]
    assert [a['name'] for a in axes] == ['z', 'y', 'x', 'rgb']
