"""A batch assembled into a zarr store as its planes arrive.

:class:`StoreAssembly` is the :class:`~napari_outpaint._batch.assembly.
Assembly` of a batch given ``output='result.zarr'``: each finished plane
is written to the store (:class:`napari_outpaint._io.ResultStore`) and
not kept in memory, so a batch holds a few planes, not the stack; the
result's ``data`` and ``mask`` are dask arrays over the store. The
store's ``planes_done`` names the planes a re-run does not send again.

:func:`open_store_assembly` checks the output before any run: a path
that is not our store, a store of another source, expansion, engine or
plane selection, a folder that cannot be written.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_outpaint._batch.assembly import (
    _STYLE_KEYS,
    Assembly,
    _offset,
    _plane_mask,
    _resample,
)
from napari_outpaint._batch.selection import Plane
from napari_outpaint._canvas import Canvas
from napari_outpaint._expand import Expand
from napari_outpaint._io import ResultStore, ome_axes
from napari_outpaint._pipeline import Source
from napari_outpaint.engines import Engine

__all__ = ['StoreAssembly', 'StoreOutput', 'open_store_assembly']


@dataclass(frozen=True)
class StoreOutput:
    """Where a batch writes its result, and how its axes are named.

    Attributes
    ----------
    path : path-like
        ``result.zarr``.
    axis_names : sequence of str, optional
        One per layer axis (napari's ``axis_labels``, a file's axes);
        default ``t``/``z``/... then ``y``, ``x``.
    units : sequence of str, optional
        One per layer axis (``micrometer``, ``µm``, ``pixel``...).
    field : str
        The argument named in errors.
    """

    path: str | os.PathLike[str]
    axis_names: Sequence[str] | None = None
    units: Sequence[str | None] | None = None
    field: str = 'output'


def as_store_output(output: Any) -> StoreOutput | None:
    """*output* (a path or a :class:`StoreOutput`) as a StoreOutput."""
    if output is None or isinstance(output, StoreOutput):
        return output
    return StoreOutput(output)


def open_store_assembly(
    output: StoreOutput,
    source: Source,
    expand: Expand | Canvas,
    *,
    engine: Engine,
    keep_native_resolution: bool,
    origin: Plane,
    lead_shape: tuple[int, ...],
) -> StoreAssembly:
    """Create or reopen *output* for this batch; checked before any run.

    Raises
    ------
    InvalidInputError
        Naming ``output`` (see :meth:`ResultStore.open_for_batch`).
    """
    identity = {
        'source.shape': list(source.shape),
        'source.dtype': str(np.dtype(source.data.dtype)),
        'source.rgb': source.rgb,
        'source.contrast_limits': (
            None
            if source.contrast_limits is None
            else [float(v) for v in source.contrast_limits]
        ),
        'source.gamma': float(source.gamma),
        'source.scale': [float(s) for s in source.scale],
        'source.translate': [float(t) for t in source.translate],
        'source.first_plane_sha256': _plane_digest(source, origin),
        'expand': (
            expand.as_dict()
            if isinstance(expand, Expand)
            else expand.describe()
        ),
        'engine': f'{engine.name}/{engine.model}',
        'engine.keep_native_resolution': bool(keep_native_resolution),
        'planes.origin': list(origin),
        'planes.shape': list(lead_shape),
    }
    store = ResultStore.open_for_batch(
        output.path, identity, field=output.field
    )
    names = _axis_names(output.axis_names, source.ndim)
    units = (
        list(output.units)[-source.ndim :]
        if output.units is not None
        else [None] * source.ndim
    )
    axes = ome_axes(names, units, rgb=source.rgb)
    return StoreAssembly(
        store,
        origin,
        lead_shape,
        axes=axes,
        lead_scale=source.scale,
        lead_translate=source.translate,
    )


def _plane_digest(source: Source, plane: Plane) -> str:
    """The first 16 hex digits of the SHA-256 of one plane's pixels: a
    store of another source of the same shape is told apart by it."""
    pixels = np.ascontiguousarray(source.plane(plane))
    return hashlib.sha256(pixels.tobytes()).hexdigest()[:16]


_DEFAULT_LEAD = {0: [], 1: ['z'], 2: ['t', 'z'], 3: ['t', 'c', 'z']}


def _axis_names(given: Sequence[str] | None, ndim: int) -> list[str]:
    """The given names, unless missing, repeated or napari's defaults
    (``'-2'``, ``'-1'``...); else ``t``, ``z``, ``y``, ``x``."""
    if given is not None and len(given) >= ndim:
        names = [str(n) for n in list(given)[-ndim:]]
        numbered = all(n.lstrip('-').isdigit() for n in names)
        if len(set(names)) == ndim and not numbered:
            return names
    lead = _DEFAULT_LEAD.get(ndim - 2)
    if lead is None:
        lead = [f'dim_{i}' for i in range(ndim - 2)]
    return [*lead, 'y', 'x']


class StoreAssembly(Assembly):
    """An :class:`Assembly` whose planes go to a :class:`ResultStore`.

    ``data`` and ``mask()`` are dask arrays over the store; ``filled``
    and :attr:`done` come from its ``planes_done``.
    """

    def __init__(
        self,
        store: ResultStore,
        origin: Plane,
        lead_shape: tuple[int, ...],
        *,
        axes: list[dict[str, str]],
        lead_scale: Sequence[float],
        lead_translate: Sequence[float],
    ) -> None:
        super().__init__(origin, lead_shape)
        self.store = store
        self.axes = axes
        self.source_placement = (lead_scale, lead_translate)
        record = store.record
        first = record.get('first_plane')
        if store.has_arrays and first is not None:
            self.first = (
                tuple(first['scale']),
                tuple(first['translate']),
                None
                if first.get('affine') is None
                else np.asarray(first['affine'], float),
                tuple(first['shape']),
            )
            self.style = dict(record.get('style') or {})
            self.data = store.image()
        self.done: set[Plane] = store.done()
        for plane in self.done:
            self.filled[_offset(plane, origin)] = True

    def add(self, plane: Plane, result: Any, n_lead: int) -> None:
        """Write *result*'s plane and mask to the store, then list it."""
        pdata = np.asarray(result.data)
        pdata = pdata.reshape(pdata.shape[n_lead:])
        mask = _plane_mask(result.mask, n_lead)
        with self.lock:
            if self.first is None:
                self._start(result, pdata, n_lead)
        shape = self.first[3]
        if pdata.shape != shape:
            pdata = _resample(pdata, shape)
            mask = _resample(mask, shape[: mask.ndim], nearest=True)
        where = _offset(plane, self.origin)
        self.store.write_plane(where, pdata, mask, plane)
        with self.lock:
            self.filled[where] = True
            self.done.add(plane)

    def _start(self, result: Any, pdata: np.ndarray, n_lead: int) -> None:
        """The first finished plane: create the arrays and the placement."""
        self.first = (
            tuple(float(s) for s in result.scale),
            tuple(float(t) for t in result.translate),
            result.affine,
            pdata.shape,
        )
        self.style = {
            k: v
            for k, v in result.layer_kwargs().items()
            if k in _STYLE_KEYS and v is not None
        }
        rgb = bool(self.style.get('rgb', False))
        self.store.create_arrays(
            self.lead_shape + pdata.shape, pdata.dtype, n_lead=n_lead, rgb=rgb
        )
        self.store.update_record(
            first_plane={
                'scale': self.first[0],
                'translate': self.first[1],
                'affine': None
                if result.affine is None
                else np.asarray(result.affine).tolist(),
                'shape': list(pdata.shape),
            },
            style=self.style,
        )
        out_scale, out_translate, _ = self.placement(*self.source_placement)
        self.store.write_placement(
            axes=self.axes,
            scale=out_scale,
            translate=out_translate,
            name=self.style.get('name'),
        )
        self.data = self.store.image()

    def mask(self) -> Any:
        """The generated-pixel mask, a bool dask array over the store."""
        if self.data is None:
            return None
        return self.store.mask().astype(bool)

    def keep_provenance(self, provenance: dict[str, Any]) -> None:
        """Record the batch's provenance in the store; the planes of
        earlier batches into it keep theirs."""
        earlier = self.store.record.get('provenance') or {}
        planes = dict(earlier.get('planes') or {})
        planes.update(provenance.get('planes') or {})
        self.store.update_record(provenance={**provenance, 'planes': planes})
