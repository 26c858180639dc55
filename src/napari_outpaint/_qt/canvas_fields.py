"""The widget's "Size by" section: the wished canvas in the user's measure.

:class:`CanvasFields` holds the choice of measure (``size_by``) and one
set of fields per measure: percent (``top``..``right``, 0-80, one Runflow
pass: the widget's fields since the start), pixels (``top_px``..), world
units (``top_world``.., labelled with the layer's unit), a target size
(``rows``, ``cols``, ``anchor_y``, ``anchor_x``), an aspect ratio
(``ratio`` and ``ratio_preset``, the same anchor) and "fit to layer"
(``fit_to``: the smallest canvas covering another image layer). Only the
chosen measure's fields are shown. :meth:`CanvasFields.wish` reads them as
an :class:`~napari_outpaint.Expand` (percent) or a
:class:`~napari_outpaint.Canvas`; :meth:`CanvasFields.follow_padding`
writes a dragged outline back into them. :func:`read_canvas` plans a wish
for a layer and words all its readings, or the problem, for the canvas
line; it never raises.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import napari.layers
from magicgui.widgets import ComboBox, FloatSpinBox, SpinBox, Widget
from napari.layers import Image

from napari_outpaint._canvas import Canvas, CanvasPlan, plan_canvas
from napari_outpaint._errors import OutpaintError
from napari_outpaint._expand import MAX_PERCENT, Expand, Padding
from napari_outpaint._pipeline import max_passes_setting
from napari_outpaint._qt.handles import covering_padding, pixel_scale
from napari_outpaint._qt.preview import (
    CanvasOutline,
    canvas_outline,
    plane_shape,
    spatial_unit,
)

__all__ = [
    'ASPECT',
    'FIT',
    'PERCENT',
    'PIXELS',
    'RATIO_PRESETS',
    'SIZE_BY_CHOICES',
    'TARGET',
    'WORLD',
    'CanvasFields',
    'CanvasReading',
    'read_canvas',
]

SIDES = ('top', 'bottom', 'left', 'right')
PERCENT, PIXELS, WORLD = 'percent', 'pixels', 'world units'
TARGET, ASPECT, FIT = 'target size', 'aspect ratio', 'fit to layer'
SIZE_BY_CHOICES = (PERCENT, PIXELS, WORLD, TARGET, ASPECT, FIT)
#: Preset name -> cols / rows.
RATIO_PRESETS = {'square': 1.0, '4:3': 4 / 3, '3:2': 3 / 2, '16:9': 16 / 9}
_CUSTOM = 'custom'
_MAX_PIXELS = 1_000_000  # a field's ceiling; the plan says what is too big
_DECIMALS = 6


class CanvasFields:
    """The "Size by" choice and the fields of every measure.

    Parameters
    ----------
    on_change : callable
        Called (no arguments) once per user edit of any field, and once
        after :meth:`follow_padding`.
    layers : callable
        The viewer's layers now (the other image layers are offered to
        fit to).
    """

    def __init__(
        self,
        on_change: Callable[[], None],
        layers: Callable[[], Iterable[napari.layers.Layer]],
    ) -> None:
        self._on_change = on_change
        self._layers = layers
        self._quiet = 0
        self._layer: napari.layers.Image | None = None
        self.size_by = ComboBox(
            name='size_by', label='Size by', choices=SIZE_BY_CHOICES
        )
        self.size_by.tooltip = (
            'percent: one Runflow pass, 0-80 % per side. The other '
            'measures are planned as one or more passes and cropped to '
            'exactly the size asked (each pass is one paid run).'
        )
        self.percent = {
            side: SpinBox(
                name=side,
                label=f'{side.capitalize()} %',
                min=0,
                max=MAX_PERCENT,
            )
            for side in SIDES
        }
        self.pixels = {
            side: SpinBox(
                name=f'{side}_px',
                label=f'{side.capitalize()} px',
                min=0,
                max=_MAX_PIXELS,
            )
            for side in SIDES
        }
        self.world = {
            side: _float_box(f'{side}_world', _world_label(side, ''), 1e12)
            for side in SIDES
        }
        self.rows = SpinBox(name='rows', label='Rows', max=_MAX_PIXELS)
        self.cols = SpinBox(name='cols', label='Columns', max=_MAX_PIXELS)
        self.ratio_preset = ComboBox(
            name='ratio_preset',
            label='Aspect',
            choices=(*RATIO_PRESETS, _CUSTOM),
        )
        self.ratio = _float_box('ratio', 'Ratio (cols / rows)', 1e6)
        self.ratio.value = 1.0
        self.anchor_y = _float_box('anchor_y', 'Anchor y (0 top)', 1.0)
        self.anchor_x = _float_box('anchor_x', 'Anchor x (0 left)', 1.0)
        for anchor in (self.anchor_y, self.anchor_x):
            anchor.step = 0.05
            anchor.value = 0.5
        self.fit_to = ComboBox(
            name='fit_to',
            label='Cover layer',
            choices=self._other_layers,
            nullable=True,
        )
        self.fit_to.tooltip = (
            'The smallest canvas (whole pixels of the chosen image) that '
            "covers this other image layer's extent in world coordinates."
        )
        self._by_measure: dict[str, list[Widget]] = {
            PERCENT: list(self.percent.values()),
            PIXELS: list(self.pixels.values()),
            WORLD: list(self.world.values()),
            TARGET: [self.rows, self.cols, self.anchor_y, self.anchor_x],
            ASPECT: [
                self.ratio_preset,
                self.ratio,
                self.anchor_y,
                self.anchor_x,
            ],
            FIT: [self.fit_to],
        }
        self.widgets: list[Widget] = [self.size_by]
        for fields in self._by_measure.values():
            self.widgets += [w for w in fields if w not in self.widgets]
        # These first: the preset sets the ratio before the wish is read.
        self.size_by.changed.connect(self._show_fields)
        self.ratio_preset.changed.connect(self._use_preset)
        self.ratio.changed.connect(self._name_preset)
        for widget in self.widgets:
            widget.changed.connect(self._changed)
        self._show_fields()

    # -- reading ---------------------------------------------------------
    @property
    def measure(self) -> str:
        """The chosen measure, one of :data:`SIZE_BY_CHOICES`."""
        return self.size_by.value

    def wish(self, world_point: tuple[float, ...] | None = None):
        """The fields as an Expand (percent) or a Canvas; None while they
        add nothing yet.

        Raises
        ------
        InvalidInputError
            For a wish no canvas can meet (a ratio <= 0, a target smaller
            than the layer, no layer to fit to).
        """
        measure = self.measure
        if measure == PERCENT:
            values = {s: box.value for s, box in self.percent.items()}
            return Expand(**values) if any(values.values()) else None
        if measure == PIXELS:
            values = {s: box.value for s, box in self.pixels.items()}
            return Canvas.pixels(**values) if any(values.values()) else None
        if measure == WORLD:
            values = {s: box.value for s, box in self.world.items()}
            return Canvas.world(**values) if any(values.values()) else None
        anchor = (self.anchor_y.value, self.anchor_x.value)
        if measure == TARGET:
            if self._layer is not None and (
                (self.rows.value, self.cols.value) == plane_shape(self._layer)
            ):
                return None
            return Canvas.shape(self.rows.value, self.cols.value, anchor)
        if measure == ASPECT:  # a preset's exact ratio, not its 6 digits
            ratio = RATIO_PRESETS.get(
                self.ratio_preset.value, self.ratio.value
            )
            return Canvas.aspect(ratio, anchor)
        padding = self._fit_padding(world_point)
        return Canvas.pixels(*padding) if padding and any(padding) else None

    def _fit_padding(self, world_point) -> Padding | None:
        other = self.fit_to.value
        if self._layer is None or other is None:
            return None
        return covering_padding(self._layer, other, world_point)

    # -- writing ---------------------------------------------------------
    def follow_layer(self, layer: napari.layers.Image | None) -> None:
        """Label the world fields with *layer*'s unit, offer the other
        image layers to fit to, and start a target size at its shape
        (unless the user set one)."""
        if layer is self._layer:
            return
        before = plane_shape(self._layer) if self._layer is not None else None
        self._layer = layer
        unit = spatial_unit(layer) if layer is not None else ''
        for side, box in self.world.items():
            box.label = _world_label(side, unit)
        with self._quietly():
            self.fit_to.reset_choices()
            untouched = (self.rows.value, self.cols.value) in ((0, 0), before)
            if layer is not None and untouched:
                self.rows.value, self.cols.value = plane_shape(layer)

    def reset_layer_choices(self) -> None:
        """The viewer's layers changed: refresh the layers to fit to."""
        self.fit_to.reset_choices()

    def follow_padding(
        self,
        padding: Padding,
        shape: tuple[int, int],
        scale: tuple[float, float],
    ) -> None:
        """Set the fields to *padding* (a dragged outline), in the chosen
        measure, then call ``on_change`` once.

        Percent snaps to whole percents and switches to pixels when a side
        needs more than 80 % (or a few pixels round to 0 %); a target size
        keeps its measure (its anchor follows); world units are the whole
        pixels times *scale*; an aspect ratio or a fit, which a drag
        breaks, switch to pixels.
        """
        rows, cols = shape
        sizes = (rows, rows, cols, cols)
        with self._quietly():
            measure = self.measure
            if measure == PERCENT:
                percents = [
                    round(100 * p / n)
                    for p, n in zip(padding, sizes, strict=True)
                ]
                kept = any(percents) or not any(padding)
                if kept and max(percents) <= MAX_PERCENT:
                    for box, value in zip(
                        self.percent.values(), percents, strict=True
                    ):
                        box.value = value
                else:
                    measure = PIXELS
            elif measure in (ASPECT, FIT):
                measure = PIXELS
            if measure == PIXELS:
                self.size_by.value = PIXELS
                for box, value in zip(
                    self.pixels.values(), padding, strict=True
                ):
                    box.value = value
            elif measure == WORLD:
                steps = (scale[0], scale[0], scale[1], scale[1])
                for box, value, step in zip(
                    self.world.values(), padding, steps, strict=True
                ):
                    box.value = round(value * step, _DECIMALS)
            elif measure == TARGET:
                top, bottom, left, right = padding
                self.rows.value, self.cols.value = padding.canvas_shape(
                    rows, cols
                )
                self.anchor_y.value = _anchor(top, top + bottom)
                self.anchor_x.value = _anchor(left, left + right)
        self._on_change()

    def set_enabled(self, enabled: bool) -> None:
        """Enable or disable every field (disabled while a run goes)."""
        for widget in self.widgets:
            widget.enabled = enabled

    # -- events ----------------------------------------------------------
    def _changed(self, _value=None) -> None:
        if not self._quiet:
            self._on_change()

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    def _show_fields(self, _value=None) -> None:
        shown = self._by_measure[self.measure]
        for widget in self.widgets[1:]:
            widget.visible = widget in shown

    def _use_preset(self, _value=None) -> None:
        ratio = RATIO_PRESETS.get(self.ratio_preset.value)
        if ratio is not None:
            with self._quietly():
                self.ratio.value = round(ratio, _DECIMALS)

    def _name_preset(self, _value=None) -> None:
        named = [
            name
            for name, ratio in RATIO_PRESETS.items()
            if math.isclose(ratio, self.ratio.value, rel_tol=1e-5)
        ]
        with self._quietly():
            self.ratio_preset.value = named[0] if named else _CUSTOM

    def _other_layers(self, _widget=None) -> list:
        return [
            (layer.name, layer)
            for layer in self._layers()
            if isinstance(layer, Image) and layer is not self._layer
        ]


@dataclass(frozen=True)
class CanvasReading:
    """A wish planned for one layer, or what is wrong with it.

    Attributes
    ----------
    wish : Expand, Canvas or None
    plan : CanvasPlan or None
        None when there is no wish or it cannot be planned.
    outline : CanvasOutline or None
        Where the planned canvas lies in world coordinates.
    text : str
        The canvas line: every reading of the plan, or the problem.
    """

    wish: Expand | Canvas | None
    plan: CanvasPlan | None
    outline: CanvasOutline | None
    text: str

    @property
    def passes(self) -> int:
        """Runflow passes of the plan (0 without one)."""
        return len(self.plan.passes) if self.plan is not None else 0


def read_canvas(
    fields: CanvasFields,
    layer: napari.layers.Image | None,
    *,
    price: Callable[[int], str],
    world_point: tuple[float, ...] | None = None,
) -> CanvasReading:
    """Plan *fields*' wish for *layer*; never raises.

    Parameters
    ----------
    fields : CanvasFields
    layer : napari.layers.Image or None
    price : callable
        The price text of a plan of *n* passes, e.g. ``'2 passes x $0.55
        = $1.10'``.
    world_point : tuple of float, optional
        The viewer's point (fixes the plane of an nD layer).
    """
    if layer is None:
        return CanvasReading(None, None, None, 'choose an image layer')
    try:
        wish = fields.wish(world_point)
        if wish is None:
            return CanvasReading(None, None, None, _nothing_yet(fields))
        rows, cols = plane_shape(layer)
        scale = pixel_scale(layer, world_point)
        plan = plan_canvas(
            wish, rows, cols, scale=scale, max_passes=max_passes_setting()
        )
    except OutpaintError as exc:
        return CanvasReading(None, None, None, f'cannot plan: {exc}')
    outline = canvas_outline(layer, plan.target, world_point=world_point)
    percents = '/'.join(
        f'{100 * p / n:.3g}'
        for p, n in zip(plan.target, (rows, rows, cols, cols), strict=True)
    )
    text = (
        f'{outline.describe()}; adds t/b/l/r {percents} %; '
        f'{price(len(plan.passes))}'
    )
    return CanvasReading(wish, plan, outline, text)


def _nothing_yet(fields: CanvasFields) -> str:
    if fields.measure == TARGET:
        return 'set rows or columns above the image size'
    if fields.measure == FIT:
        return 'choose another image layer that reaches beyond this one'
    return 'set a side > 0'


def _float_box(name: str, label: str, maximum: float) -> FloatSpinBox:
    box = FloatSpinBox(name=name, label=label, min=0.0, max=maximum)
    box.native.setDecimals(_DECIMALS)
    return box


def _world_label(side: str, unit: str) -> str:
    return f'{side.capitalize()} ({unit or "world units"})'


def _anchor(before: int, extra: int) -> float:
    """The anchor that puts *before* of *extra* pixels first (0.5 if none)."""
    return round(before / extra, _DECIMALS) if extra else 0.5
