"""Outpaint one 2D plane: the per-plane path every caller shares.

:func:`outpaint_plane` takes a plane in its own dtype, sends the 8-bit
view of it to an engine, and brings the result back to the plane's dtype,
either on the original's pixel grid with the original pixels put back
unchanged (the default), or at the engine's native resolution. It checks
the alignment and scores the seam. It knows nothing of napari layers, nD
stacks or world coordinates: single-plane and batch callers place and
assemble the planes (see :mod:`napari_outpaint._pipeline.array`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from napari_outpaint._errors import ResultError
from napari_outpaint._expand import Expand, Padding
from napari_outpaint._imaging import (
    ALIGNMENT_WARN_PX,
    SEAM_WARN_THRESHOLD,
    Alignment,
    from_rgb8,
    measure_alignment,
    resample_rgb8,
    restore_depth,
    seam_score,
    to_rgb8,
)
from napari_outpaint._progress import (
    CancelToken,
    ProgressCallback,
    ProgressEvent,
    Stage,
)
from napari_outpaint.engines import (
    INPUT_LEFT,
    INPUT_RESIZED,
    Engine,
    EngineResult,
)

__all__ = ['PlaneResult', 'native_mask', 'outpaint_plane']


@dataclass(frozen=True, eq=False)
class PlaneResult:
    """One outpainted plane, before placement.

    Attributes
    ----------
    data : numpy.ndarray
        ``(rows, cols)`` or ``(rows, cols, C)`` in the plane's dtype.
    mask : numpy.ndarray
        bool ``(rows, cols)``, True where the pixel was generated.
    padding : Padding
        Pixels added per side, in original pixels.
    canvas_shape : (int, int)
        The expanded canvas in original pixels.
    inner : (slice, slice)
        Where the original sits in *data* (in native mode: the result
        pixels whose centres fall on the original).
    native : bool
        Whether *data* is at the engine's resolution.
    seam_score : float or None
        :func:`~napari_outpaint._imaging.quality.seam_score` of the final 8-bit
        canvas around the original.
    alignment : Alignment
    warnings : tuple of str
        Messages for the user (not yet emitted).
    engine_result : EngineResult
    timings : dict
        Seconds spent here, per step (the engine's own are in
        ``engine_result.timings``).
    passes : tuple of dict
        For a canvas made in several passes (or cropped): a record of each
        pass, in order (see :mod:`napari_outpaint._pipeline.passes`);
        empty for one plain pass.
    source_values : float or None
        For a 16-bit or float plane whose engine copies source pixels:
        the share of border pixels given a source value (full bit depth);
        None when the border keeps the engine's 8 bits.
    """

    data: np.ndarray
    mask: np.ndarray
    padding: Padding
    canvas_shape: tuple[int, int]
    inner: tuple[slice, slice]
    native: bool
    seam_score: float | None
    alignment: Alignment
    warnings: tuple[str, ...]
    engine_result: EngineResult
    timings: dict[str, float] = field(default_factory=dict)
    passes: tuple[dict[str, Any], ...] = ()
    source_values: float | None = None

    @property
    def pixels_per_result_pixel(self) -> tuple[float, float]:
        """Original pixels per result pixel, per axis (rows, cols)."""
        rows, cols = self.data.shape[:2]
        return self.canvas_shape[0] / rows, self.canvas_shape[1] / cols


def outpaint_plane(
    plane: np.ndarray,
    expand: Expand,
    engine: Engine,
    *,
    rgb: bool,
    contrast_limits: tuple[float, float],
    gamma: float = 1.0,
    keep_native_resolution: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    around_engine: Callable[[], AbstractContextManager[Any]] | None = None,
) -> PlaneResult:
    """Outpaint one plane with *engine* and bring it back to its dtype.

    Parameters
    ----------
    plane : numpy.ndarray
        ``(rows, cols)``, or ``(rows, cols, 3|4)`` when *rgb*; any real
        dtype. Never modified.
    expand : Expand
    engine : Engine
        A resolved engine (not a name).
    rgb : bool
    contrast_limits : (float, float)
        The 8-bit window; a batch passes the same limits for every plane.
    gamma : float
    keep_native_resolution : bool
        False (default): resample onto the original's grid and put the
        original pixels back bit-exact. True: keep the engine's
        resolution; the original pixels are then the engine's (resampled)
        version, not pasted back.
    progress, cancel
        Passed to the engine. A cancel is honoured before the engine is
        called and by the engine; once the engine has returned, the
        (possibly paid) result is always finished.
    around_engine : callable, optional
        Returns a context manager entered around the engine call.

    Returns
    -------
    PlaneResult
    """
    started = time.perf_counter()
    _report(progress, Stage.PREPARING, 'Converting the plane to 8-bit RGB')
    rows, cols = plane.shape[:2]
    sent = to_rgb8(
        plane, rgb=rgb, contrast_limits=contrast_limits, gamma=gamma
    )
    padding = expand.padding(rows, cols)
    canvas_shape = padding.canvas_shape(rows, cols)
    inner = (
        slice(padding.top, padding.top + rows),
        slice(padding.left, padding.left + cols),
    )
    if cancel is not None:
        cancel.raise_if_cancelled()
    prepared = time.perf_counter()

    with (around_engine or contextlib.nullcontext)():
        result = engine.outpaint(
            sent, expand, progress=progress, cancel=cancel
        )
    returned = _check_engine_image(result)
    engine_done = time.perf_counter()

    _report(progress, Stage.FINISHING, 'Placing the result')
    on_grid = resample_rgb8(returned, canvas_shape)
    alignment = measure_alignment(sent, on_grid, inner)
    channels = plane.shape[-1] if rgb else 3
    back = {
        'dtype': plane.dtype,
        'rgb': rgb,
        'channels': channels,
        'contrast_limits': contrast_limits,
        'gamma': gamma,
    }
    source_values = None
    if keep_native_resolution:
        data = from_rgb8(returned, **back)
        mask, data_inner = native_mask(returned.shape[:2], canvas_shape, inner)
        seam = seam_score(returned, data_inner)
    else:
        data = from_rgb8(on_grid, **back)
        data[inner] = plane
        mask = np.ones(canvas_shape, dtype=bool)
        mask[inner] = False
        data_inner = inner
        if _deep(plane, rgb) and getattr(engine, 'copies_source_pixels', 0):
            source_values = _restore_depth(data, mask, sent, on_grid, plane)
        # scored as the user sees it: the original pasted back (no copy)
        seam = seam_score(on_grid, inner, original=sent)
    finished = time.perf_counter()
    return PlaneResult(
        data=data,
        mask=mask,
        padding=padding,
        canvas_shape=canvas_shape,
        inner=data_inner,
        native=keep_native_resolution,
        seam_score=seam,
        alignment=alignment,
        warnings=tuple(
            _warnings(seam, alignment) + _engine_warnings(result.details)
        ),
        engine_result=result,
        source_values=source_values,
        timings={
            'prepare': prepared - started,
            'engine': engine_done - prepared,
            'finish': finished - engine_done,
        },
    )


def _deep(plane: np.ndarray, rgb: bool) -> bool:
    """A greyscale plane with more than 8 bits (16-bit, 32-bit, float)."""
    return not rgb and (plane.dtype.kind == 'f' or plane.dtype.itemsize > 1)


def _restore_depth(data, mask, sent, on_grid, plane) -> float:
    """Give the border of *data* the source's own values (in place);
    the share of border pixels that got one."""
    found, ok, _ = restore_depth(sent[..., 0], on_grid[..., 0], plane, mask)
    border = data[mask]
    border[ok] = found[ok]
    data[mask] = border
    return float(np.count_nonzero(ok) / max(1, ok.size))


def _report(progress, stage, message) -> None:
    if progress is not None:
        progress(ProgressEvent(stage, message))


def _check_engine_image(result: EngineResult) -> np.ndarray:
    """The engine's image as uint8 ``(R, C, 3)``, or a ResultError."""
    image = np.asarray(result.image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if (
        image.dtype != np.uint8
        or image.ndim != 3
        or image.shape[-1] not in (3, 4)
        or min(image.shape[:2]) < 1
    ):
        raise ResultError(
            f'the engine {result.engine!r} returned an image of shape '
            f'{image.shape} and dtype {image.dtype}, expected (rows, cols, '
            '3) uint8 RGB; report this to the engine maintainers',
            run_id=result.run_id,
        )
    return np.ascontiguousarray(image[..., :3])


def native_mask(
    shape: tuple[int, int],
    canvas_shape: tuple[int, int],
    inner: tuple[slice, slice],
) -> tuple[np.ndarray, tuple[slice, slice]]:
    """Generated pixels of a native-resolution result, and its inner box.

    A result pixel is original when its centre falls on the original.
    """
    inside = []
    for axis in range(2):
        n = shape[axis]
        f = canvas_shape[axis] / n
        centres = (np.arange(n) + 0.5) * f
        box = inner[axis]
        inside.append((centres >= box.start) & (centres < box.stop))
    mask = ~(inside[0][:, None] & inside[1][None, :])
    boxes = []
    for flags in inside:
        hits = np.flatnonzero(flags)
        boxes.append(
            slice(int(hits[0]), int(hits[-1]) + 1) if hits.size else slice(0)
        )
    return mask, (boxes[0], boxes[1])


def _warnings(seam: float | None, alignment: Alignment) -> list[str]:
    messages = []
    if seam is not None and seam > SEAM_WARN_THRESHOLD:
        messages.append(
            f'The seam around the original looks poor (seam score '
            f'{seam:.2f}, above {SEAM_WARN_THRESHOLD:g}): inspect the '
            'border, or try another seed, engine or smaller expansions.'
        )
    residual = alignment.residual_px
    if residual is not None and residual > ALIGNMENT_WARN_PX:
        dr, dc = alignment.shift_px or (0.0, 0.0)
        messages.append(
            f'The original content in the result is {residual:.2f} '
            f'original pixels away from where it is placed (shift rows '
            f'{dr:+.2f}, cols {dc:+.2f}; more than '
            f'{ALIGNMENT_WARN_PX:g} px): the result may be misaligned; '
            'compare it with the original before using it.'
        )
    return messages


def _engine_warnings(details: Mapping[str, Any]) -> list[str]:
    """What the engine reported that the user should know."""
    messages = []
    resized = details.get(INPUT_RESIZED)
    if isinstance(resized, Mapping):
        (rows, cols), (sent_rows, sent_cols) = resized['from'], resized['to']
        messages.append(
            f"The plane ({rows} x {cols}) is over the engine's input limit "
            f'of {resized["max_input_side"]} px: it was sent at {sent_rows} '
            f'x {sent_cols}, so the generated border has that resolution '
            '(the original pixels are kept exactly).'
        )
    left = details.get(INPUT_LEFT)
    if isinstance(left, Mapping):
        messages.append(
            f'The uploaded input (Runflow asset {left["asset_id"]}) stays in '
            f'your Runflow asset library. {left["reason"]}'
        )
    return messages
