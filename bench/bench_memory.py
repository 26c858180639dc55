"""Peak memory of one plane's path, as ratios against a floor and the plane.

For each case, ``outpaint_array`` runs once under ``tracemalloc`` (numpy's
allocations are traced) with the reflect engine (no engine memory worth
speaking of beyond its canvas), at +10 % per side. Reported:

- ``peak / plane``: the multiple of the plane's own bytes (README states
  it; the first release measured 60x for a uint8 greyscale plane);
- ``peak / floor``: against the arrays any implementation must hold at
  once, measured in the same run: the 8-bit RGB sent, the engine's RGB
  canvas, the result in the plane's dtype and its mask;
- ``peak / estimate``: against ``plane_peak_bytes``, the estimate that
  refuses planes which cannot fit (must stay <= 1).

Usage::

    .venv/bin/python bench/bench_memory.py [--size 4000]
"""

from __future__ import annotations

import argparse
import tracemalloc

import numpy as np

from napari_outpaint import Expand, outpaint_array
from napari_outpaint._pipeline.memory import plane_peak_bytes
from napari_outpaint.engines.local import LocalEngine

EXPAND = Expand(10, 10, 10, 10)


def measure(shape: tuple[int, ...], dtype: str) -> dict[str, float]:
    """Peak traced bytes of one ``outpaint_array`` call, and its yardsticks."""
    rng = np.random.default_rng(0)
    data = rng.integers(0, 200, shape).astype(dtype)
    rgb = len(shape) == 3
    rows, cols = shape[:2]
    canvas = EXPAND.canvas_shape(rows, cols)
    canvas_px = canvas[0] * canvas[1]
    pixel = data.itemsize * (shape[2] if rgb else 1)
    floor = 3 * rows * cols + 3 * canvas_px + (pixel + 1) * canvas_px
    estimate = plane_peak_bytes(
        (rows, cols), canvas, dtype=data.dtype, channels=shape[2] if rgb else 1
    )
    engine = LocalEngine(method='reflect')
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        outpaint_array(data, EXPAND, engine=engine)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {
        'plane_mb': data.nbytes / 1e6,
        'peak_mb': peak / 1e6,
        'per_plane': peak / data.nbytes,
        'per_floor': peak / floor,
        'per_estimate': peak / estimate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=4000)
    n = parser.parse_args().size
    cases = [
        ((n, n), 'uint8'),
        ((n, n), 'uint16'),
        ((n, n), 'float32'),
        ((n // 2, n // 2, 3), 'uint8'),
    ]
    print(
        f'{"case":<22}{"plane MB":>10}{"peak MB":>10}{"/plane":>8}'
        f'{"/floor":>8}{"/estimate":>11}'
    )
    for shape, dtype in cases:
        r = measure(shape, dtype)
        name = f'{"x".join(map(str, shape))} {dtype}'
        print(
            f'{name:<22}{r["plane_mb"]:>10.1f}{r["peak_mb"]:>10.1f}'
            f'{r["per_plane"]:>8.1f}{r["per_floor"]:>8.2f}'
            f'{r["per_estimate"]:>11.2f}'
        )


if __name__ == '__main__':
    main()
