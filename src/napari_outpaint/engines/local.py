"""The offline engine: outpaint on this machine, no key, no network.

``LocalEngine('patchmatch')`` (the default) fills the new border with
PatchMatch (PyPatchMatch, MIT): coarse-to-fine and on two worker processes
for large borders (:mod:`._patchmatch_fill`), one full-resolution call for
small ones. ``LocalEngine('reflect')`` mirrors the image into the border
at once; it is also the fallback when PyPatchMatch cannot be loaded, and
the result then says so (``model='reflect'``, ``details['fallback']``).
The output keeps the input's pixel size, and the original's pixels are
bit-identical in it.

With a Dask ``distributed.Client`` (``client=``, or the one active in
this process) each plane's PatchMatch fill is a task on the cluster's
workers instead (:mod:`._cluster`), with the same pixels for the same
seed; reflection padding, instant, stays on this machine.
"""

from __future__ import annotations

import copy
import os
import time
from typing import Any

import numpy as np

from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import Expand, Padding
from napari_outpaint._progress import (
    CancelToken,
    ProgressCallback,
    ProgressEvent,
    Stage,
)
from napari_outpaint.engines._base import EngineResult
from napari_outpaint.engines._cluster import (
    active_client,
    check_client,
    cluster_threads,
    fill_on_cluster,
    scheduler_address,
)
from napari_outpaint.engines._patchmatch_fill import fill_plane
from napari_outpaint.engines._pm_runner import patchmatch_importable
from napari_outpaint.engines._reflect_fill import reflect_fill

__all__ = ['LOCAL_METHODS', 'LocalEngine']

LOCAL_METHODS = ('patchmatch', 'reflect')

# Borders of at least this many pixels are filled coarse-to-fine at 1/2
# size (below it a single full-resolution call takes under about 3 s),
# and from the second size on at 1/3 (bench/local_speed.py) ...
FAST_MIN_HOLE_PIXELS = 250_000
COARSER_MIN_HOLE_PIXELS = 1_000_000
# ... and from this size on in worker processes (below it starting them
# costs more than it saves). A cancel kills the workers at once; a call in
# this process is abandoned to finish in the background.
PROCESS_MIN_HOLE_PIXELS = 40_000


def _check_int(name: str, value, minimum: int, *, none_ok: bool = False):
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidInputError(
            name, f'must be an integer, got {type(value).__name__}.'
        )
    if value < minimum:
        raise InvalidInputError(name, f'must be >= {minimum}, got {value}.')
    return int(value)


def _check_image(image) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise InvalidInputError(
            'image',
            f'expected a numpy array, got {type(image).__name__}; '
            'pass np.asarray(image).',
        )
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InvalidInputError(
            'image',
            'expected (rows, cols, 3) uint8 RGB, got shape '
            f'{image.shape} {image.dtype}; convert the plane first '
            '(the pipeline does this for layers).',
        )
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InvalidInputError('image', f'is empty: shape {image.shape}.')
    return np.ascontiguousarray(image)


class LocalEngine:
    """Outpaint offline, with PatchMatch or reflection padding.

    Parameters
    ----------
    method : {'patchmatch', 'reflect'}
        PatchMatch fill (default) or instant mirror padding.
    seed : int
        Seed of the PatchMatch search; equal inputs and seeds give
        byte-identical results.
    scale : int, optional
        Coarse-level factor of the fast fill: 1 is one full-resolution
        PatchMatch call (the slow baseline), 2 or more coarse-to-fine.
        None chooses 1 for borders under 250 000 pixels, 2 up to a
        million, 3 above.
    workers : int, optional
        PatchMatch worker processes (0 runs in this process). None
        chooses up to 2 (the CPU count) for borders of at least 40 000
        pixels, else 0. On a Dask cluster: processes each task starts on
        its worker (None: 0, the task runs in the worker's thread).
    client : distributed.Client, optional
        Send each plane's PatchMatch fill to this Dask cluster. None: the
        client active in this process (``distributed.default_client()``,
        looked for only when ``distributed`` is already imported), else
        worker processes on this machine.

    Attributes
    ----------
    name : str
        ``'local'``.
    model : str
        ``'patchmatch'``, or ``'reflect'`` (chosen, or the fallback).
    price_per_image_usd : float
        0.
    copies_source_pixels : bool
        True: both fills copy the source's own pixels, so the pipeline
        gives a 16-bit or float border the source's values (see
        :mod:`napari_outpaint._imaging.depth`).
    fallback_reason : str or None
        Why PatchMatch was replaced by reflection padding.
    """

    name = 'local'
    price_per_image_usd = 0.0
    copies_source_pixels = True

    def __init__(
        self,
        method: str = 'patchmatch',
        *,
        seed: int = 0,
        scale: int | None = None,
        workers: int | None = None,
        client: Any = None,
    ) -> None:
        if method not in LOCAL_METHODS:
            raise InvalidInputError(
                'method',
                f'unknown local method {method!r}; use '
                f"'patchmatch' or 'reflect'.",
            )
        self.seed = _check_int('seed', seed, 0)
        self.scale = _check_int('scale', scale, 1, none_ok=True)
        self.workers = _check_int('workers', workers, 0, none_ok=True)
        self.client = None if client is None else check_client(client)
        self.method = method
        self.fallback_reason: str | None = None
        if method == 'patchmatch' and not patchmatch_importable():
            self.fallback_reason = (
                'PyPatchMatch is not available on this platform, so the '
                'border was filled by reflection padding; install a '
                'PyPatchMatch wheel (pip install PyPatchMatch) for the '
                'PatchMatch fill.'
            )
        self.model = 'reflect' if self.fallback_reason else method

    def __repr__(self) -> str:
        on = '' if self.client is None else f', client={self.client!r}'
        return f'LocalEngine(method={self.model!r}, seed={self.seed}{on})'

    def with_client(self, client: Any) -> LocalEngine:
        """This engine with its PatchMatch fills on *client*'s cluster.

        Raises
        ------
        InvalidInputError
            Naming ``client``: not a running ``distributed.Client``, or
            this engine already has another one.
        """
        check_client(client)
        if self.client is client:
            return self
        if self.client is not None:
            raise InvalidInputError(
                'client',
                'the engine already has its own Dask client; pass client= '
                'to LocalEngine or to the call, not both.',
            )
        engine = copy.copy(self)
        engine.client = client
        return engine

    def cluster_client(self) -> Any | None:
        """The Dask client this engine's fills go to now, or None.

        The given client, else the one active in this process; None for
        reflection padding, which runs here.
        """
        if self.model != 'patchmatch':
            return None
        if self.client is not None:
            return self.client
        return active_client()

    def computes_here(self) -> bool:
        """True unless the fills go to a Dask cluster: reflection padding
        and PatchMatch on this machine's processes use its memory and
        cores for the whole call."""
        return self.cluster_client() is None

    def planes_in_flight(self) -> int | None:
        """Planes a batch should keep in flight: the cluster's threads.

        None without a cluster (the batch's own default then applies).
        """
        client = self.cluster_client()
        if client is None:
            return None
        return cluster_threads(client) or None

    def plan(self, hole_pixels: int) -> tuple[int, int]:
        """``(scale, workers)`` used for a border of *hole_pixels*."""
        scale = self.scale
        if scale is None:
            scale = 1
            if hole_pixels >= FAST_MIN_HOLE_PIXELS:
                scale = 2
            if hole_pixels >= COARSER_MIN_HOLE_PIXELS:
                scale = 3
        workers = self.workers
        if workers is None:
            big = hole_pixels >= PROCESS_MIN_HOLE_PIXELS
            workers = min(2, os.cpu_count() or 1) if big else 0
        if scale == 1:
            workers = min(workers, 1)  # a single call uses one worker
        return scale, workers

    def outpaint(
        self,
        image: np.ndarray,
        expand: Expand,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> EngineResult:
        """Outpaint one ``(rows, cols, 3)`` uint8 RGB plane.

        Returns
        -------
        EngineResult
            ``image``: the whole canvas ``expand.canvas_shape(rows,
            cols)`` at the input's pixel size, original pixels unchanged.

        Raises
        ------
        InvalidInputError
            For an image that is not ``(rows, cols, 3)`` uint8 or an
            *expand* that is not an :class:`Expand`.
        OutpaintCancelled
            When *cancel* is cancelled (checked between steps and every
            50 ms while PatchMatch runs).
        """
        started = time.perf_counter()
        image = _check_image(image)
        if not isinstance(expand, Expand):
            raise InvalidInputError(
                'expand',
                f'expected an Expand, got {type(expand).__name__}; e.g. '
                'Expand(top=20, bottom=20, left=20, right=20).',
            )
        cancel = cancel or CancelToken()
        emit = progress or (lambda event: None)
        rows, cols = image.shape[:2]
        padding = expand.padding(rows, cols)
        shape = padding.canvas_shape(rows, cols)
        hole_pixels = shape[0] * shape[1] - rows * cols
        emit(ProgressEvent(Stage.PREPARING, 'preparing the canvas', 0.0))
        cancel.raise_if_cancelled()

        details: dict = {'method': self.model, 'hole_pixels': hole_pixels}
        if self.fallback_reason:
            details['fallback'] = self.fallback_reason
        fill_started = time.perf_counter()
        if self.model == 'reflect':
            emit(ProgressEvent(Stage.RUNNING, 'reflection padding', 0.05))
            canvas = reflect_fill(image, padding)
        else:
            canvas = self._patchmatch(
                image, padding, hole_pixels, emit, cancel, details
            )
        fill_seconds = time.perf_counter() - fill_started
        cancel.raise_if_cancelled()

        emit(ProgressEvent(Stage.FINISHING, 'keeping the original', 0.97))
        top, left = padding.top, padding.left
        canvas[top : top + rows, left : left + cols] = image  # bit-exact
        timings = {
            'fill': fill_seconds,
            'total': time.perf_counter() - started,
        }
        emit(ProgressEvent(Stage.DONE, 'done', 1.0))
        return EngineResult(
            image=canvas,
            engine=self.name,
            model=self.model,
            seed=self.seed if self.model == 'patchmatch' else None,
            cost_usd=0.0,
            timings=timings,
            details=details,
        )

    def _patchmatch(
        self,
        image,
        padding: Padding,
        hole_pixels,
        emit,
        cancel,
        details,
    ) -> np.ndarray:
        scale, workers = self.plan(hole_pixels)

        def report(fraction: float, message: str) -> None:
            emit(ProgressEvent(Stage.RUNNING, message, 0.05 + 0.9 * fraction))

        client = self.cluster_client()
        if client is None:
            canvas, processes = fill_plane(
                image,
                padding,
                seed=self.seed,
                scale=scale,
                workers=workers,
                cancel=cancel,
                report=report,
            )
            details.update(scale=scale, workers=processes)
            return canvas
        canvas, info = fill_on_cluster(
            client,
            image,
            padding,
            seed=self.seed,
            scale=scale,
            # the pieces this machine's processes would fill: same pixels
            parts=max(1, workers),
            workers=self.workers or 0,  # a worker's own threads by default
            cancel=cancel,
            report=report,
        )
        details.update(
            scale=scale,
            workers=info['workers'],
            cluster={
                'scheduler': scheduler_address(client),
                'worker': info['worker'],
            },
        )
        return canvas
