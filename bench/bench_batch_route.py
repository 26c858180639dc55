"""Runflow's batch route against single runs, on the stand-in (not a test).

A batch of planes through ``outpaint_planes`` and a ``RunflowEngine``,
both ways in the same run, for 8 and 32 planes: single runs
(``batch_route='off'``, at the batch's default concurrency and at the
route's), and the batch route (``batch_route='auto'``: one ``POST
/v1/models/runflow/outpaint/batches`` per group, one id polled). For each:
every HTTP request the stand-in saw (API and storage), by route, per
plane, and the wall time. Runs take 3-4 s on the stand-in (real ones take
20-60 s: more polls per run, so the single runs' share grows).

Usage::

    .venv/bin/python bench/bench_batch_route.py [--planes 8 32] [--delay 3]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from napari_outpaint._batch.outpaint import (
    DEFAULT_CONCURRENCY,
    outpaint_planes,
)
from napari_outpaint._cache.cost import SpendCap
from napari_outpaint._cache.store import ResultCache
from napari_outpaint._expand import Expand
from napari_outpaint.engines.runflow import RunflowEngine
from napari_outpaint.engines.runflow_batch import BATCH_ROUTE_IN_FLIGHT
from napari_outpaint.testing import RunflowStandIn

EXPAND = Expand(top=10, bottom=0, left=10, right=0)
_ID = re.compile(r'[0-9a-fA-F-]{36}')
#: (label, batch_route, concurrency)
WAYS = (
    (f'single runs, {DEFAULT_CONCURRENCY} in flight', 'off', None),
    (f'single runs, {BATCH_ROUTE_IN_FLIGHT} in flight', 'off', 16),
    (f'batch route, {BATCH_ROUTE_IN_FLIGHT} in flight', 'auto', None),
)


def _route(method: str, path: str) -> str:
    """``METHOD /path`` with ids replaced by ``{id}``."""
    path = _ID.sub('{id}', path)
    path = re.sub(
        r'/storage/outputs/\{id\}\.\w+', '/storage/outputs/{id}', path
    )
    path = re.sub(r'/storage/assets/\{id\}/.*', '/storage/assets/{id}', path)
    return f'{method} {path}'


def measure(planes: int, way: tuple, delay: float, root: Path) -> dict:
    label, route, concurrency = way
    stack = np.random.default_rng(planes).integers(
        0, 4000, (planes, 64, 64), dtype=np.uint16
    )
    with RunflowStandIn(processing_delay=delay) as server:
        server.set_delays(processing_spread=1.0, seed=planes)
        engine = RunflowEngine(
            base_url=server.base_url,
            api_key='test-key',
            verify=server.ca_path,
            batch_route=route,
        )
        started = time.perf_counter()
        result = outpaint_planes(
            stack,
            EXPAND,
            engine=engine,
            confirm=True,
            cache=ResultCache(root / f'{planes}-{route}-{concurrency}'),
            spend_cap=SpendCap(),
            concurrency=concurrency,
        )
        wall = time.perf_counter() - started
        done = sum(o.status == 'done' for o in result.outcomes)
        assert done == planes, [o.status for o in result.outcomes]
        # the stand-in's own fetches of image_url are not ours: leave out
        ours = [
            r
            for r in server.requests
            if not r.path.startswith('/storage/assets/')
        ]
        by_route = Counter(_route(r.method, r.path) for r in ours)
        return {
            'label': label,
            'planes': planes,
            'wall': wall,
            'total': len(ours),
            'by_route': by_route,
            'batches': len(server.batches),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--planes', type=int, nargs='+', default=[8, 32])
    parser.add_argument('--delay', type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for planes in args.planes:
            rows = [
                measure(planes, way, args.delay, Path(tmp)) for way in WAYS
            ]
            baseline = rows[0]
            print(f'\n## {planes} planes (runs {args.delay:g}-'
                  f'{args.delay + 1:g} s)')  # fmt: skip
            print(
                f'{"way":34} {"requests/plane":>15} {"vs single":>10} '
                f'{"batches":>8} {"wall s":>7} {"vs single":>10}'
            )
            for row in rows:
                print(
                    f'{row["label"]:34} {row["total"] / planes:15.2f} '
                    f'{row["total"] / baseline["total"]:10.2f} '
                    f'{row["batches"]:8d} {row["wall"]:7.1f} '
                    f'{row["wall"] / baseline["wall"]:10.2f}'
                )
            routes = sorted(set().union(*(r['by_route'] for r in rows)))
            print('\nrequests per plane, by route:')
            print(
                f'{"route":48}' + ''.join(f'{i:>9}' for i in range(len(rows)))
            )
            for name in routes:
                print(
                    f'{name:48}'
                    + ''.join(
                        f'{r["by_route"][name] / planes:9.2f}' for r in rows
                    )
                )
            print('(columns: ' + '; '.join(
                f'{i} = {r["label"]}' for i, r in enumerate(rows)
            ) + ')')  # fmt: skip


if __name__ == '__main__':
    main()
