"""Deterministic fake Engines for pipeline tests (no network)."""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage

from napari_outpaint._progress import ProgressEvent, Stage
from napari_outpaint.engines import EngineResult


class FakeEngine:
    """Reflect-fills the canvas (``Expand.padding``), like the stand-in.

    Parameters
    ----------
    upscale_long_side : int, optional
        Resize the canvas so its long side has this many pixels, like
        Runflow does (aspect kept, rounded per axis).
    shift : (int, int)
        Roll the canvas by this many canvas pixels (rows, cols), so the
        original is no longer where the padding says: provokes the
        alignment warning.
    seed : int
        Reported as the seed.
    """

    name = 'fake'
    model = 'fake/reflect'
    price_per_image_usd = 0.0

    def __init__(
        self,
        *,
        upscale_long_side: int | None = None,
        shift: tuple[int, int] = (0, 0),
        seed: int = 7,
    ) -> None:
        self.upscale_long_side = upscale_long_side
        self.shift = shift
        self.seed = seed
        self.calls: list[tuple[np.ndarray, object]] = []

    def outpaint(self, image, expand, *, progress=None, cancel=None):
        """Outpaint by reflection, optionally shifted and upscaled."""
        if cancel is not None:
            cancel.raise_if_cancelled()
        self.calls.append((image.copy(), expand))
        if progress is not None:
            progress(ProgressEvent(Stage.RUNNING, 'fake run'))
        rows, cols = image.shape[:2]
        pad = expand.padding(rows, cols)
        canvas = np.pad(
            image,
            ((pad.top, pad.bottom), (pad.left, pad.right), (0, 0)),
            mode='symmetric',
        )
        if any(self.shift):
            canvas = np.roll(canvas, self.shift, axis=(0, 1))
        if self.upscale_long_side:
            factor = self.upscale_long_side / max(canvas.shape[:2])
            size = (
                round(canvas.shape[1] * factor),
                round(canvas.shape[0] * factor),
            )
            canvas = np.asarray(
                PILImage.fromarray(canvas).resize(
                    size, PILImage.Resampling.BICUBIC
                )
            )
        return EngineResult(
            image=canvas,
            engine=self.name,
            model=self.model,
            run_id=f'fake-{len(self.calls)}',
            seed=self.seed,
            cost_usd=0.0,
            timings={'fake': 0.0},
            details={'nsfw_detected': False},
        )


class PaidFakeEngine(FakeEngine):
    """A fake engine that costs money, like Runflow."""

    name = 'paid-fake'
    model = 'paid-fake/reflect'
    price_per_image_usd = 0.55
