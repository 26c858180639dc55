"""The image to outpaint, validated once: pixels, display mapping, world.

:func:`prepare_source` checks what a caller gave (data, colour, contrast
limits, gamma, the napari transform) and returns a :class:`Source`. One
plane or a whole batch is then outpainted from it without validating or
converting anything twice: every plane of a batch gets the same source.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_outpaint._imaging import (
    as_level0,
    default_contrast_limits,
    leading_ndim,
    select_plane,
)
from napari_outpaint._pipeline.validate import (
    affine_matrix,
    check_data,
    check_gamma,
    check_limits,
    linear_matrix,
    vector,
)

__all__ = ['Source', 'prepare_source']


@dataclass(frozen=True, eq=False)
class Source:
    """An image to outpaint, with everything needed to place its result.

    Attributes
    ----------
    data : array-like
        Level 0 of the image (numpy, dask, zarr: lazy arrays stay lazy),
        ``(..., rows, cols)`` or ``(..., rows, cols, 3|4)`` when *rgb*.
    rgb : bool
        Whether the last axis holds colour channels.
    multiscale : bool
        Whether the caller gave a pyramid (level 0 is used).
    contrast_limits : (float, float) or None
        The 8-bit window; None: each plane's own default
        (:func:`~napari_outpaint._imaging.convert.default_contrast_limits`).
    gamma : float
        napari's display gamma.
    scale, translate : numpy.ndarray
        One entry per layer axis (``ndim``).
    affine : numpy.ndarray
        ``(ndim + 1, ndim + 1)``.
    rotate, shear : numpy.ndarray or None
        As given.
    linear : numpy.ndarray
        napari's data-to-physical linear matrix (rotate @ shear @ scale).
    name : str or None
        The source's name, for the result's name and the provenance.
    max_pixels : int or None
        The largest canvas of one plane (None: ``NAPARI_OUTPAINT_MAX_PIXELS``
        or the default, see :mod:`napari_outpaint._pipeline.memory`).
    """

    data: Any
    rgb: bool
    multiscale: bool
    contrast_limits: tuple[float, float] | None
    gamma: float
    scale: np.ndarray
    translate: np.ndarray
    affine: np.ndarray
    rotate: np.ndarray | None
    shear: np.ndarray | None
    linear: np.ndarray
    name: str | None = None
    max_pixels: int | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """The data's shape (colour axis included)."""
        return tuple(int(n) for n in self.data.shape)

    @property
    def n_lead(self) -> int:
        """How many non-spatial (plane-selecting) axes there are."""
        return leading_ndim(len(self.shape), self.rgb)

    @property
    def lead_shape(self) -> tuple[int, ...]:
        """The shape of the non-spatial axes."""
        return self.shape[: self.n_lead]

    @property
    def plane_shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of one plane."""
        rows, cols = self.shape[self.n_lead : self.n_lead + 2]
        return rows, cols

    @property
    def channels(self) -> int:
        """Colour channels per pixel: 1 for greyscale, 3 or 4 for RGB(A)."""
        return self.shape[-1] if self.rgb else 1

    @property
    def ndim(self) -> int:
        """The layer's number of dimensions (no colour axis)."""
        return len(self.shape) - int(self.rgb)

    def plane(self, index: Sequence[int]) -> np.ndarray:
        """The pixels of the plane at *index* (only that plane is read)."""
        return select_plane(self.data, index, rgb=self.rgb)

    def limits_for(self, pixels: np.ndarray) -> tuple[float, float]:
        """The 8-bit window of *pixels*: the source's, else their own."""
        if self.contrast_limits is not None:
            return self.contrast_limits
        return default_contrast_limits(pixels)

    def with_limits(self, limits: tuple[float, float] | None) -> Source:
        """This source with other contrast limits (None: per plane)."""
        return dataclasses.replace(self, contrast_limits=limits)

    def record(self, limits: Sequence[float]) -> dict[str, Any]:
        """The provenance's ``source`` section, for a plane sent through
        *limits*: what re-opens the result aligned later."""
        return {
            'layer': self.name,
            'shape': list(self.shape),
            'dtype': str(np.dtype(self.data.dtype)),
            'rgb': self.rgb,
            'multiscale': self.multiscale,
            'contrast_limits': list(limits),
            'gamma': self.gamma,
            'scale': list(self.scale),
            'translate': list(self.translate),
            'rotate': self.rotate,
            'shear': self.shear,
            'affine': self.affine,
        }


def prepare_source(
    data: Any,
    *,
    rgb: bool | None = None,
    contrast_limits: Sequence[float] | None = None,
    gamma: float = 1.0,
    scale: Sequence[float] | None = None,
    translate: Sequence[float] | None = None,
    affine: Any = None,
    rotate: Any = None,
    shear: Any = None,
    name: str | None = None,
    max_pixels: int | None = None,
) -> Source:
    """Validate an image and its napari transform into a :class:`Source`.

    Parameters
    ----------
    data : array-like or list of array-like
        ``(..., rows, cols)`` or ``(..., rows, cols, 3|4)``; a list is a
        multiscale pyramid (level 0 is used). Nothing is loaded.
    rgb : bool, optional
        Whether the last axis is colour; guessed (last axis 3 or 4 and
        ndim >= 3) when None.
    contrast_limits, gamma
        The display mapping to 8 bits.
    scale, translate, affine, rotate, shear
        The napari transform (layer ndim = data ndim - rgb).
    name : str, optional
        The source's name.
    max_pixels : int, optional
        The largest canvas of one plane (see :class:`Source`).

    Raises
    ------
    InvalidInputError
        Naming the argument, before anything is read or sent.
    """
    multiscale = isinstance(data, list | tuple)
    level0 = as_level0(data)
    rgb = check_data(level0, rgb)
    ndim = len(level0.shape) - int(rgb)
    scale_v = vector('scale', scale, ndim, 1.0)
    return Source(
        data=level0,
        rgb=rgb,
        multiscale=multiscale,
        contrast_limits=(
            None if contrast_limits is None else check_limits(contrast_limits)
        ),
        gamma=check_gamma(gamma),
        scale=scale_v,
        translate=vector('translate', translate, ndim, 0.0),
        affine=affine_matrix(affine, ndim),
        rotate=None if rotate is None else np.asarray(rotate),
        shear=None if shear is None else np.asarray(shear),
        linear=linear_matrix(scale_v, rotate, shear, ndim),
        name=name,
        max_pixels=None if max_pixels is None else int(max_pixels),
    )
