"""Channels of one image as the one 8-bit RGB image an engine sees.

:class:`ChannelComposite` is a lazy ``(..., rows, cols, 3)`` uint8 array
over the channels of one image (each ``(..., rows, cols)`` in its own
dtype): a plane is composed only when it is read. Up to three channels
go into the R, G and B, each through its own contrast limits and gamma.
More channels are reduced to a *guide* (:func:`guide_basis`): the first
three principal components of the channels' 8-bit views, each stretched
to 0-255, so that an engine that copies source pixels (PatchMatch) finds
one set of patch offsets for every channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_outpaint._imaging.convert import select_plane, to_rgb8

__all__ = [
    'CHANNELS_PER_RUN',
    'GUIDE_SAMPLE_PIXELS',
    'ChannelComposite',
    'GuideBasis',
    'guide_basis',
]

#: Channels that share one request (its R, G and B).
CHANNELS_PER_RUN = 3
#: Pixels (per channel) the principal components are computed from.
GUIDE_SAMPLE_PIXELS = 1 << 18


@dataclass(frozen=True)
class GuideBasis:
    """How C channels' 8-bit views become a 3-channel 8-bit guide.

    Attributes
    ----------
    mean : numpy.ndarray
        ``(C,)``, the mean 8-bit view.
    components : numpy.ndarray
        ``(C, 3)``: the first three principal directions (columns), each
        signed to grow with the sum of the channels (its loadings sum
        above 0; when they sum to 0, its largest loading is positive).
    low, high : numpy.ndarray
        ``(3,)``: the range of each component over the sample, mapped to
        0 and 255.
    """

    mean: np.ndarray
    components: np.ndarray
    low: np.ndarray
    high: np.ndarray

    def apply(self, views: np.ndarray) -> np.ndarray:
        """uint8 ``(rows, cols, 3)`` of float ``(rows, cols, C)`` views."""
        projected = (views - self.mean) @ self.components
        span = np.where(self.high > self.low, self.high - self.low, 1.0)
        unit = np.clip((projected - self.low) / span, 0.0, 1.0)
        return np.rint(unit * 255.0).astype(np.uint8)


def guide_basis(views: np.ndarray) -> GuideBasis:
    """The principal components of *views* (``(N, C)`` 8-bit values).

    Fewer than three channels are padded with zero components.
    """
    work = np.asarray(views, dtype=np.float64)
    mean = work.mean(axis=0)
    centred = work - mean
    covariance = centred.T @ centred / max(1, len(work) - 1)
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1][:3]
    components = np.zeros((work.shape[1], 3))
    components[:, : len(order)] = vectors[:, order]
    for k in range(3):
        column = components[:, k]
        lean = column.sum()
        if abs(lean) < 1e-9:
            lean = column[np.argmax(np.abs(column))]
        if lean < 0:
            components[:, k] = -column
    projected = centred @ components
    return GuideBasis(
        mean=mean,
        components=components,
        low=projected.min(axis=0),
        high=projected.max(axis=0),
    )


class ChannelComposite:
    """A lazy ``(..., rows, cols, 3)`` uint8 image of channels of one image.

    Parameters
    ----------
    channels : sequence of array-like
        ``(..., rows, cols)`` each, one shape (numpy, dask, zarr: only the
        plane read is loaded).
    limits : sequence of (float, float)
        Each channel's contrast limits (its 8-bit window).
    gammas : sequence of float
        Each channel's display gamma.
    guide : bool
        False (at most three channels): channel k in colour k, a missing
        channel 0. True: the :class:`GuideBasis` reduction of all
        channels, its basis computed from up to eight planes spread over
        the stack (:data:`GUIDE_SAMPLE_PIXELS` pixels), the same for
        every plane.
    """

    def __init__(
        self,
        channels: Sequence[Any],
        limits: Sequence[Sequence[float]],
        gammas: Sequence[float],
        *,
        guide: bool = False,
    ) -> None:
        if not guide and len(channels) > CHANNELS_PER_RUN:
            raise ValueError(
                f'at most {CHANNELS_PER_RUN} channels without a guide'
            )
        self.channels = list(channels)
        self.limits = [tuple(float(v) for v in lim) for lim in limits]
        self.gammas = [float(g) for g in gammas]
        first = self.channels[0]
        self._lead = tuple(int(n) for n in first.shape[:-2])
        self.shape = (*tuple(int(n) for n in first.shape), 3)
        self.dtype = np.dtype(np.uint8)
        self.ndim = len(self.shape)
        self.basis = self._sample_basis() if guide else None

    def __getitem__(self, index: Any) -> np.ndarray:
        index = index if isinstance(index, tuple) else (index,)
        if len(index) != len(self._lead) or not all(
            isinstance(i, int | np.integer) for i in index
        ):
            raise IndexError('a ChannelComposite is read one plane at a time')
        return self.plane(tuple(int(i) for i in index))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        planes = [self.plane(i) for i in np.ndindex(*self._lead)]
        out = np.stack(planes).reshape(self.shape)
        return out if dtype is None else out.astype(dtype)

    def views(self, index: Sequence[int]) -> list[np.ndarray]:
        """Each channel's 8-bit ``(rows, cols)`` view of plane *index*."""
        return [
            to_rgb8(
                select_plane(data, index, rgb=False),
                rgb=False,
                contrast_limits=lim,
                gamma=gamma,
            )[..., 0]
            for data, lim, gamma in zip(
                self.channels, self.limits, self.gammas, strict=True
            )
        ]

    def plane(self, index: Sequence[int]) -> np.ndarray:
        """uint8 ``(rows, cols, 3)``: the plane *index* as the engine sees
        it."""
        views = self.views(index)
        if self.basis is not None:
            return self.basis.apply(np.stack(views, axis=-1).astype(float))
        rgb = np.zeros((*views[0].shape, 3), dtype=np.uint8)
        for k, view in enumerate(views):
            rgb[..., k] = view
        return rgb

    def _sample_basis(self) -> GuideBasis:
        planes = list(np.ndindex(*self._lead)) or [()]
        picked = [
            planes[i] for i in np.linspace(0, len(planes) - 1, 8, dtype=int)
        ]
        samples = []
        per_plane = GUIDE_SAMPLE_PIXELS // len(set(picked))
        for index in dict.fromkeys(picked):
            views = np.stack(self.views(index), axis=-1).reshape(
                -1, len(self.channels)
            )
            step = max(1, len(views) // per_plane)
            samples.append(views[::step])
        return guide_basis(np.concatenate(samples))
