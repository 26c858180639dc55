"""The channels of one image through an engine: the runs they share.

Shared by :func:`~napari_outpaint._layers.channels.outpaint_layers`
(channel layers) and ``outpaint_layer(..., channel_axis=)`` (channels on
an axis of one layer). Channels become one 8-bit RGB source
(:class:`~napari_outpaint._imaging.channels.ChannelComposite`) that goes
through the usual one-plane or batch path (:func:`outpaint_source`:
validation, cache, spend cap, provenance); the result is split back,
each channel into its own dtype, with its original pixels bit-identical.

- An engine that fills by copying source pixels (``copies_source_pixels``,
  the local engine) fills all channels of a plane in one run: the guide is
  the channels themselves (up to three) or their first three principal
  components (more), and every channel's own values are copied through
  the one set of source positions found on it
  (:func:`~napari_outpaint._imaging.depth.source_positions`): the same
  structure in every channel, whatever their number, at full bit depth.
- Any other engine (Runflow) gets groups of up to three channels in the
  R, G and B of one request, each channel through its own contrast
  limits: ``ceil(C / 3)`` runs per plane; with more than one group, a
  ``UserWarning`` and the provenance say that groups are generated
  separately.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from napari_outpaint._batch import (
    BatchProgress,
    BatchResult,
    confirm_batch_price,
    outpaint_source,
    select_planes,
)
from napari_outpaint._cache import (
    ConfirmCallback,
    ResultCache,
    SpendCap,
    estimate_cost,
    is_confirmed,
    price_of,
)
from napari_outpaint._canvas import Canvas
from napari_outpaint._errors import BudgetError
from napari_outpaint._expand import Expand
from napari_outpaint._imaging import (
    CHANNELS_PER_RUN,
    ChannelComposite,
    from_rgb8,
    select_plane,
    source_positions,
)
from napari_outpaint._pipeline import (
    OutpaintResult,
    check_plan,
    normalize_plane,
    prepare_source,
)
from napari_outpaint._progress import CancelToken, ProgressCallback
from napari_outpaint.engines import Engine, resolve_engine

__all__ = ['GROUPS_NOTE', 'Channel', 'ChannelOutput', 'outpaint_channels']

#: Said (warning and provenance) when channels take several groups.
GROUPS_NOTE = (
    'groups are generated separately: channels {groups} were outpainted '
    'in {n} runs per plane (up to 3 channels per run), so the generated '
    'structure is shared within a group, not across groups'
)


@dataclass(frozen=True)
class Channel:
    """One channel of an image: its pixels and its 8-bit window.

    Attributes
    ----------
    data : array-like
        ``(..., rows, cols)``; lazy arrays stay lazy.
    contrast_limits : (float, float)
    gamma : float
    name : str
    """

    data: Any
    contrast_limits: tuple[float, float]
    gamma: float
    name: str


@dataclass(frozen=True, eq=False)
class ChannelOutput:
    """One channel outpainted: its data, mask, placement and provenance.

    Attributes
    ----------
    data : numpy.ndarray
        The channel's dtype; the result's shape (``(1, ..., R, C)`` for
        one plane, the selected planes' box for a batch).
    mask : numpy.ndarray
        bool, the same shape: True = generated. The same for every
        channel.
    layer_kwargs : dict
        The group result's ``layer_kwargs()`` (placement, metadata).
    provenance : dict
        The group's provenance with a ``channels`` record.
    result : OutpaintResult or BatchResult
        The group's result (8-bit RGB).
    """

    data: np.ndarray
    mask: np.ndarray
    layer_kwargs: dict[str, Any]
    provenance: dict[str, Any]
    result: Any = field(repr=False)


def outpaint_channels(
    channels: Sequence[Channel],
    expand: Expand | Canvas,
    *,
    placement: dict[str, Any],
    engine: Engine | str | None = None,
    plane: Sequence[int] | int | None = None,
    planes: str | Iterable[Any] | None = None,
    confirm: bool | ConfirmCallback | None = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    concurrency: int | None = None,
    batch_progress: Callable[[BatchProgress], None] | None = None,
    cache: ResultCache | None = None,
    spend_cap: SpendCap | None = None,
    max_pixels: int | None = None,
) -> list[ChannelOutput]:
    """Outpaint *channels* of one image together; one output each.

    Parameters
    ----------
    channels : sequence of Channel
        The same shape each (checked by the caller).
    expand : Expand or Canvas
    placement : dict
        ``scale``, ``translate``, ``affine``, ``rotate``, ``shear`` of the
        channels' axes.
    engine, plane, planes, confirm, progress, cancel, concurrency,
    batch_progress, cache, spend_cap
        As for ``outpaint_layer``; *confirm* approves the price of all
        runs (every group, every plane, every pass) at once.
    max_pixels : int, optional
        The largest canvas of one plane (see ``prepare_source``).

    Raises
    ------
    BudgetError
        Before any request, when paid runs are not confirmed.
    """
    resolved = resolve_engine(engine)
    shared = bool(getattr(resolved, 'copies_source_pixels', False))
    groups = _groups(len(channels), shared)
    sources = [
        prepare_source(
            ChannelComposite(
                [channels[i].data for i in group],
                [channels[i].contrast_limits for i in group],
                [channels[i].gamma for i in group],
                guide=shared and len(group) > CHANNELS_PER_RUN,
            ),
            rgb=True,
            contrast_limits=(0, 255),
            name=' + '.join(channels[i].name for i in group),
            max_pixels=max_pixels,
            **placement,
        )
        for group in groups
    ]
    plan = check_plan(sources[0], expand)
    lead_shape = sources[0].lead_shape
    index = None if planes is not None else normalize_plane(plane, lead_shape)
    # one group: outpaint_source asks for its passes or batch itself
    if planes is None and len(groups) > 1:
        _confirm_runs(len(groups), len(plan.passes), resolved, confirm)
    elif len(groups) > 1:
        cache = cache if cache is not None else ResultCache()
        _confirm_batch(sources, planes, plan, resolved, cache, confirm)
    note = None
    if len(groups) > 1:
        note = GROUPS_NOTE.format(
            groups=' | '.join(
                ', '.join(channels[i].name for i in g) for g in groups
            ),
            n=len(groups),
        )
        warnings.warn(
            note[0].upper() + note[1:] + '.', UserWarning, stacklevel=3
        )
    outputs: list[ChannelOutput | None] = [None] * len(channels)
    for group, source in zip(groups, sources, strict=True):
        result = outpaint_source(
            source,
            expand,
            plane=index,
            planes=planes,
            engine=resolved,
            confirm=confirm if len(groups) == 1 else True,
            progress=progress,
            cancel=cancel,
            concurrency=concurrency,
            batch_progress=batch_progress,
            cache=cache,
            spend_cap=spend_cap,
        )
        if isinstance(result, BatchResult):
            result.raise_if_nothing_finished()
            if not result.complete:
                warnings.warn(result.summary(), UserWarning, stacklevel=3)
        record = {
            'layers': [channels[i].name for i in group],
            'groups': [[channels[i].name for i in g] for g in groups],
            'runs_per_plane': len(groups) * len(plan.passes),
            'shared_offsets': shared,
        }
        if shared and len(group) > CHANNELS_PER_RUN:
            record['guide'] = 'first three principal components'
        if note:
            record['note'] = note
        for k, data in _split(result, group, channels, source, index, shared):
            kwargs = result.layer_kwargs()
            provenance = dict(kwargs['metadata']['outpaint'])
            provenance['channels'] = dict(record, channel=k)
            if shared and 'generated_bits' in provenance:
                # every border pixel holds a value of the channel itself
                provenance['generated_bits'] = 8 * data.dtype.itemsize
                provenance['source_values'] = 1.0
            outputs[group[k]] = ChannelOutput(
                data=data,
                mask=np.asarray(result.mask, dtype=bool),
                layer_kwargs=kwargs,
                provenance=provenance,
                result=result,
            )
    return outputs  # type: ignore[return-value]


def _groups(n: int, shared: bool) -> list[list[int]]:
    if shared:
        return [list(range(n))]
    return [
        list(range(i, min(n, i + CHANNELS_PER_RUN)))
        for i in range(0, n, CHANNELS_PER_RUN)
    ]


def _confirm_runs(groups: int, passes: int, engine, confirm) -> None:
    """One plane: confirm ``groups x passes`` paid runs when more than 1."""
    if groups * passes < 2 or price_of(engine) <= 0:
        return
    estimate = estimate_cost(groups, engine, n_passes=passes)
    if is_confirmed(estimate, confirm):
        return
    raise BudgetError(
        f'Not confirmed: {groups} group(s) of up to {CHANNELS_PER_RUN} '
        f'channels, {groups * passes} runs: '
        f'{estimate.text.replace("plane", "group")}. Confirm the price to '
        'run (confirm=True).'
    )


def _confirm_batch(sources, planes, plan, engine, cache, confirm) -> None:
    """A batch of several groups: one price for every group's planes
    (cached planes free), confirmed once."""
    if price_of(engine) <= 0:
        return
    selected = select_planes(sources[0].lead_shape, planes)
    counts = [
        confirm_batch_price(
            s, selected, plan=plan, engine=engine, cache=cache, confirm=True
        )
        for s in sources
    ]
    estimate = estimate_cost(
        sum(c.n_planes for c in counts),
        engine,
        n_cached=sum(c.n_cached for c in counts),
        n_pending=sum(c.n_pending for c in counts),
        n_passes=len(plan.passes),
    )
    if not estimate.needs_confirmation or is_confirmed(estimate, confirm):
        return
    raise BudgetError(
        f'Not confirmed: {len(sources)} groups of up to {CHANNELS_PER_RUN} '
        f'channels over {len(selected)} planes: '
        f'{estimate.text.replace("planes", "runs")}. Confirm the price to '
        'run (confirm=True).'
    )


def _split(result, group, channels, source, index, shared):
    """``(k, data)`` for each channel *k* of *group*: the group's 8-bit
    result back in the channel's dtype, its original pixels pasted back."""
    rgb8 = np.asarray(result.data)
    lead = rgb8.shape[:-3]
    mask = np.broadcast_to(
        np.asarray(result.mask, dtype=bool), rgb8.shape[:-1]
    )
    if isinstance(result, OutpaintResult):
        origin, filled = tuple(index), np.ones(lead, dtype=bool)
    else:
        origin = tuple(result.provenance['batch']['origin'])
        filled = np.asarray(result.filled, dtype=bool)
    members = [channels[i] for i in group]
    outs = [
        np.zeros(rgb8.shape[:-1], dtype=np.dtype(c.data.dtype))
        for c in members
    ]
    # each channel's 256 levels back in its dtype, once: from_rgb8 of a
    # grey ramp (the same values it gives pixel by pixel)
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    luts = [
        from_rgb8(
            ramp,
            dtype=out.dtype,
            rgb=False,
            contrast_limits=c.contrast_limits,
            gamma=c.gamma,
        )[0]
        for c, out in zip(members, outs, strict=True)
    ]
    for offset in np.ndindex(*lead):
        if not filled[offset]:
            continue
        at = tuple(o + i for o, i in zip(origin, offset, strict=True))
        hole = mask[offset]
        canvas = rgb8[offset]
        positions = (
            source_positions(source.data.plane(at), canvas, hole)[:2]
            if shared
            else None
        )
        for k, (channel, out) in enumerate(zip(members, outs, strict=True)):
            values = select_plane(channel.data, at, rgb=False)
            plane_out = out[offset]
            if positions is not None:
                plane_out[hole] = values[positions]
            else:
                plane_out[...] = luts[k][canvas[..., k]]
            plane_out[~hole] = values.ravel()  # bit-identical, C order
    return list(enumerate(outs))


def runs_per_plane(n_channels: int, engine: Engine | str | None) -> int:
    """Runs one plane of *n_channels* channels takes with *engine*: 1 for
    an engine that copies source pixels, else ``ceil(C / 3)``."""
    resolved = resolve_engine(engine)
    if getattr(resolved, 'copies_source_pixels', False):
        return 1
    return math.ceil(n_channels / CHANNELS_PER_RUN)
