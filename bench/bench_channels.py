"""Channels together against the Runflow stand-in (not a test).

Run from a fresh clone::

    .venv/bin/python bench/bench_channels.py            # 1024 x 1024
    .venv/bin/python bench/bench_channels.py --quick    # 512 x 512

Measures, for one 3-channel uint16 plane of SIZE x SIZE, in one run of
this script (the same server, the same expansion, alternating so that a
busy machine slows all alike; a fresh cache each time, so every run is
paid):

1. runs: channels together (``outpaint_layers``) vs the channels one by
   one (``outpaint_layer`` each): 1 vs 3;
2. wall time of the channels together divided by the median time of one
   single-channel run of the same size (the baseline); target <= 1.2.
   The extra work is composing the three 8-bit views into the R, G, B
   and splitting the result back into three dtypes.

Measured on the 2-core dev box (shared with other jobs), stand-in service
delay 0.3 s, 1024 x 1024 uint16: runs 1 together vs 3 one by one, every
time; together / single 1.17 and 1.21 (5 repeats), 1.27 (9 repeats), so
around the 1.2 target, not reliably under it. The difference (0.15-0.25 s)
is the PNG of three independent channels (0.21 s vs 0.12 s to encode, and
a larger download to decode), composing three 8-bit views (0.06 s vs
0.01 s) and, at times, one more poll interval; it is fixed per plane, so
against Runflow's real run times (seconds) the ratio tends to 1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from functools import partial

import numpy as np
from napari.layers import Image

from napari_outpaint._expand import Expand
from napari_outpaint._layers.channels import outpaint_layers
from napari_outpaint._layers.outpaint import outpaint_layer
from napari_outpaint.engines.runflow import RunflowEngine
from napari_outpaint.testing import RunflowStandIn

EXPAND = Expand(top=10, bottom=0, left=10, right=0)


def _channels(size: int, seed: int) -> list[Image]:
    """Three smooth-ish uint16 channels of different ranges."""
    rng = np.random.default_rng(seed)
    ramp = np.add.outer(np.arange(size), np.arange(size)).astype(np.int64)
    layers = []
    for k in range(3):
        noise = rng.integers(0, 64, (size, size))
        data = ((ramp * (k + 1) + noise) % (4000 * (k + 1))).astype(np.uint16)
        layers.append(Image(data, name=f'c{k}'))
    return layers


def _engine(server: RunflowStandIn) -> RunflowEngine:
    return RunflowEngine(
        base_url=server.base_url, api_key='bench-key', verify=server.ca_path
    )


def _measure(server, call, *args) -> tuple[float, int]:
    """Seconds and stand-in runs of ``call(*args)`` with a fresh cache."""
    with tempfile.TemporaryDirectory() as cache:
        os.environ['NAPARI_OUTPAINT_CACHE_DIR'] = cache
        before = len(server.runs)
        started = time.perf_counter()
        call(*args)
        return time.perf_counter() - started, len(server.runs) - before


def _one_by_one(layers, engine) -> None:
    for layer in layers:
        outpaint_layer(layer, EXPAND, engine=engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    size = 512 if args.quick else 1024
    single, together, one_by_one = [], [], []
    runs_together = runs_one_by_one = 0
    with RunflowStandIn(
        api_key='bench-key', processing_delay=0.3, queue_delay=0.0
    ) as server:
        engine = _engine(server)
        for repeat in range(args.repeats):
            layers = _channels(size, seed=repeat)
            seconds, _ = _measure(
                server,
                partial(outpaint_layer, engine=engine),
                layers[0],
                EXPAND,
            )
            single.append(seconds)
            seconds, runs_together = _measure(
                server, partial(outpaint_layers, engine=engine), layers, EXPAND
            )
            together.append(seconds)
            seconds, runs_one_by_one = _measure(
                server, _one_by_one, layers, engine
            )
            one_by_one.append(seconds)
    base = statistics.median(single)
    print(f'3-channel uint16 plane {size} x {size}, {args.repeats} repeats')
    print(f'{"":28}{"runs":>6}{"median s":>10}{"x single":>10}')
    for label, runs, times in (
        ('one channel (baseline)', 1, single),
        ('3 channels together', runs_together, together),
        ('3 channels one by one', runs_one_by_one, one_by_one),
    ):
        median = statistics.median(times)
        print(f'{label:28}{runs:>6}{median:>10.2f}{median / base:>10.2f}')
    ratio = statistics.median(together) / base
    verdict = 'ok' if ratio <= 1.2 else 'ABOVE TARGET'
    print(f'together / single = {ratio:.2f} (target <= 1.2: {verdict})')


if __name__ == '__main__':
    main()
