"""Runflow client benchmark against the stand-in (real TLS on loopback).

Two questions, each answered with a small table:

1. **Poll schedule.** For a few schedules, the trade-off between requests
   per run and the *notice delay*: the time from the run turning terminal
   (the stand-in's ``completed_monotonic``) to the client holding the
   terminal status. Runs have random processing times so every phase of
   the schedule is sampled; they run concurrently to save time.
   (This table is the schedule alone, with no learned window: see
   ``bench_polling.py`` for the engine's poll budget.)
2. **Client overhead** for a 2048 x 2048 RGB image through the whole
   engine: everything but the service's processing window (encode, upload,
   create, poll notice, download, decode), and the end-to-end latency after
   the service finishes, as ratios against a baseline measured in the same
   run: encode the PNG once, PUT it once, GET the run's output once and
   decode it, over one TLS connection (the least any client must do with
   those bytes). The first two runs of an engine know no run durations
   yet (a process without history); they are reported on their own.

Usage::

    .venv/bin/python bench/bench_runflow.py [--runs 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time

import httpx
import numpy as np

from napari_outpaint import Expand
from napari_outpaint._imaging.codecs import decode_image, encode_png
from napari_outpaint._runflow.client import RunflowClient
from napari_outpaint._runflow.retry import DEFAULT_POLL_SCHEDULE, PollSchedule
from napari_outpaint.engines.runflow import RunflowEngine
from napari_outpaint.hosting.runflow_assets import RunflowAssetHost
from napari_outpaint.testing import RunflowStandIn

SCHEDULES = {
    'fixed 2.0 s (Runflow JS SDK)': PollSchedule.fixed(2.0),
    'fixed 1.0 s': PollSchedule.fixed(1.0),
    'fixed 0.5 s': PollSchedule.fixed(0.5),
    'adaptive 0.25 x1.5 -> 2.0': PollSchedule(0.25, 1.5, 2.0),
    'adaptive 0.25 x1.5 -> 0.7 (previous)': PollSchedule(0.25, 1.5, 0.7),
    'adaptive 0.25 x1.5 -> 1.5 (default)': DEFAULT_POLL_SCHEDULE,
}
EXPAND = Expand(top=20, bottom=20, left=20, right=20)
MAX_PIXELS = 100_000_000  # the decoder's guard; far above these images


def photo(size: int = 2048) -> np.ndarray:
    """A photo-like RGB test image (scikit-image's astronaut, resized)."""
    from PIL import Image
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize(
        (size, size), Image.Resampling.BICUBIC
    )
    return np.asarray(image)


def polls_for(schedule: PollSchedule, run_seconds: float) -> int:
    """Polls a schedule sends for a run of *run_seconds* (analytic)."""
    polls, elapsed = 1, 0.0
    for delay in schedule.delays():
        if elapsed >= run_seconds:
            return polls
        elapsed += delay
        polls += 1
    raise AssertionError('unreachable')


_CREATE_LOCK = threading.Lock()


def one_polled_run(server, client, image_url, schedule, delay, out):
    """Create one run taking *delay* s, poll it; record (notice, polls)."""
    with _CREATE_LOCK:  # the stand-in's delay applies to the next create
        server.set_delays(processing_delay=delay)
        run = client.create_run(
            'runflow/outpaint', {'image_url': image_url, **_small_expand()}
        )
    assert server.get_run(run.id).processing_delay == delay
    polls = 0
    for latest in client.iter_run(run.id, schedule=schedule):  # noqa: B007
        polls += 1
        noticed = time.monotonic()
    completed = server.get_run(run.id).completed_monotonic
    assert latest.status == 'succeeded', latest.status
    out.append((noticed - completed, polls))


def _small_expand():
    return Expand(top=10, bottom=0, left=0, right=0).to_runflow_input()


def bench_polling(runs: int, concurrency: int, seed: int = 7) -> None:
    """Table 1: polls per run vs notice delay, per schedule."""
    rng = random.Random(seed)
    print(
        f'\n## Poll schedules ({runs} runs each, {concurrency} at a time, '
        'processing times stratified over 2-6 s)\n'
    )
    header = (
        f'{"schedule":38} {"median delay":>12} {"p90 delay":>9} '
        f'{"polls/run":>9} {"polls, 30 s run":>15} {"polls/min":>9}'
    )
    print(header)
    print('-' * len(header))
    small = photo(64)
    with RunflowStandIn(api_key='bench-key') as server:
        host = RunflowAssetHost(
            'bench-key', base_url=server.base_url, verify=server.ca_path
        )
        with host.publish(encode_png(small), 'image/png') as hosted:
            for name, schedule in SCHEDULES.items():
                results: list[tuple[float, int]] = []
                gate = threading.Semaphore(concurrency)
                threads = []
                for delay in _stratified_delays(rng, runs):
                    gate.acquire()
                    thread = threading.Thread(
                        target=_run_and_release,
                        args=(server, hosted.url, schedule, delay, results),
                        kwargs={'gate': gate},
                    )
                    thread.start()
                    threads.append(thread)
                for thread in threads:
                    thread.join(60)
                delays = sorted(d for d, _ in results)
                polls = [p for _, p in results]
                p90 = delays[int(0.9 * (len(delays) - 1))]
                print(
                    f'{name:38} {statistics.median(delays):11.3f}s '
                    f'{p90:8.3f}s {statistics.mean(polls):9.1f} '
                    f'{polls_for(schedule, 30.0):15d} '
                    f'{60.0 / schedule.cap:9.0f}'
                )


def _stratified_delays(rng: random.Random, runs: int) -> list[float]:
    """Processing times spread evenly over 2-6 s (one per stratum).

    Plain uniform draws from a small sample can bunch up at one phase of
    a schedule and bias its median; strata cover every phase equally.
    """
    return [2.0 + 4.0 * (i + rng.random()) / runs for i in range(runs)]


def _run_and_release(server, image_url, schedule, delay, results, *, gate):
    try:
        with RunflowClient(
            'bench-key', base_url=server.base_url, verify=server.ca_path
        ) as client:
            one_polled_run(server, client, image_url, schedule, delay, results)
    finally:
        gate.release()


def baseline(
    server, png: bytes, image: np.ndarray, output_url: str
) -> dict[str, float]:
    """The floor of the same bytes: encode the input, PUT it once, GET the
    run's output once and decode it, over one TLS connection."""
    with RunflowClient(
        'bench-key', base_url=server.base_url, verify=server.ca_path
    ) as api:
        session = api.create_asset_upload('input.png', 'image/png', len(png))
        with httpx.Client(verify=server.ssl_context()) as http:
            http.get(f'{server.base_url}/v1/health')  # open the connection
            start = time.perf_counter()
            encode_png(image)
            encoded = time.perf_counter()
            http.put(
                session.upload_url,
                content=png,
                headers={'Content-Type': 'image/png'},
            ).raise_for_status()
            put = time.perf_counter()
            api.confirm_asset_upload(session.asset_id)
            mark = time.perf_counter()
            body = http.get(output_url).raise_for_status().content
            got = time.perf_counter()
            decode_image(body, max_pixels=MAX_PIXELS)
            decoded = time.perf_counter()
        api.delete_asset(session.asset_id)
    return {
        'encode': encoded - start,
        'put': put - encoded,
        'get': got - mark,
        'decode': decoded - got,
        'total': (encoded - start) + (put - encoded) + (decoded - mark),
    }


def run_output_url(server, run_id: str) -> str:
    """The output link of a finished run, as the service lists it."""
    with RunflowClient(
        'bench-key', base_url=server.base_url, verify=server.ca_path
    ) as api:
        url = api.get_run(run_id).output_url
    assert url is not None
    return url


def bench_overhead(repeats: int) -> None:
    """Table 2: the client's own cost per run, vs the baseline."""
    image = photo(2048)
    png = encode_png(image)
    print(
        f'\n## Client overhead, 2048x2048 RGB (PNG {len(png) / 1e6:.1f} MB), '
        f'expand 20% each side, 1 s runs, median of {repeats}\n'
    )
    with RunflowStandIn(api_key='bench-key', processing_delay=1.0) as server:
        engine = RunflowEngine(
            'bench-key', base_url=server.base_url, verify=server.ca_path
        )
        rows = [one_timed_run(server, engine, image) for _ in range(2)]
        rows += [one_timed_run(server, engine, image) for _ in range(repeats)]
        output_url = run_output_url(server, rows[-1]['run_id'])
        base = [
            baseline(server, png, image, output_url) for _ in range(repeats)
        ]
    b = {k: statistics.median(r[k] for r in base) for k in base[0]}
    first = _medians(rows[:2])
    m = _medians(rows[2:])
    print(
        f'baseline: encode {b["encode"]:.3f} s + PUT {b["put"]:.3f} s + '
        f'GET {b["get"]:.3f} s + decode {b["decode"]:.3f} s = '
        f'{b["total"]:.3f} s'
    )
    print(
        f'engine phases: encode {m["encode"]:.3f}, publish {m["publish"]:.3f}'
        f', create {m["create"]:.3f}, download {m["download"]:.3f}, decode '
        f'{m["decode"]:.3f} s; service window {m["window"]:.3f} s\n'
    )
    header = (
        f'{"measure":44} {"learned":>8} {"x floor":>8} '
        f'{"first 2":>8} {"x floor":>8}'
    )
    print(header)
    print('-' * len(header))
    for label, key in [
        ('client overhead per run (total - window)', 'overhead'),
        ('latency after the service finishes', 'after'),
        ('  of which encode + decode (codec work)', 'codec'),
        ('  of which the rest (HTTP, poll notice)', 'rest'),
        ('end-to-end total', 'total'),
    ]:
        print(
            f'{label:44} {m[key]:8.3f} {m[key] / b["total"]:8.2f} '
            f'{first[key]:8.3f} {first[key] / b["total"]:8.2f}'
        )


def one_timed_run(server, engine, image) -> dict:
    """One engine run and where its time went."""
    start = time.monotonic()
    result = engine.outpaint(image, EXPAND)
    end = time.monotonic()
    run = server.get_run(result.run_id)
    window = run.completed_monotonic - run.created_monotonic
    codec = result.timings['encode'] + result.timings['decode']
    return {
        'run_id': result.run_id,
        'total': end - start,
        'window': window,
        'overhead': (end - start) - window,
        'after': end - run.completed_monotonic,
        'codec': codec,
        'rest': (end - start) - window - codec,
        **result.timings,
    }


def _medians(rows: list[dict]) -> dict[str, float]:
    return {
        k: statistics.median(r[k] for r in rows)
        for k in rows[0]
        if k != 'run_id'
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=16)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--concurrency', type=int, default=4)
    parser.add_argument('--only', choices=['overhead', 'polling'])
    args = parser.parse_args()
    if args.only in (None, 'overhead'):
        bench_overhead(args.repeats)
    if args.only in (None, 'polling'):
        bench_polling(args.runs, args.concurrency)


if __name__ == '__main__':
    main()
