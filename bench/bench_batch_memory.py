"""Peak memory of a batch against the stack's size: zarr -> zarr and
zarr -> in memory, for 8, 32 and 128 planes of 2048 x 2048 uint16.

Each case runs in a fresh Python process: it opens the source (a zarr
store on disk, one chunk per plane, made beforehand by another process),
warms up (imports, a 2-plane batch into a small store), reads its
resident set (the baseline), runs ``outpaint_planes`` over every plane
with the local reflection engine (cheap and in this process, so its
memory is counted) at +10 % per side, and reports ``ru_maxrss -
baseline``: the peak the batch added. ``x stack`` is that peak over the
stack's own bytes (planes x 2048 x 2048 x 2). The result of +10 % per
side is 1.44x the stack, so an in-memory result cannot be below about
1.44x.

- ``zarr -> zarr``: ``output='result.zarr'``, each plane written as it
  finishes; should stay flat in the number of planes, below 1x.
- ``zarr -> memory``: the nD result assembled in memory; about the
  result's size (1.44x), at most about 2x.

Each at 1 plane in flight and at the default 4 (``concurrency``). A
plane holds the batch's one memory slot until it is assembled, and the
local engine computes here, so it keeps the slot through its call; each
plane's freed memory is handed back to the system (``malloc_trim``).
So the peak is about one plane's path (117 MB for a 2048 x 2048 uint16
plane at +10 %, see ``bench/bench_memory.py``) at either concurrency
plus, in memory, the result. Measured 2026-12-08: 32 planes, zarr ->
zarr 0.72x / 0.85x the stack (c=1 / c=4), in memory 2.04x / 2.15x; 128
planes 0.19x / 0.19x and 1.59x / 1.61x.

Usage::

    .venv/bin/python bench/bench_batch_memory.py [--planes 8 32 128]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SIDE = 2048
EXPAND = (10, 10, 10, 10)


def _rss_bytes() -> int:
    """The current resident set of this process (Linux /proc)."""
    with open('/proc/self/statm') as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize()


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_source(path: Path, planes: int) -> None:
    """A zarr store of *planes* distinct 2048 x 2048 uint16 planes."""
    import zarr

    array = zarr.create_array(
        str(path),
        shape=(planes, SIDE, SIDE),
        chunks=(1, SIDE, SIDE),
        dtype='uint16',
    )
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    for t in range(planes):
        array[t] = ((yy * 3 + xx * 5 + 97 * t) % 4000).astype(np.uint16)


def measure(
    source: Path, mode: str, out: Path, concurrency: int
) -> dict[str, float]:
    """One case in this process: the peak the batch adds (see above)."""
    import zarr

    from napari_outpaint import Expand
    from napari_outpaint._batch.outpaint import outpaint_planes
    from napari_outpaint.engines.local import LocalEngine

    engine = LocalEngine(method='reflect')
    expand = Expand(*EXPAND)
    data = zarr.open_array(str(source), mode='r')
    limits = (0, 4000)
    warm = np.zeros((2, 64, 64), np.uint16)  # imports, zarr and dask
    outpaint_planes(
        warm,
        expand,
        engine=engine,
        contrast_limits=limits,
        output=out.with_name(f'warm-{out.name}'),
    ).data.compute()
    output = out if mode == 'zarr -> zarr' else None
    baseline = _rss_bytes()
    result = outpaint_planes(
        data,
        expand,
        engine=engine,
        contrast_limits=limits,
        output=output,
        concurrency=concurrency,
    )
    peak = _peak_bytes() - baseline
    assert result.complete, result.summary()
    return {'peak': peak, 'stack': float(np.prod(data.shape) * 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--planes', type=int, nargs='+', default=[8, 32, 128])
    parser.add_argument('--child', nargs=4, help=argparse.SUPPRESS)
    parser.add_argument('--make', nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make_source(Path(args.make[0]), int(args.make[1]))
        return
    if args.child:
        source, mode, out, concurrency = args.child
        peak = measure(Path(source), mode, Path(out), int(concurrency))
        print(json.dumps(peak))
        return
    cases = [
        ('zarr -> zarr', 1),
        ('zarr -> zarr', 4),
        ('zarr -> memory', 1),
        ('zarr -> memory', 4),
    ]
    print('peak RSS above the baseline, MB (x stack); c = planes in flight')
    print(
        f'{"planes":>6} {"stack MB":>9}'
        + ''.join(f'{f"{m}, c={c}":>22}' for m, c in cases)
    )
    with tempfile.TemporaryDirectory() as tmp:
        for planes in args.planes:
            source = Path(tmp) / f'source-{planes}.zarr'
            subprocess.run(
                [sys.executable, __file__, '--make', str(source),
                 str(planes)],
                check=True,
            )  # fmt: skip
            cells = []
            for i, (mode, concurrency) in enumerate(cases):
                out = Path(tmp) / f'result-{planes}-{i}.zarr'
                done = subprocess.run(
                    [sys.executable, __file__, '--child', str(source), mode,
                     str(out), str(concurrency)],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                r = json.loads(done.stdout.strip().splitlines()[-1])
                stack_mb = r['stack'] / 1e6
                cells.append(
                    f'{r["peak"] / 1e6:>14.0f} ({r["peak"] / r["stack"]:.2f}x)'
                )
            print(f'{planes:>6} {stack_mb:>9.0f}' + ''.join(cells))


if __name__ == '__main__':
    main()
