"""The nD result of a batch, assembled plane by plane.

Planes that come back at another resolution are resampled onto the first
plane's grid; one mask is shared when every plane's mask is the same.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from napari_outpaint._batch.selection import Plane

__all__ = ['Assembly']

_STYLE_KEYS = ('name', 'rgb', 'contrast_limits', 'gamma', 'rotate', 'shear')


class Assembly:
    """The nD output, allocated on the first finished plane."""

    def __init__(self, origin: Plane, lead_shape: tuple[int, ...]):
        self.lock = threading.Lock()
        self.origin = origin
        self.lead_shape = lead_shape
        self.data: np.ndarray | None = None
        self.masks: dict[Plane, np.ndarray] = {}
        self.first = None  # (scale, translate, affine, plane_shape)
        self.style: dict[str, Any] = {}
        self.filled = np.zeros(lead_shape, bool)

    def add(self, plane: Plane, result: Any, n_lead: int) -> None:
        pdata = np.asarray(result.data)
        pdata = pdata.reshape(pdata.shape[n_lead:])
        mask = _plane_mask(result.mask, n_lead)
        with self.lock:
            if self.data is None:
                self.data = np.zeros(
                    self.lead_shape + pdata.shape, pdata.dtype
                )
                self.first = (
                    tuple(result.scale),
                    tuple(result.translate),
                    result.affine,
                    pdata.shape,
                )
                self.style = {
                    k: v
                    for k, v in result.layer_kwargs().items()
                    if k in _STYLE_KEYS and v is not None
                }
        shape = self.first[3]
        if pdata.shape != shape:
            pdata = _resample(pdata, shape)
            mask = _resample(mask, shape[: mask.ndim], nearest=True)
        where = _offset(plane, self.origin)
        self.data[where] = pdata
        with self.lock:
            shared = next(iter(self.masks.values()), None)
            if shared is not None and np.array_equal(mask, shared):
                mask = shared  # one mask for all planes, not one per plane
            self.masks[plane] = mask
            self.filled[where] = True

    def placement(
        self, scale: Any, translate: Any
    ) -> tuple[tuple[float, ...], tuple[float, ...], Any]:
        """``(scale, translate, affine)`` of the assembled nD result.

        The non-spatial entries come from the input's *scale* and
        *translate* (shifted to the first selected plane), the spatial ones
        from the first finished plane; empty when no plane finished.
        """
        first = self.first
        if first is None:
            return (), (), None
        n_lead = len(self.origin)
        lead_scale = _lead(scale, n_lead, 1.0)
        lead_translate = tuple(
            t + o * s
            for t, o, s in zip(
                _lead(translate, n_lead, 0.0),
                self.origin,
                lead_scale,
                strict=True,
            )
        )
        return (
            lead_scale + tuple(first[0][n_lead:]),
            lead_translate + tuple(first[1][n_lead:]),
            first[2],
        )

    def mask(self) -> np.ndarray | None:
        if self.data is None:
            return None
        masks = list(self.masks.values())
        first = masks[0]
        if all(m is first for m in masks[1:]) and bool(self.filled.all()):
            return np.broadcast_to(first, self.lead_shape + first.shape)
        out = np.zeros(self.lead_shape + first.shape, bool)
        for plane, m in self.masks.items():
            out[_offset(plane, self.origin)] = m
        return out


def _offset(plane: Plane, origin: Plane) -> Plane:
    return tuple(i - o for i, o in zip(plane, origin, strict=True))


def _plane_mask(mask: Any, n_lead: int) -> np.ndarray:
    m = np.asarray(mask, dtype=bool)
    while m.ndim > 2 and m.shape[0] == 1 and n_lead > 0:
        m = m[0]
        n_lead -= 1
    return m


def _resample(plane: np.ndarray, shape, *, nearest=False) -> np.ndarray:
    """Resample *plane* onto *shape* (same extent), keeping its dtype.

    Pixel edges span the same extent on both grids (``grid_mode``), as
    napari's pixel-centre convention needs; extra axes are kept.
    """
    from scipy import ndimage  # heavy; only when planes differ in size

    target = tuple(shape) + plane.shape[len(shape) :]
    factors = [t / n for t, n in zip(target, plane.shape, strict=True)]
    work = plane if nearest else plane.astype(np.float64)
    out = ndimage.zoom(
        work,
        factors,
        order=0 if nearest else 1,
        mode='nearest',
        grid_mode=True,
    )
    if plane.dtype.kind in 'ui':
        info = np.iinfo(plane.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(plane.dtype)


def _lead(values, n_lead, default) -> tuple[float, ...]:
    """The non-spatial entries of a scale or translate (or defaults)."""
    if values is None:
        return (default,) * n_lead
    return tuple(float(v) for v in values)[:n_lead]
