"""The small contract every outpainting engine fulfils."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from napari_outpaint._expand import Expand
from napari_outpaint._progress import CancelToken, ProgressCallback

__all__ = ['INPUT_LEFT', 'INPUT_RESIZED', 'Engine', 'EngineResult']


#: ``details`` key: the plane was resampled to fit the engine's input
#: limit (``{'from': [rows, cols], 'to': [rows, cols], 'max_input_side'}``).
INPUT_RESIZED = 'input_resized'
#: ``details`` key: the uploaded input stays on the host and why
#: (``{'asset_id', 'reason'}``).
INPUT_LEFT = 'hosted_input_left'


@dataclass(frozen=True)
class EngineResult:
    """What an engine returns for one outpainted plane.

    Attributes
    ----------
    image : numpy.ndarray
        ``(rows, cols, 3)`` uint8 RGB: the whole expanded canvas, at the
        engine's own resolution (Runflow upscales; the local engine keeps
        the input's pixel size).
    engine : str
        ``'runflow'`` or ``'local'``.
    model : str
        E.g. ``'runflow/outpaint'``, ``'patchmatch'``, ``'reflect'``.
    run_id : str or None
        The remote run id, for engines that have one.
    seed : int or None
        The seed used or reported, when known.
    cost_usd : float
        What this result cost (0 for the local engine).
    timings : Mapping[str, float]
        Seconds per stage (e.g. ``publish``, ``queue``, ``download``).
    raw : bytes or None
        The result exactly as downloaded, for the paid-result cache.
    raw_content_type : str or None
        The media type of ``raw``.
    details : Mapping[str, Any]
        Anything else the engine reports (e.g. ``nsfw_detected``); the
        pipeline turns :data:`INPUT_RESIZED` and :data:`INPUT_LEFT` into
        warnings for the user.
    """

    image: np.ndarray
    engine: str
    model: str
    run_id: str | None = None
    seed: int | None = None
    cost_usd: float = 0.0
    timings: Mapping[str, float] = field(default_factory=dict)
    raw: bytes | None = field(default=None, repr=False)
    raw_content_type: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Engine(Protocol):
    """An outpainting engine.

    Attributes
    ----------
    name : str
        ``'runflow'`` or ``'local'``; shown to the user.
    model : str
        The model or method, recorded in provenance.
    price_per_image_usd : float
        What one call costs (0 for local engines).

    Notes
    -----
    An engine may also have a ``cache_namespace`` (str): what identifies
    its results in the paid-result cache key, when the model alone does
    not (``RunflowEngine`` at another endpoint than the real service,
    e.g. ``'runflow/outpaint@127.0.0.1:8443'``). Without it the model is
    used; see :func:`napari_outpaint._cache.key.cache_model_id`. It is not
    part of the protocol, so ``isinstance(engine, Engine)`` ignores it.

    An engine whose call does its work on this machine (memory, CPU)
    rather than waiting on a service or a cluster says so with a
    ``computes_here()`` method returning True; a batch then lets one such
    call run at a time instead of keeping many in flight (see
    :class:`napari_outpaint._batch.state.HeavyPhase`). Without it the
    engine is taken to wait elsewhere. A ``planes_in_flight()`` method
    returning an int asks a batch given no concurrency for more planes
    in flight than the default (a Dask cluster's threads, Runflow's batch
    route).
    """

    name: str
    model: str
    price_per_image_usd: float

    def outpaint(
        self,
        image: np.ndarray,
        expand: Expand,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> EngineResult:
        """Outpaint one ``(rows, cols, 3)`` uint8 RGB plane.

        The result covers the canvas given by ``expand.padding(rows,
        cols)``, possibly at another resolution. Engines report
        :class:`~napari_outpaint._progress.ProgressEvent` s to *progress*
        and stop at the next cancel point once *cancel* is cancelled,
        raising :class:`~napari_outpaint.OutpaintCancelled` after cleaning
        up.
        """
        ...
