"""What a batch reports: per-plane outcomes, progress, the nD result."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from napari_outpaint._batch.selection import Plane, plane_text
from napari_outpaint._cache import CostEstimate
from napari_outpaint._progress import ProgressEvent, Stage

__all__ = [
    'BatchProgress',
    'BatchResult',
    'PlaneOutcome',
    'as_event_callback',
    'batch_provenance',
]


@dataclass(frozen=True)
class PlaneOutcome:
    """What happened to one plane.

    Attributes
    ----------
    plane : tuple of int
        Its indices along the non-spatial axes.
    status : str
        ``'done'`` (a new paid run), ``'cached'`` (free, from the cache),
        ``'collected'`` (a run submitted earlier), ``'stored'`` (already
        complete in the batch's output store: not sent), ``'failed'``,
        ``'cancelled'`` or ``'not run'`` (the batch stopped first).
    run_id : str or None
    cost_usd : float
        What this plane cost in this batch.
    error : OutpaintError or None
    """

    plane: Plane
    status: str
    run_id: str | None = None
    cost_usd: float = 0.0
    error: BaseException | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        """Whether the plane's result is in the batch result."""
        return self.status in ('done', 'cached', 'collected', 'stored')

    @property
    def message(self) -> str:
        """One line for the user."""
        text = f'plane {plane_text(self.plane)}: {self.status}'
        if self.run_id:
            text += f' (run {self.run_id})'
        if self.error is not None:
            text += f': {self.error}'
        return text


@dataclass(frozen=True)
class BatchProgress:
    """A progress report of a batch (per plane and overall).

    Attributes
    ----------
    plane : tuple of int or None
        The plane concerned, or None for the batch as a whole.
    event : ProgressEvent or None
        The pipeline's own event for that plane.
    finished, failed, total : int
        Planes finished (incl. cached), failed or not run, and selected.
    fraction : float
        Overall progress in [0, 1].
    message : str
    """

    plane: Plane | None
    event: ProgressEvent | None
    finished: int
    failed: int
    total: int
    fraction: float
    message: str = ''


@dataclass(frozen=True)
class BatchResult:
    """One nD result assembled from the finished planes.

    Attributes
    ----------
    data : numpy.ndarray or None
        Source dtype, the non-spatial axes of the selection's bounding box,
        then the expanded plane. Planes that did not finish are 0. None
        when no plane finished.
    mask : numpy.ndarray or None
        Bool, True = generated pixel; a read-only broadcast when all
        planes share one mask.
    filled : numpy.ndarray
        Bool over the non-spatial axes: which planes hold a result.
    scale, translate : tuple of float
        Full-ndim placement, as for a single plane.
    affine : numpy.ndarray or None
    provenance : dict
        JSON-able: the batch summary and each plane's provenance.
    outcomes : tuple of PlaneOutcome
    estimate : CostEstimate
    stopped_by : OutpaintError or None
        What stopped new runs (402, spend cap, cancel, 401 ...), if any.
    """

    data: np.ndarray | None
    mask: np.ndarray | None
    filled: np.ndarray
    scale: tuple[float, ...]
    translate: tuple[float, ...]
    affine: Any
    provenance: dict[str, Any]
    outcomes: tuple[PlaneOutcome, ...]
    estimate: CostEstimate
    stopped_by: BaseException | None = field(default=None, repr=False)
    style: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def finished(self) -> list[PlaneOutcome]:
        """Planes whose result is in ``data``."""
        return [o for o in self.outcomes if o.finished]

    @property
    def failures(self) -> list[PlaneOutcome]:
        """Planes that failed, were cancelled or were not run."""
        return [o for o in self.outcomes if not o.finished]

    @property
    def complete(self) -> bool:
        """Whether every selected plane finished."""
        return not self.failures

    @property
    def cost_usd(self) -> float:
        """What this batch spent."""
        return round(sum(o.cost_usd for o in self.outcomes), 2)

    def raise_if_nothing_finished(self) -> None:
        """Raise what stopped the batch (or the first failure) when no
        plane finished; for callers that need at least one plane."""
        if self.finished:
            return
        error = self.stopped_by or next(
            (o.error for o in self.outcomes if o.error is not None), None
        )
        if error is not None:
            raise error

    def summary(self) -> str:
        """A few lines for the user: counts, cost, failures, what to do."""
        counts = {}
        for o in self.outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        parts = ', '.join(f'{n} {s}' for s, n in sorted(counts.items()))
        text = (
            f'{len(self.finished)} of {len(self.outcomes)} planes finished '
            f'({parts}); spent ${self.cost_usd:.2f}.'
        )
        if self.stopped_by is not None:
            text += f' Stopped: {self.stopped_by}'
        failed = [o for o in self.outcomes if o.status == 'failed']
        for o in failed[:10]:
            text += f'\n  {o.message}'
        if len(failed) > 10:
            text += f'\n  ... and {len(failed) - 10} more failed planes'
        if self.failures:
            text += (
                '\nRun the same batch again to finish it: finished planes '
                'come from the cache at no cost.'
            )
        return text

    def layer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``napari.layers.Image(result.data, ...)``."""
        kwargs: dict[str, Any] = dict(self.style)
        kwargs.update(
            scale=self.scale,
            translate=self.translate,
            metadata={
                'outpaint': self.provenance,
                'outpaint_mask': self.mask,
            },
        )
        if self.affine is not None:
            kwargs['affine'] = self.affine
        return kwargs


def as_event_callback(
    progress: Callable[[ProgressEvent], None],
) -> Callable[[BatchProgress], None]:
    """Adapt a single-plane ``ProgressEvent`` callback to a batch.

    Each report becomes one ``ProgressEvent`` whose ``fraction`` is the
    batch's overall progress and whose message names the plane, so code
    written for one plane (a progress bar, napari's status) shows a batch.
    """

    def forward(report: BatchProgress) -> None:
        event = report.event
        where = f'plane {plane_text(report.plane)}: ' if report.plane else ''
        counts = f' [{report.finished}/{report.total}]'
        progress(
            ProgressEvent(
                event.stage if event is not None else Stage.RUNNING,
                f'{where}{report.message}{counts}',
                report.fraction,
                event.run_id if event is not None else None,
            )
        )

    return forward


def batch_provenance(
    planes: Sequence[Plane],
    *,
    batch_id: str | None = None,
    origin: Plane,
    expand: Any,
    engine: Any,
    estimate: CostEstimate,
    outcomes: Sequence[PlaneOutcome],
    stopped_by: BaseException | None,
    plane_provenances: Mapping[Plane, Any],
) -> dict[str, Any]:
    """The provenance of a batch: its outcomes and each plane's record."""
    return {
        'batch': {
            'id': batch_id,
            'planes': [list(p) for p in planes],
            'origin': list(origin),
            'expand': expand.as_dict(),
            'engine': engine.name,
            'model': engine.model,
            'estimate': estimate.text,
            'cost_usd': round(sum(o.cost_usd for o in outcomes), 2),
            'outcomes': [
                {
                    'plane': list(o.plane),
                    'status': o.status,
                    'run_id': o.run_id,
                    'error': str(o.error) if o.error else None,
                }
                for o in outcomes
            ],
            'stopped_by': str(stopped_by) if stopped_by else None,
        },
        'planes': {
            ','.join(map(str, p)): plane_provenances[p]
            for p in planes
            if p in plane_provenances
        },
    }
