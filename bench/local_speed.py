"""Speed of the local engine against the straightforward PatchMatch call.

The case of issue 5: a 1024 x 1024 RGB image expanded 30 % per side (a
1638 x 1638 canvas). The image is a real one that ships inside
scikit-image: ``retina`` (1411 x 1411) resized to 1638 x 1638, whose
centre 1024 x 1024 is the input; the resized image is the ground truth of
the border, for the sharpness and seam ratios.

Methods, each run once in its own fresh process (so that peak memory is
measured per method), in one run of this script:

- ``baseline``: ``patchmatch.inpaint(canvas, hole, patch_size=3)`` on the
  whole canvas, in one thread (the straightforward call);
- ``local``: ``LocalEngine('patchmatch', seed=0)`` (coarse-to-fine fill
  on two worker processes);
- ``reflect``: ``LocalEngine('reflect')``, for reference;
- ``local-s<N>`` (with ``--scales N,...``): the local engine forced to
  coarse scale N.

Peak RSS is ``ru_maxrss`` of the method's process plus, for the local
engine, that of each of its worker processes (an upper bound of their
sum at any moment). Run: ``python bench/local_speed.py [--size 1024]
[--image retina]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from napari_outpaint._expand import Expand
from napari_outpaint._imaging.quality import (
    masked_psnr,
    masked_ssim,
    reference_seam_ratio,
    seam_score,
    sharpness_ratio,
)

PERCENT = 30
METHODS = ('baseline', 'local', 'reflect')


def make_case(name: str, size: int):
    """Ground truth canvas, the input (its centre), and the inner slices."""
    from skimage import data, transform

    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3]
    pad = Expand(PERCENT, PERCENT, PERCENT, PERCENT).padding(size, size)
    rows, cols = pad.canvas_shape(size, size)
    truth = transform.resize(image, (rows, cols), anti_aliasing=True)
    truth = np.clip(truth * 255 + 0.5, 0, 255).astype(np.uint8)
    inner = (
        slice(pad.top, pad.top + size),
        slice(pad.left, pad.left + size),
    )
    return truth, np.ascontiguousarray(truth[inner]), inner


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )


def run_child(method: str, source: Path, target: Path) -> None:
    """Fill *source* with *method*; save the canvas; print time and RSS."""
    image = np.load(source)
    expand = Expand(PERCENT, PERCENT, PERCENT, PERCENT)
    pad = expand.padding(*image.shape[:2])
    if method == 'baseline':
        import patchmatch

        rows, cols = pad.canvas_shape(*image.shape[:2])
        canvas = np.zeros((rows, cols, 3), np.uint8)
        hole = np.ones((rows, cols), np.uint8)
        r0, c0 = pad.top, pad.left
        canvas[r0 : r0 + image.shape[0], c0 : c0 + image.shape[1]] = image
        hole[r0 : r0 + image.shape[0], c0 : c0 + image.shape[1]] = 0
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        patchmatch.set_random_seed(0)
        out = patchmatch.inpaint(canvas, hole, patch_size=3)
        seconds = time.perf_counter() - started
        workers = 0
    else:
        from napari_outpaint.engines.local import LocalEngine

        if method == 'reflect':
            engine = LocalEngine('reflect')
        else:  # 'local' (the engine's own choice) or 'local-s<scale>'
            scale = int(method.split('-s')[1]) if '-s' in method else None
            engine = LocalEngine('patchmatch', seed=0, scale=scale)
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        result = engine.outpaint(image, expand)
        seconds = time.perf_counter() - started
        out = result.image
        workers = result.details.get('workers', 0)
    np.save(target, out)
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_kib = own.ru_maxrss + workers * children.ru_maxrss
    cpu = _cpu_seconds() - cpu_before
    print(
        json.dumps(
            {'seconds': seconds, 'peak_mb': peak_kib / 1024, 'cpu': cpu}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=1024)
    parser.add_argument('--image', default='retina')
    parser.add_argument(
        '--scales',
        default='',
        help='also run the local engine at these coarse scales, e.g. 2,3',
    )
    parser.add_argument('--child', nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, source, target = args.child
        run_child(method, Path(source), Path(target))
        return
    truth, image, inner = make_case(args.image, args.size)
    hole = np.ones(truth.shape[:2], bool)
    hole[inner] = False
    print(
        f'{args.image} {args.size}x{args.size} +{PERCENT}%/side -> '
        f'{truth.shape[0]}x{truth.shape[1]} canvas, '
        f'{int(hole.sum())} new pixels'
    )
    print(f'load average before: {os.getloadavg()[0]:.2f}')
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / 'input.npy'
        np.save(source, image)
        extra = [f'local-s{s}' for s in args.scales.split(',') if s]
        for method in (*METHODS, *extra):
            target = Path(tmp) / f'{method}.npy'
            done = subprocess.run(
                [sys.executable, __file__, '--child', method, source, target],
                check=True,
                capture_output=True,
                text=True,
            )
            stats = json.loads(done.stdout.strip().splitlines()[-1])
            out = np.load(target)
            assert out.shape == truth.shape
            assert np.array_equal(out[inner], image), method
            rows.append(
                (
                    method,
                    stats['seconds'],
                    stats['peak_mb'],
                    stats['cpu'],
                    masked_psnr(out, truth, hole),
                    masked_ssim(out, truth, hole),
                    sharpness_ratio(out, truth, hole),
                    reference_seam_ratio(out, truth, inner),
                    seam_score(out, inner),
                )
            )
    base = rows[0][1]
    print(
        f'{"method":10} {"seconds":>8} {"speedup":>8} {"cpu_s":>6} '
        f'{"peakMB":>7} '
        f'{"PSNR":>6} {"SSIM":>6} {"sharp":>6} {"seam":>6} {"seam0":>6}'
    )
    for method, sec, mb, cpu, psnr, ssim, sharp, seam, seam0 in rows:
        print(
            f'{method:10} {sec:8.2f} {base / sec:7.1f}x {cpu:6.1f} {mb:7.0f} '
            f'{psnr:6.2f} {ssim:6.3f} {sharp:6.2f} {seam:6.2f} {seam0:6.2f}'
        )
    print(
        'speedup = baseline seconds / method seconds (same run); cpu_s = '
        'CPU seconds of the timed call, workers included; sharp and seam '
        'are ratios to the ground truth (1 = like reality); seam0 is the '
        'no-reference seam_score.'
    )


if __name__ == '__main__':
    main()
