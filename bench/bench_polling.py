"""Poll budget benchmark against the Runflow stand-in (not a test).

Runflow publishes no rate limit, and its SDK polls every 2 s. This bench
measures what the engine spends on status reads (``GET /v1/runs/{id}``)
and what it buys, from the stand-in's own request log, for three
schedules in the same run: Runflow's SDK (fixed 2 s), the previous
default (0.25 s growing to 0.7 s, nothing learned, no shared gate) and
today's (0.25 s growing to 1.5 s; inside the window learned from past
runs, eight reads spread over it, every 0.1-0.5 s; one gate per engine
of 1.8 reads/s with a burst of 4):

1. **Single runs** of 8-12 s (8 at once, one engine each, six earlier
   durations known): the *notice delay* from the run turning terminal on
   the server to the first status read that sees it; reads per run.
2. **Steady state**: one 45 s run per schedule; status reads per minute
   between 15 s and 45 s.
3. **Batch**: 32 planes at concurrency 8 (runs of 2-6 s) through
   ``outpaint_planes``; status reads per second over the batch, the
   median notice delay and the wall time.

Usage::

    .venv/bin/python bench/bench_polling.py [--runs 8]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading

import numpy as np

from napari_outpaint._batch.outpaint import outpaint_planes
from napari_outpaint._cache.cost import SpendCap
from napari_outpaint._cache.store import ResultCache
from napari_outpaint._expand import Expand
from napari_outpaint._runflow import PollSchedule, RunDurations
from napari_outpaint.engines.runflow import RunflowEngine
from napari_outpaint.testing import RunflowStandIn

EXPAND = Expand(top=10, bottom=0, left=0, right=0)


class _Forgetful(RunDurations):
    """Learns nothing: the schedules from before the learned window."""

    def window(self):
        return None


SCHEDULES = {
    'Runflow SDK: fixed 2 s': (PollSchedule.fixed(2.0), False),
    'previous: 0.25 s x1.5 -> 0.7 s': (
        PollSchedule(0.25, 1.5, 0.7, max_rate=100.0),
        False,
    ),
    'now: -> 1.5 s, dense in learned window': (PollSchedule(), True),
}


def _engine(server: RunflowStandIn, name: str | None = None) -> RunflowEngine:
    schedule, learns = SCHEDULES[name or list(SCHEDULES)[-1]]
    engine = RunflowEngine(
        base_url=server.base_url,
        api_key='bench-key',
        verify=server.ca_path,
        poll_interval=schedule,
    )
    if not learns:
        engine.run_durations = _Forgetful()
    return engine


def _plane(seed: int, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (size, size, 3), dtype=np.uint8)


def _status_reads(server: RunflowStandIn, run_id: str) -> list[float]:
    """Arrival times of the status reads of one run."""
    path = f'/v1/runs/{run_id}'
    return [
        r.received_monotonic
        for r in list(server.requests)
        if r.method == 'GET' and r.path == path
    ]


def _notice(server: RunflowStandIn, run_id: str) -> tuple[float, int]:
    """(notice delay, status reads until then) of a finished run."""
    run = server.get_run(run_id)
    reads = _status_reads(server, run_id)
    done = run.completed_monotonic
    seen = [t for t in reads if t >= done]
    return seen[0] - done, len(reads) - len(seen) + 1


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.9 * (len(ordered) - 1))]


def _concurrently(jobs) -> list:
    results: list = [None] * len(jobs)

    def run(i, job):
        results[i] = job()

    threads = [
        threading.Thread(target=run, args=(i, job))
        for i, job in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def bench_single(server: RunflowStandIn, runs: int) -> None:
    """Tables 1 and 2: single runs after some history, the steady state."""
    rng = random.Random(11)
    history = [8.05 + 4.0 * rng.random() for _ in range(6)]
    print(f'\n## Single runs of 8-12 s ({runs} at once, one engine each)\n')
    header = (
        f'{"schedule":42} {"median notice":>13} {"p90":>7} {"reads/run":>9}'
    )
    print(header)
    print('-' * len(header))
    for name in SCHEDULES:
        server.set_delays(processing_delay=8.0, processing_spread=4.0, seed=5)
        engines = [_engine(server, name) for _ in range(runs)]
        for engine in engines:
            engine.run_durations.extend(history)
        results = _concurrently(
            [
                lambda e=e, i=i: e.outpaint(_plane(i), EXPAND)
                for i, e in enumerate(engines)
            ]
        )
        notices = [_notice(server, r.run_id) for r in results]
        delays = [d for d, _ in notices]
        print(
            f'{name:42} {statistics.median(delays):12.3f}s '
            f'{_p90(delays):6.3f}s '
            f'{statistics.mean(c for _, c in notices):9.1f}'
        )
    server.set_delays(processing_delay=45.0, processing_spread=0.0)
    engines = [_engine(server, name) for name in SCHEDULES]
    for engine in engines:
        engine.run_durations.extend(history)
    results = _concurrently(
        [lambda e=e: e.outpaint(_plane(99), EXPAND) for e in engines]
    )
    print('\n## Steady state: one 45 s run each\n')
    for name, result in zip(SCHEDULES, results, strict=True):
        start = server.get_run(result.run_id).created_monotonic
        reads = [
            t
            for t in _status_reads(server, result.run_id)
            if start + 15.0 <= t < start + 45.0
        ]
        print(f'{name:42} {len(reads) * 2:3d} status reads per minute')


def bench_batch(
    server: RunflowStandIn, planes: int, concurrency: int, name: str
) -> None:
    """Table 3: one batch, status reads per second."""
    server.set_delays(processing_delay=2.0, processing_spread=4.0, seed=5)
    data = np.stack([_plane(1000 + i) for i in range(planes)])
    before_runs = len(server.runs)
    before_requests = len(server.requests)
    with tempfile.TemporaryDirectory() as root:
        result = outpaint_planes(
            data,
            EXPAND,
            engine=_engine(server, name),
            concurrency=concurrency,
            confirm=True,
            cache=ResultCache(root),
            spend_cap=SpendCap(),
        )
    assert result.complete, result.summary()
    runs = server.runs[before_runs:]
    requests = server.requests[before_requests:]
    first = min(r.created_monotonic for r in runs)
    last = max(r.completed_monotonic for r in runs)
    span = last - first
    inside = [r for r in requests if first <= r.received_monotonic <= last]
    status = [
        r
        for r in inside
        if r.method == 'GET'
        and r.path.startswith('/v1/runs/')
        and r.path.count('/') == 3
    ]
    delays = [_notice(server, r.id)[0] for r in runs]
    print(
        f'{name:42} {len(status) / span:7.2f} {len(inside) / span:7.2f} '
        f'{statistics.median(delays):7.3f}s {_p90(delays):6.3f}s '
        f'{span:6.1f}s'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=8)
    parser.add_argument('--planes', type=int, default=32)
    parser.add_argument('--concurrency', type=int, default=8)
    parser.add_argument('--only', choices=['single', 'batch'])
    args = parser.parse_args()
    with RunflowStandIn(api_key='bench-key') as server:
        if args.only in (None, 'single'):
            bench_single(server, args.runs)
        if args.only in (None, 'batch'):
            print(
                f'\n## Batch: {args.planes} planes at concurrency '
                f'{args.concurrency}, runs 2-6 s\n'
            )
            header = (
                f'{"schedule":42} {"reads/s":>7} {"all/s":>7} '
                f'{"median":>8} {"p90":>7} {"span":>7}'
            )
            print(header)
            print('-' * len(header))
            for name in list(SCHEDULES)[1:]:
                bench_batch(server, args.planes, args.concurrency, name)


if __name__ == '__main__':
    main()
