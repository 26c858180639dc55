"""The words the widget shows while a run goes on.

:func:`run_status` turns one plane's progress event into a short line
without run ids (they are long and belong in the details, not the dock);
:func:`batch_status` turns a batch's report into ``'plane z=3 (4 of 6)'``,
naming each axis by the layer's axis label, or by its index when the
layer has napari's default labels.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from napari_outpaint._batch import BatchProgress
from napari_outpaint._progress import ProgressEvent

__all__ = ['axis_names', 'batch_status', 'plane_text', 'run_status']

_DEFAULT_LABEL = re.compile(r'(axis\s*)?-?\d+')
_UUID = re.compile(
    r'\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b',
    re.IGNORECASE,
)


def axis_names(labels: Sequence[str], n_leading: int) -> tuple[str, ...]:
    """Names of the first *n_leading* axes: their label, else ``'axis i'``.

    napari's default labels are axis numbers (``'-3'``, ``'0'``, or
    ``'axis -3'`` when the viewer's dims were labelled); those name
    nothing, so the axis index is used.
    """
    names = []
    for axis in range(n_leading):
        label = str(labels[axis]).strip() if axis < len(labels) else ''
        named = label and not _DEFAULT_LABEL.fullmatch(label)
        names.append(label if named else f'axis {axis}')
    return tuple(names)


def plane_text(plane: Sequence[int], names: Sequence[str]) -> str:
    """``'plane z=3'`` or ``'plane t=1, z=2'``."""
    parts = (
        f'{name}={int(index)}'
        for name, index in zip(names, plane, strict=False)
    )
    return 'plane ' + ', '.join(parts)


def batch_status(report: BatchProgress, names: Sequence[str]) -> str:
    """``'plane z=3 (4 of 6)'``, ``'(4 of 6, 1 failed)'``, or for the
    batch as a whole ``'4 of 6 planes'``."""
    counts = f'{report.finished} of {report.total}'
    if report.failed:
        counts += f', {report.failed} failed'
    if report.plane is None:
        return f'{counts} planes'
    return f'{plane_text(report.plane, names)} ({counts})'


def run_status(event: ProgressEvent) -> str:
    """One plane's progress, e.g. ``'Run queued'``: the message without
    run ids or a final stop, else the stage."""
    message = event.message
    if event.run_id:
        message = message.replace(event.run_id, '')
    message = re.sub(r'\s+', ' ', _UUID.sub('', message)).strip()
    return message.rstrip('.').rstrip() or str(event.stage)
