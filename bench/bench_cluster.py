"""The local engine on a Dask LocalCluster vs its own worker processes.

Run from a fresh clone (needs ``distributed``)::

    .venv/bin/python bench/bench_cluster.py            # 8 planes, ~2 min
    .venv/bin/python bench/bench_cluster.py --quick    # 4 planes, 256^2

Measures, in one run, a batch of N uint8 planes (512 x 512, +30 % per
side: a coarse-to-fine PatchMatch fill in two parts, ~400 000 border
pixels a plane) through ``outpaint_planes``:

1. **local**: ``LocalEngine()`` with no client: each plane in flight
   starts two PatchMatch worker processes here (today's path; 4 planes
   in flight by default);
2. **cluster**: ``LocalEngine(client=...)`` on a ``LocalCluster`` of 2
   worker processes with one thread each, warmed up first (the workers
   have imported napari-outpaint and PyPatchMatch); each plane is one
   task filling both parts in the worker's thread.

and prints the throughput (planes/s) of both and their ratio
(cluster / local), alternating the two, median of ``--repeats``. From the
cluster's own task stream it reads the workers' compute time, so it also
prints what stays on this machine per plane (the serial part: the
pipeline's conversion of the plane and of the result, which runs one
plane at a time, submitting, receiving and the assembly), and the
scaling that follows on paper:

    wall(N workers) ~ planes x max(serial, compute / N) + start-up

so throughput grows with N until ``N* = compute / serial`` workers, where
this machine's serial share becomes the bound.

Measured on the 2-core dev box while other jobs ran on it (load 5-12),
8 planes, three runs of the script: throughput ratio cluster / local of
the medians 1.40, 0.90, 1.56 (alternating pairs 0.69-1.59): on two cores
both paths keep both cores busy, so the ratio is about 1 within this
box's noise. Worker compute 5.6-6.8 s per plane (18 s under the heaviest
load); this machine's share per plane 0.031 s (pipeline 0.018 s, plane
out and canvas back 0.013 s), so on paper throughput grows with the
workers until the 32 planes a batch keeps in flight, long before the
serial share (N* ~ 200) binds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings

import numpy as np

from napari_outpaint._batch.outpaint import outpaint_planes
from napari_outpaint._cache.store import ResultCache
from napari_outpaint._expand import Expand
from napari_outpaint.engines import LocalEngine

EXPAND = Expand(top=30, bottom=30, left=30, right=30)


def _planes(n: int, size: int) -> np.ndarray:
    """*n* distinct 1/f-noise uint8 planes (texture PatchMatch can copy)."""
    rng = np.random.default_rng(0)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1.0
    planes = []
    for _ in range(n):
        spectrum = rng.normal(size=radius.shape) + 1j * rng.normal(
            size=radius.shape
        )
        noise = np.fft.irfft2(spectrum / radius**1.1, s=(size, size))
        planes.append((noise - noise.min()) / np.ptp(noise) * 255)
    return np.stack(planes).astype(np.uint8)


def _batch_seconds(data, engine, cache) -> float:
    started = time.perf_counter()
    result = outpaint_planes(
        data, EXPAND, engine=engine, cache=cache, contrast_limits=(0, 255)
    )
    seconds = time.perf_counter() - started
    assert result.complete, result.summary()
    return seconds


def _compute_seconds(records) -> float:
    """Worker compute time of the plane tasks in a task stream."""
    total = 0.0
    for record in records:
        if not str(record['key']).startswith('napari-outpaint-fill'):
            continue
        for part in record['startstops']:
            if part['action'] == 'compute':
                total += part['stop'] - part['start']
    return total


def _round_trip_seconds(client, plane, repeats: int = 5) -> float:
    """One plane's RGB out and a canvas-sized array back, no fill."""
    image = np.ascontiguousarray(np.repeat(plane[..., None], 3, axis=2))
    pad = ((EXPAND.top * plane.shape[0] // 100,) * 2,) * 2 + ((0, 0),)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        client.submit(np.pad, image, pad, pure=False).result()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter('ignore', UserWarning)  # seam notes: not timed
    import distributed  # optional dependency: only this benchmark needs it

    n, size = (4, 256) if args.quick else (8, 512)
    data = _planes(n, size)
    with tempfile.TemporaryDirectory() as folder:
        cache = ResultCache(folder)  # unused by the free engine; isolated
        started = time.perf_counter()
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host='127.0.0.1',
            dashboard_address='127.0.0.1:0',
        )
        client = distributed.Client(cluster, set_as_default=False)
        start_up = time.perf_counter() - started
        warm = time.perf_counter()
        _batch_seconds(_planes(2, 64), LocalEngine(client=client), cache)
        warm = time.perf_counter() - warm
        # the pipeline alone (reflection, instant): this machine's share
        here_only = _batch_seconds(data, LocalEngine('reflect'), cache)
        transfer = _round_trip_seconds(client, data[0])
        local, remote, compute = [], [], []
        try:
            for _ in range(args.repeats):
                local.append(_batch_seconds(data, LocalEngine(), cache))
                with distributed.get_task_stream(client) as stream:
                    remote.append(
                        _batch_seconds(data, LocalEngine(client=client), cache)
                    )
                compute.append(_compute_seconds(stream.data))
        finally:
            client.close()
            cluster.close()
    t_local, t_remote = statistics.median(local), statistics.median(remote)
    ratios = [a / b for a, b in zip(local, remote, strict=True)]
    per_plane = statistics.median(compute) / n
    beyond = max(0.0, t_remote - per_plane * n / 2) / n
    serial = here_only / n + transfer
    print(f'{n} planes {size}x{size} uint8, {EXPAND}')
    print(
        f'cluster start-up {start_up:.2f} s, first tiny batch (workers '
        f'import napari-outpaint) {warm:.2f} s'
    )
    print(
        f'local processes : {t_local:6.2f} s  {n / t_local:.3f} planes/s  '
        f'(runs {", ".join(f"{t:.2f}" for t in local)})'
    )
    print(
        f'LocalCluster x 2: {t_remote:6.2f} s  {n / t_remote:.3f} planes/s  '
        f'(runs {", ".join(f"{t:.2f}" for t in remote)})'
    )
    print(
        f'throughput ratio cluster / local: {t_local / t_remote:.2f} '
        f'(medians); per alternating pair '
        f'{", ".join(f"{r:.2f}" for r in ratios)}'
    )
    print(
        f'worker compute per plane {per_plane:.2f} s; on this machine per '
        f'plane: the pipeline (conversion, assembly; reflect) '
        f'{here_only / n:.3f} s + a plane out and its canvas back '
        f'{transfer:.3f} s = {serial:.3f} s; wall beyond compute / 2 '
        f'{beyond:.3f} s per plane'
    )
    limit = per_plane / max(serial, 1e-3)
    print(
        f'on paper: wall(N) ~ {n} x max({serial:.3f}, {per_plane:.2f} / N) '
        f's + start-up: throughput grows until N* ~ {limit:.0f} workers, '
        'or 32 (the planes a batch keeps in flight), whichever is less'
    )


if __name__ == '__main__':
    main()
