"""The widget's "Channels" choice: this layer, or all channels of its image.

Shown when the chosen layer has siblings that are channels of the same
image (greyscale Image layers of its shape and world placement, e.g.
opened with ``viewer.add_image(data, channel_axis=0)``). With "all
channels", one Run outpaints them together
(:func:`~napari_outpaint._layers.channels.outpaint_layers`): the price
line counts runs (``ceil(C / 3)`` per plane with Runflow, one with the
local engine), and the ``[generated]`` mask is one layer for the image.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import napari.layers
from magicgui.widgets import ComboBox

from napari_outpaint._cache import estimate_cost
from napari_outpaint._imaging import CHANNELS_PER_RUN
from napari_outpaint._layers import channel_siblings
from napari_outpaint.engines.choice import EngineChoice

__all__ = ['ALL_CHANNELS', 'THIS_LAYER', 'ChannelsChoice', 'runs_per_plane']

THIS_LAYER = 'this layer'
ALL_CHANNELS = 'all channels of this image'


def runs_per_plane(n_channels: int, plan: EngineChoice) -> int:
    """Runs one plane of *n_channels* channels takes with the engine of
    *plan*: one with an engine that copies source pixels (local), else one
    per three channels."""
    engine = plan.engine
    copies = (
        getattr(engine, 'copies_source_pixels', False)
        if engine is not None
        else plan.name in ('local', 'reflect')
    )
    return 1 if copies else math.ceil(n_channels / CHANNELS_PER_RUN)


class ChannelsChoice:
    """The combo box and the channel layers it stands for.

    Attributes
    ----------
    combo : magicgui.widgets.ComboBox
        Named ``'channels'``; hidden unless the layer has sibling channels.
    """

    def __init__(self) -> None:
        self.combo = ComboBox(
            name='channels',
            label='Channels',
            choices=[THIS_LAYER, ALL_CHANNELS],
            value=THIS_LAYER,
            visible=False,
        )
        self.combo.tooltip = (
            'Layers that are channels of one image (same shape and '
            'placement): outpaint them together, up to three in the R, G, '
            'B of one Runflow run (all in one with the local engine), so '
            'the generated structure is the same in every channel.'
        )
        self._siblings: list[napari.layers.Image] = []
        self._label = ALL_CHANNELS

    @property
    def offered(self) -> bool:
        """Whether the chosen layer has sibling channels (the choice is
        shown)."""
        return len(self._siblings) > 1

    def follow(
        self, layer: object, layers: Iterable[napari.layers.Layer]
    ) -> None:
        """Offer the choice when *layer* has sibling channels in *layers*."""
        self._siblings = channel_siblings(layer, layers)
        self.combo.visible = self.offered
        if self.offered:
            label = f'all {len(self._siblings)} channels of this image'
            if label != self._label:  # the count changed: relabel
                self._label = label
                value = self.combo.value
                self.combo.choices = [
                    (THIS_LAYER, THIS_LAYER),
                    (label, ALL_CHANNELS),
                ]
                self.combo.value = value

    @property
    def layers(self) -> tuple[napari.layers.Image, ...] | None:
        """The channel layers to outpaint together, or None (this layer)."""
        if self.offered and self.combo.value == ALL_CHANNELS:
            return tuple(self._siblings)
        return None

    def price_text(
        self, plan: EngineChoice, n_planes: int, n_passes: int, batch: bool
    ) -> str | None:
        """The price line in runs (None: this layer alone)."""
        channels = self.layers
        if channels is None:
            return None
        runs = runs_per_plane(len(channels), plan) * n_planes
        head = f'{len(channels)} channels'
        if n_planes > 1:
            head += f' x {n_planes} planes'
        word = 'run' if runs == 1 else 'runs'
        passes = f' x {n_passes} passes' if n_passes > 1 else ''
        if plan.price_usd <= 0:
            return f'{head}: {runs} {word}{passes}, {plan.price}'
        estimate = estimate_cost(runs, plan, n_passes=n_passes)
        note = ' at most (cached planes are free)' if batch else ''
        return (
            f'{head}: {runs} {word}{passes} x {plan.price} = '
            f'${estimate.total_usd:.2f}{note}'
        )

    def runs(self, plan: EngineChoice, n_planes: int, n_passes: int) -> int:
        """Paid runs a Run takes (1 for this layer alone, per plane)."""
        channels = self.layers
        per_plane = (
            1 if channels is None else runs_per_plane(len(channels), plan)
        )
        return per_plane * n_planes * n_passes
