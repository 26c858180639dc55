"""Quality of the local fills on real images: crop, outpaint back, compare.

Each image ships inside scikit-image (no download). It is scaled so its
long side is at most 512 px (runtime; the biggest, retina and
hubble_deep_field, are scaled down), then the centre ``1/1.6`` of it is
cropped and expanded back by 30 % per side, so the border is about 61 %
of the canvas. The regenerated border is compared with the truth by:

- masked PSNR and SSIM (luminance), which reward blur;
- sharpness: mean Sobel magnitude of the border / the truth's (1 = same
  texture energy; blur is far below 1);
- seam: mean |jump| across the original's edges / the truth's (1 = as
  smooth as reality; higher is a visible seam).

Methods: ``reflect`` (mirror padding), ``baseline`` (one PyPatchMatch
call, patch size 3, full resolution, in this process) and ``local``
(``LocalEngine(scale=2)``: the coarse-to-fine fill the engine uses for
large borders, forced here because these borders are small; ``--scale``
changes it). Run:
``python bench/quality.py [--images camera,coffee] [--percent 30]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from napari_outpaint._expand import Expand
from napari_outpaint._imaging.quality import (
    masked_psnr,
    masked_ssim,
    reference_seam_ratio,
    seam_score,
    sharpness_ratio,
)
from napari_outpaint.engines.local import LocalEngine

IMAGES = (
    'camera',
    'astronaut',
    'coffee',
    'brick',
    'grass',
    'gravel',
    'cell',
    'hubble_deep_field',
    'retina',
)
LONG_SIDE = 512
METHODS = ('reflect', 'baseline', 'local')


def load(name: str) -> np.ndarray:
    """The image as RGB uint8, long side at most LONG_SIDE."""
    from skimage import data, transform

    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3]
    factor = LONG_SIDE / max(image.shape[:2])
    if factor < 1:
        shape = [round(s * factor) for s in image.shape[:2]]
        image = transform.resize(image, shape, anti_aliasing=True)
        image = np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)
    return image


def make_case(image: np.ndarray, percent: int):
    """Truth canvas, the centre crop, the Expand and the inner slices."""
    expand = Expand(percent, percent, percent, percent)
    rows, cols = image.shape[:2]
    crop_r, crop_c = (
        int(rows / (1 + 2 * percent / 100)),
        int(cols / (1 + 2 * percent / 100)),
    )
    while expand.canvas_shape(crop_r, crop_c)[0] > rows:
        crop_r -= 1
    while expand.canvas_shape(crop_r, crop_c)[1] > cols:
        crop_c -= 1
    pad = expand.padding(crop_r, crop_c)
    out_r, out_c = pad.canvas_shape(crop_r, crop_c)
    top, left = (rows - out_r) // 2, (cols - out_c) // 2
    truth = np.ascontiguousarray(image[top : top + out_r, left : left + out_c])
    inner = (
        slice(pad.top, pad.top + crop_r),
        slice(pad.left, pad.left + crop_c),
    )
    return truth, np.ascontiguousarray(truth[inner]), expand, inner


def fill(method: str, crop: np.ndarray, expand: Expand, scale: int = 2):
    """The canvas filled by *method*."""
    if method == 'reflect':
        return LocalEngine('reflect').outpaint(crop, expand).image
    if method == 'local':
        return LocalEngine(seed=0, scale=scale).outpaint(crop, expand).image
    import patchmatch

    pad = expand.padding(*crop.shape[:2])
    rows, cols = pad.canvas_shape(*crop.shape[:2])
    canvas = np.zeros((rows, cols, 3), np.uint8)
    hole = np.ones((rows, cols), np.uint8)
    inner = (
        slice(pad.top, pad.top + crop.shape[0]),
        slice(pad.left, pad.left + crop.shape[1]),
    )
    canvas[inner] = crop
    hole[inner] = 0
    patchmatch.set_random_seed(0)
    return patchmatch.inpaint(canvas, hole, patch_size=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', default=','.join(IMAGES))
    parser.add_argument('--percent', type=int, default=30)
    parser.add_argument('--scale', type=int, default=2)
    parser.add_argument('--methods', default=','.join(METHODS))
    args = parser.parse_args()
    names = args.images.split(',')
    methods = args.methods.split(',')
    table: dict[str, list[tuple]] = {m: [] for m in methods}
    head = (
        f'{"image":18} {"method":9} {"sec":>6} {"PSNR":>6} {"SSIM":>6} '
        f'{"sharp":>6} {"seam":>6} {"seam0":>6}'
    )
    print(head)
    for name in names:
        truth, crop, expand, inner = make_case(load(name), args.percent)
        hole = np.ones(truth.shape[:2], bool)
        hole[inner] = False
        for method in methods:
            started = time.perf_counter()
            out = fill(method, crop, expand, args.scale)
            seconds = time.perf_counter() - started
            assert out.shape == truth.shape
            assert np.array_equal(out[inner], crop)
            row = (
                seconds,
                masked_psnr(out, truth, hole),
                masked_ssim(out, truth, hole),
                sharpness_ratio(out, truth, hole),
                reference_seam_ratio(out, truth, inner),
                seam_score(out, inner),
            )
            table[method].append(row)
            print(f'{name:18} {method:9} ' + _fmt(row), flush=True)
    print(f'\nmean over {len(names)} images')
    print(head)
    for method in methods:
        mean = tuple(np.mean(np.array(table[method]), axis=0))
        print(f'{"mean":18} {method:9} ' + _fmt(mean))


def _fmt(row) -> str:
    sec, psnr, ssim, sharp, seam, seam0 = row
    return (
        f'{sec:6.2f} {psnr:6.2f} {ssim:6.3f} {sharp:6.2f} {seam:6.2f} '
        f'{seam0:6.2f}'
    )


if __name__ == '__main__':
    main()
