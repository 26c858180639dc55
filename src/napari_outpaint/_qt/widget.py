"""The Outpaint dock widget: gather inputs, run the pipeline, show results.

The widget holds no outpainting logic. It reads an image layer and the
wished canvas ("Size by", :mod:`.canvas_fields`: percent, pixels, world
units, a target size, an aspect ratio or another layer to cover), shows
where the planned canvas will lie (a live outline in the viewer that can
be dragged, :mod:`.handles`; its size, passes and price), says which
engine will run and why, and on Run starts
:func:`napari_outpaint._pipeline.array.outpaint_layer` in napari's
``thread_worker``. Progress arrives stage by stage, Cancel stops
the pipeline at its next cancel point, expected errors become napari
notifications that say what to do, and the result is added as a layer:
in the place of the previous result of the same image, which it replaces
(with its mask), unless "keep previous results" is ticked. The mask of
generated pixels is built and added only while "show generated-pixel
mask" is ticked.

Every sub-widget has a name, so scripts can drive it like a magicgui
form: ``widget.top.value = 10``, ``widget.engine.value = 'local'``,
``widget.options.spend_cap.value = 5`` (the Options, :mod:`.options`,
saved to the settings file),
``widget.asdict()`` (the inputs; the API key and the read-outs are left
out), ``widget.run.clicked.emit()``.
"""

from __future__ import annotations

import logging
import weakref
from functools import partial

import napari
import napari.layers
import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    Label,
    Password,
    PushButton,
)
from napari.layers import Image
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import QEvent, QObject, QTimer
from qtpy.QtWidgets import QApplication, QMessageBox, QSizePolicy

from napari_outpaint._batch import BatchProgress, Plane, planes_along
from napari_outpaint._cache import estimate_cost
from napari_outpaint._canvas import Canvas
from napari_outpaint._errors import InvalidInputError, OutpaintCancelled
from napari_outpaint._expand import Expand
from napari_outpaint._imaging import SEAM_WARN_THRESHOLD
from napari_outpaint._layers import (
    is_paired_mask,
    is_result,
    mask_of,
    name_mask,
    paired_mask,
    previous_result,
    tag_result,
)
from napari_outpaint._progress import CancelToken, ProgressEvent, Stage
from napari_outpaint._qt.activity_bar import (
    ActivityBar,
    prime_activity_indicator_soon,
)
from napari_outpaint._qt.canvas_fields import (
    CanvasFields,
    CanvasReading,
    read_canvas,
)
from napari_outpaint._qt.channels_choice import ChannelsChoice
from napari_outpaint._qt.failures import Failure, describe_failure, sentence
from napari_outpaint._qt.handles import padding_from_corners, pixel_scale
from napari_outpaint._qt.history_panel import HistoryPanel
from napari_outpaint._qt.options import OptionsPanel
from napari_outpaint._qt.preview import CanvasPreview, plane_shape
from napari_outpaint._qt.progress_text import (
    axis_names,
    batch_status,
    run_status,
)
from napari_outpaint._qt.view import fit_view, layer_bounds
from napari_outpaint._qt.warm_up import warm_up
from napari_outpaint._qt.worker import (
    ProgressRelay,
    RunOutcome,
    RunRequest,
    run_outpaint,
)
from napari_outpaint._runflow import save_api_key
from napari_outpaint.engines import Engine
from napari_outpaint.engines.choice import (
    ENGINE_CHOICES,
    EngineChoice,
    choose_engine,
)

__all__ = ['OutpaintWidget']

logger = logging.getLogger(__name__)

PLANE_SHOWN, ALL_PLANES = 'plane shown', 'all planes'
_STAGES = tuple(Stage)
_TRANSFORM_EVENTS = ('data', 'scale', 'translate', 'rotate', 'shear', 'affine')
# Progress is shown at most this often: a batch sends several events per
# plane, and each repaint of the status and the Activity bar costs the GUI
# thread a few milliseconds (measured in bench/ui_stall.py).
PROGRESS_INTERVAL_MS = 100
VIEWER_STATUS_IDLE = 'Ready'  # napari's own idle status


class OutpaintWidget(Container):
    """Dock widget that outpaints the selected image layer.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose layers are offered and where results are added.
    engine : Engine, optional
        Use this engine instead of the widget's engine choice (scripts,
        tests, a Runflow engine with a custom endpoint).
    """

    def __init__(
        self, viewer: napari.viewer.Viewer, *, engine: Engine | None = None
    ) -> None:
        super().__init__(labels=True)
        self._viewer = viewer
        self._given_engine = engine
        self._preview = CanvasPreview(viewer, on_edit=self._on_outline_dragged)
        self._fields = CanvasFields(self._refresh, lambda: self._viewer.layers)
        self._reading: CanvasReading | None = None  # the last _refresh's
        self._watched_layer: napari.layers.Image | None = None
        self._worker = None
        self._cancel_token: CancelToken | None = None
        self._activity = ActivityBar(on_cancel=self._on_cancel)
        self._run_id: str | None = None
        self._outcome: RunOutcome | None = None
        self._failure: Failure | None = None  # the last run's, for copying
        self._axis_names: tuple[str, ...] = ()  # of the running batch
        self._hidden = False  # the dock was hidden or closed
        self._source: napari.layers.Image | None = None  # of the running run
        # the last result added or re-opened; weak: a removed one is freed
        self._current_result: weakref.ref | None = None
        self._replaced: list[napari.layers.Layer] = []  # to remove next turn
        # the names of the results replacing them (napari may add ' [1]')
        self._wanted_names: list[tuple[napari.layers.Image, str]] = []
        self._relay = ProgressRelay()
        self._pending_progress: ProgressEvent | None = None
        self._progress_timer = _single_shot(
            PROGRESS_INTERVAL_MS, self._show_pending_progress
        )
        self._visibility = _VisibilityWatcher(self)

        self._image = ComboBox(
            name='image',
            label='Image',
            choices=self._image_layer_choices,
            nullable=True,
        )
        self._channels = ChannelsChoice()
        self._sides = self._fields.percent  # 'top'..'right', 0-80 %
        self._planes = ComboBox(
            name='planes',
            label='Planes',
            choices=self._plane_choices,
            visible=False,
        )
        self._planes.tooltip = (
            'nD layers: outpaint the plane shown, every plane along one '
            'axis (the other axes as shown), or every plane, into one nD '
            'layer (the price of a paid batch is asked first).'
        )
        self._canvas_label = _readout('canvas', 'Canvas')
        self._drag_outline = PushButton(
            name='drag_outline', text='Drag the outline', gui_only=True
        )
        self._drag_outline.tooltip = (
            'Select the outline in the viewer: drag a corner or an edge to '
            'size the canvas (whole pixels; percent snaps to whole '
            'percents). Only Run starts a run.'
        )
        self._price_label = _readout('price', 'Price')
        self._engine_choice = ComboBox(
            name='engine',
            label='Engine',
            choices=ENGINE_CHOICES,
            value='auto',
        )
        self._engine_label = _readout('using', 'Using')
        # Not in asdict(): a script's saved settings never hold the key.
        self._api_key = Password(
            name='api_key', label='API key', gui_only=True
        )
        self._remember_key = CheckBox(
            name='remember_key', text='remember in system keyring', value=False
        )
        self._run_button = PushButton(
            name='run', text='Run', enabled=False, gui_only=True
        )
        self._cancel_button = PushButton(
            name='cancel', text='Cancel', enabled=False, gui_only=True
        )
        self._keep_previous = CheckBox(
            name='keep_previous', text='keep previous results', value=False
        )
        self._keep_previous.tooltip = (
            'Off: a new Run replaces the last result of the same image (and '
            'its mask) in its place in the layer list. On: every result is '
            'kept as a new layer. Only layers Outpaint added are replaced.'
        )
        self._show_mask = CheckBox(
            name='show_mask', text='show generated-pixel mask', value=False
        )
        self._show_mask.tooltip = (
            'Outline the generated pixels of the result with a "<result> '
            '[generated]" labels layer just above it (built only when '
            'shown).'
        )
        self._status = _readout('status', 'Status', 'idle')
        self._copy_details = PushButton(
            name='copy_details',
            text='Copy details',
            visible=False,
            gui_only=True,
        )
        self._copy_details.tooltip = (
            'Copy the last failure (error type, message, traceback; no '
            'secrets) to the clipboard, e.g. for a bug report.'
        )
        self._history = HistoryPanel(
            selected_image=lambda: self._image.value,
            add_layer=self._add_reopened,
        )
        self._history.name = 'history'
        self._history.gui_only = True
        self._options = OptionsPanel(on_change=self._on_options_changed)
        self._options.name = 'settings'  # .options is magicgui's
        self._options.gui_only = True
        self._api_key.tooltip = (
            'Runflow API key (masked). Kept in memory only, unless '
            '"remember in system keyring" is ticked.'
        )
        self._engine_choice.tooltip = (
            'auto: Runflow when a key is configured (this field, '
            'RUNFLOW_API_KEY or the system keyring), else local PatchMatch. '
            'Runflow uploads the plane to runflow.io; local engines keep '
            'everything on this machine.'
        )
        buttons = Container(
            name='buttons',
            widgets=[self._run_button, self._cancel_button],
            layout='horizontal',
            labels=False,
            gui_only=True,
        )
        self.extend(
            [
                self._image,
                self._channels.combo,
                *self._fields.widgets,
                self._planes,
                self._canvas_label,
                self._drag_outline,
                self._price_label,
                self._engine_choice,
                self._engine_label,
                self._api_key,
                self._remember_key,
                self._keep_previous,
                self._show_mask,
                buttons,
                self._status,
                self._copy_details,
                self._history,
                self._options,
            ]
        )
        self._engine_plan = self._plan()
        self._connect_signals()
        self._on_active_layer()
        self._refresh()
        warm_up()  # the first run's imports, off the GUI thread
        # the status bar's first-bar relayout now, with the dock's, not at Run
        prime_activity_indicator_soon(self.native)

    # -- public, for scripts and tests -----------------------------------
    @property
    def worker(self):
        """The current run's napari worker (until its result is shown).

        None when idle: the run is over and its layers are added.
        """
        return self._worker

    @property
    def run(self) -> PushButton:
        """The Run button (``widget.run.clicked.emit()`` starts a run)."""
        return self._run_button

    @property
    def cancel(self) -> PushButton:
        """The Cancel button."""
        return self._cancel_button

    @property
    def last_failure(self) -> Failure | None:
        """The last run's failure (advice, reason, details), if it failed."""
        return self._failure

    @property
    def preview_layer(self) -> napari.layers.Shapes | None:
        """The outline layer while it is drawn, else None."""
        return self._preview.layer

    def expand(self) -> Expand | Canvas | None:
        """The wished canvas: an Expand (percent: one pass) or a Canvas
        (the other measures), None while it adds nothing or is invalid
        (the canvas line says why)."""
        if self._reading is None or self._reading.plan is None:
            return None
        return self._reading.wish

    # -- wiring --------------------------------------------------------------
    def _connect_signals(self) -> None:
        self._image.changed.connect(self._on_layer_changed)
        self._planes.changed.connect(self._refresh)
        self._channels.combo.changed.connect(self._refresh)
        self._engine_choice.changed.connect(self._refresh_engine)
        self._api_key.changed.connect(self._refresh_engine)
        self._run_button.changed.connect(self._on_run)
        self._cancel_button.changed.connect(self._on_cancel)
        self._copy_details.changed.connect(self._on_copy_details)
        self._show_mask.changed.connect(self._on_show_mask)
        self._drag_outline.changed.connect(
            lambda _v=None: self._preview.edit()
        )
        self._relay.event.connect(self._on_progress)
        layers = self._viewer.layers
        for emitter in (layers.events.inserted, layers.events.removed):
            emitter.connect(self._reset_layer_choices)
        layers.events.removed.connect(self._on_layer_removed)
        layers.selection.events.active.connect(self._on_active_layer)
        self.native.installEventFilter(self._visibility)

    def _image_layer_choices(self, _widget=None) -> list:

        return [
            (layer.name, layer)
            for layer in self._viewer.layers
            if isinstance(layer, Image)
        ]

    def _reset_layer_choices(self, _event=None) -> None:
        self._image.reset_choices()
        self._fields.reset_layer_choices()

    # -- handlers --------------------------------------------------------
    def _on_active_layer(self, _event=None) -> None:
        """Follow the active layer when it is an image layer."""
        active = self._viewer.layers.selection.active
        if isinstance(active, Image) and self._worker is None:
            self._image.reset_choices()
            self._image.value = active

    def _on_layer_changed(self, _value=None) -> None:
        self._watch_layer(self._image.value)
        self._planes.reset_choices()
        self._refresh()

    def _watch_layer(self, layer: napari.layers.Image | None) -> None:
        """Redraw the outline when the chosen layer moves or changes."""
        if self._watched_layer is not None:
            for name in _TRANSFORM_EVENTS:
                getattr(self._watched_layer.events, name).disconnect(
                    self._refresh
                )
        self._watched_layer = layer
        if layer is not None:
            for name in _TRANSFORM_EVENTS:
                getattr(layer.events, name).connect(self._refresh)

    def _refresh(self, _value=None, *, preview: bool = True) -> None:
        """Update the outline, size, engine line and Run's enabled state.

        With ``preview=False`` the outline is removed instead of drawn (a
        run just ended; it returns at the next edit).
        """
        layer, plan = self._image.value, self._engine_plan
        self._engine_label.value = plan.summary
        self._planes.visible = layer is not None and layer.ndim > 2
        self._channels.follow(layer, self._viewer.layers)
        self._fields.follow_layer(layer)
        reading = read_canvas(
            self._fields,
            layer,
            price=partial(self._passes_text, plan),
            world_point=tuple(self._viewer.dims.point),
        )
        self._reading = reading
        self._canvas_label.value = reading.text
        self._price_label.value = (
            self._price_text(plan, reading.passes) if reading.plan else ''
        )
        if reading.outline is not None and preview and not self._hidden:
            self._preview.show(reading.outline)
        else:
            self._preview.clear()
        self._drag_outline.enabled = self._preview.shown and not self._worker
        self._run_button.enabled = bool(
            reading.plan is not None and plan.ready and not self._worker
        )

    def _on_outline_dragged(self, corners, previous) -> None:
        """The user dragged the outline: its whole source pixels become
        the wish (in the chosen measure); typing redraws it. Never runs."""
        layer = self._image.value
        if layer is None or self._worker is not None or len(corners) != 4:
            self._refresh()  # not a box any more, or no edit now: redraw
            return
        world_point = tuple(self._viewer.dims.point)
        padding = padding_from_corners(layer, corners, previous, world_point)
        self._fields.follow_padding(
            padding, plane_shape(layer), pixel_scale(layer, world_point)
        )

    def _on_run(self, _value=None) -> None:
        layer, expand = self._image.value, self.expand()
        if layer is None or expand is None:
            show_error(
                'Choose an image layer and a canvas larger than it (the '
                'Canvas line says what is missing), then press Run '
                '(Outpaint).'
            )
            return
        plan = self._plan()
        planes = self._batch_planes()
        passes = self._reading.passes
        runs = self._channels.runs(plan, 1, passes)
        paid = plan.price_usd > 0 and (planes is not None or runs > 1)
        if paid and not self._confirm_cost(self._price_text(plan, passes)):
            return
        self._remember_key_if_asked(plan)
        request = RunRequest(
            layer,
            expand,
            plan,
            self._current_plane(layer),
            planes,
            with_mask=self._show_mask.value,
            confirmed=paid,
            channels=self._channels.layers,
        )
        self._start_worker(request)

    def _on_cancel(self, _value=None) -> None:
        # The token stops the pipeline at its next cancel point and lets it
        # clean up; worker.quit() would only drop the outcome.
        if self._cancel_token is not None:
            self._cancel_token.cancel()
            self._status.value = 'cancelling...'

    def _on_progress(self, event: ProgressEvent | BatchProgress) -> None:
        """Note the run id; show the stage now or, if one was shown less
        than PROGRESS_INTERVAL_MS ago, the latest one when that is over."""
        run_id = _run_id_of(event)
        if run_id:
            self._run_id = run_id
        if self._worker is None:
            return  # a late event of a run that is over
        if self._progress_timer.isActive():
            self._pending_progress = event
            return
        self._progress_timer.start()  # first: napari's repaint delivers more
        self._show_progress(event)

    def _show_pending_progress(self) -> None:
        event, self._pending_progress = self._pending_progress, None
        if event is not None and self._worker is not None:
            self._progress_timer.start()
            self._show_progress(event)

    def _stop_progress(self) -> None:
        self._progress_timer.stop()
        self._pending_progress = None

    def _show_progress(self, event: ProgressEvent | BatchProgress) -> None:
        """Show one pipeline stage, or a batch's count, in the status
        line, napari's status bar and the Activity dock."""
        fraction = event.fraction
        if isinstance(event, BatchProgress):
            text = batch_status(event, self._axis_names)
        else:
            text = run_status(event)
            if fraction is None and event.stage in _STAGES:
                fraction = _STAGES.index(event.stage) / (len(_STAGES) - 1)
        self._status.value = text
        self._viewer.status = f'Outpaint: {text}'
        self._activity.show(f'Outpaint: {text}', fraction)

    def _on_returned(self, outcome: RunOutcome) -> None:

        self._outcome = outcome
        self._stop_progress()
        if isinstance(outcome.error, OutpaintCancelled):
            self._report_cancel(outcome.error)
        elif outcome.error is not None:
            self._report_failure(outcome.error, notify=True)

    def _on_errored(self, exc: Exception) -> None:
        # run_outpaint returns every Exception; this is a BaseException
        # or a bug in the worker itself, and napari's worker already
        # shows it as a notification: only the status line and details.
        logger.debug('Outpaint worker raised %s', type(exc).__name__)
        self._report_failure(exc, notify=False)

    def _report_failure(self, exc: BaseException, *, notify: bool) -> None:
        """Advice first in a notification, the reason in the status line,
        the details behind Copy details and the status line's tooltip."""
        failure = describe_failure(exc)
        self._failure = failure
        self._status.value = failure.status
        self._status.tooltip = failure.details
        self._copy_details.visible = True
        if notify:
            show_error(failure.notification)

    def _on_copy_details(self, _value=None) -> None:
        if self._failure is not None:
            QApplication.clipboard().setText(self._failure.details)
            self._status.value = (
                f'{self._failure.status} (details copied to the clipboard)'
            )

    def _on_finished(self) -> None:
        """Place the result, remove the one it replaces, tell the user, fit
        the view, add the mask if shown, then drop the outline.

        Each is napari work on the GUI thread (visuals, textures, a
        garbage collection on removal); one event-loop turn apart, so the
        viewer keeps drawing in between instead of stalling once for all,
        and no layer is removed in a turn that shows a notification (Mesa).
        """
        self._stop_progress()
        self._activity.close()
        outcome, self._outcome = self._outcome, None
        source, self._source = self._source, None
        steps = [self._end_run]
        if outcome is not None and outcome.layer is not None:
            # The fit has a turn of its own: _announce_result notifies.
            # channels together: every result beside its own source
            pairs = list(zip(outcome.results, outcome.sources, strict=True))
            pairs = pairs or [(outcome.layer, source)]
            steps[:0] = [
                *(partial(self._place_result, r, s) for r, s in pairs),
                partial(self._remove_replaced, outcome.layer),
                partial(self._announce_result, outcome),
                partial(self._fit_to_result, outcome.layer),
                partial(self._add_mask, outcome.layer, outcome.mask),
            ]
        # One turn later: _on_returned may have just shown a notification,
        # and the outline must not change in the same turn as one.
        QTimer.singleShot(1, partial(self._run_steps, steps))

    def _run_steps(self, steps: list) -> None:
        step, rest = steps[0], steps[1:]
        step()
        if rest:
            QTimer.singleShot(1, partial(self._run_steps, rest))

    def _place_result(
        self,
        layer: napari.layers.Image,
        source: napari.layers.Image | None,
    ) -> None:
        """Add *layer* on top, or just above the result of *source* it
        replaces (removed next turn, so *layer* takes its index)."""
        layers = self._viewer.layers
        previous = None
        if source is not None:
            if not self._keep_previous.value:
                previous = previous_result(layers, source)
            tag_result(layer, source)
        if previous is None:
            self._add_layer(layer)
        else:
            # napari may add ' [1]' for now
            self._wanted_names.append((layer, layer.name))
            self._add_layer(layer, index=layers.index(previous) + 1)
            self._replaced += [
                old for old in (mask_of(layers, previous), previous) if old
            ]
        self._current_result = weakref.ref(layer)

    def _remove_replaced(self, layer: napari.layers.Image) -> None:
        """Remove the result *layer* replaces and its mask, in one turn
        that shows no notification, with one scene-graph clean-up for
        both; then give *layer* the name the old one kept it from."""
        layers = self._viewer.layers
        doomed = [old for old in self._replaced if old in layers]
        wanted, self._wanted_names = self._wanted_names, []
        self._replaced = []
        if not doomed:
            return
        with layers.batched_update():
            for old in doomed:
                layers.remove(old)
        for result, name in wanted:
            if result in layers and name not in layers:
                result.name = name

    def _announce_result(self, outcome: RunOutcome) -> None:
        layer = outcome.layer
        names = ', '.join(f'"{r.name}"' for r in outcome.results or [layer])
        self._status.value = f'added {names}'
        show_info(f'Outpaint: added {names}.')
        provenance = layer.metadata.get('outpaint', {})
        if provenance.get('engine_details', {}).get('cached'):
            show_info(
                'Outpaint: answered from the local result cache, at no '
                'cost (the same pixels and percentages were paid for '
                'before).'
            )
        for message in outcome.warnings:
            show_warning(f'Outpaint: {message}')
        if not any('seam' in message for message in outcome.warnings):
            self._warn_if_seam_is_poor(layer)

    def _fit_to_result(self, layer: napari.layers.Image) -> None:
        if layer in self._viewer.layers:
            fit_view(self._viewer, layer_bounds(layer))

    def _add_mask(
        self,
        result: napari.layers.Image,
        mask: napari.layers.Labels | None = None,
    ) -> None:
        """Add the mask of *result* just above it, if masks are shown and
        it has none (built now unless the worker built it)."""
        layers = self._viewer.layers
        if not (self._show_mask.value and result in layers):
            return
        if not is_result(result) or mask_of(layers, result) is not None:
            return
        if mask is None:
            mask = paired_mask(result)
        else:
            name_mask(mask, result)  # napari may have renamed the result
        self._add_layer(mask, index=layers.index(result) + 1)

    def _on_show_mask(self, shown: bool) -> None:
        """Ticked: add the current result's mask. Unticked: remove the
        masks Outpaint added (this turn shows no notification)."""
        layers = self._viewer.layers
        if shown:
            result = self._mask_target()
            if result is not None:
                self._add_mask(result)
            return
        masks = [layer for layer in layers if is_paired_mask(layer)]
        if masks:
            with layers.batched_update():
                for mask in masks:
                    layers.remove(mask)

    def _mask_target(self) -> napari.layers.Image | None:
        """The result whose mask a tick shows: the chosen image if it is a
        result, else the last result added, else the chosen image's."""
        layers = self._viewer.layers
        chosen = self._image.value
        if is_result(chosen):
            return chosen
        current = self._current_result and self._current_result()
        if current is not None and current in layers:
            return current
        return previous_result(layers, chosen) if chosen else None

    def _on_options_changed(self, _key: str) -> None:
        """An option was saved: the canvas line (passes) and the History
        (cache folder) read the settings again."""
        self._refresh()
        self._history.refresh()

    def _on_layer_removed(self, event) -> None:
        """A removed result takes its mask along (a turn later: the layer
        list is still emitting this removal)."""
        if is_result(event.value):
            QTimer.singleShot(0, partial(self._remove_mask_of, event.value))

    def _remove_mask_of(self, result: napari.layers.Image) -> None:
        layers = self._viewer.layers
        mask = mask_of(layers, result)
        if mask is not None and result not in layers:
            layers.remove(mask)

    def _add_layer(self, layer, index: int | None = None) -> None:
        """Insert *layer* (on top by default) and keep the original
        selected, so that a second Run redoes the original rather than
        expanding the result."""
        source = self._image.value
        layers = self._viewer.layers
        layers.insert(len(layers) if index is None else index, layer)
        if source in layers:
            layers.selection.active = source

    def _end_run(self) -> None:
        self._worker = None
        self._cancel_token = None
        self._run_id = None
        self._set_inputs_enabled(True)
        self._refresh(preview=False)
        self._history.refresh()
        self._viewer.status = VIEWER_STATUS_IDLE  # no stale stage

    def _add_reopened(self, layer) -> None:
        """History > Open: add *layer*, and its mask a turn later if shown."""
        self._add_layer(layer)
        self._current_result = weakref.ref(layer)
        self._status.value = f're-opened "{layer.name}" from the cache'
        if self._show_mask.value:
            QTimer.singleShot(1, partial(self._add_mask, layer))

    # -- helpers -----------------------------------------------------------
    def _plane_choices(self, _widget=None) -> list:
        """'plane shown', one 'all planes along <axis>' per non-spatial
        axis (when there are several), and 'all planes'."""
        layer = self._image.value if hasattr(self, '_image') else None
        choices = [(PLANE_SHOWN, PLANE_SHOWN)]
        if layer is None or layer.ndim <= 2:
            return choices
        leading = _leading_shape(layer)
        if len(leading) > 1:
            labels = tuple(getattr(layer, 'axis_labels', ()) or ())
            names = axis_names(labels, len(leading))
            for axis, size in enumerate(leading):
                name = names[axis]
                axis_text = (
                    name if name.startswith('axis ') else f'axis {name}'
                )
                text = f'all planes along {axis_text} ({size})'
                choices.append((text, ('axis', axis)))
        choices.append((ALL_PLANES, ALL_PLANES))
        return choices

    def _batch_planes(self) -> str | tuple[Plane, ...] | None:
        """The planes a batch covers: 'all', a tuple, or None (one)."""
        layer, choice = self._image.value, self._planes.value
        if layer is None or layer.ndim <= 2 or choice in (None, PLANE_SHOWN):
            return None
        if choice == ALL_PLANES:
            return 'all'
        _, axis = choice
        current = self._current_plane(layer)
        return tuple(planes_along(_leading_shape(layer), axis, current))

    def _plane_count(self) -> int:
        """How many planes a run covers (1: the plane shown)."""
        planes = self._batch_planes()
        if planes is None:
            return 1
        if planes == 'all':
            return int(np.prod(_leading_shape(self._image.value)))
        return len(planes)

    def _price_text(self, plan, n_passes: int = 1) -> str:
        """'$0.55', 'free (local)', '1 plane x 2 passes x $0.55 = $1.10',
        '12 planes x $0.55 = $6.60 ...' or '5 planes, free (local)'."""
        batch = self._batch_planes() is not None
        in_runs = self._channels.price_text(
            plan, self._plane_count(), n_passes, batch
        )
        if in_runs is not None:
            return in_runs
        if not batch and (n_passes == 1 or plan.price_usd <= 0):
            return plan.price
        n_planes = self._plane_count()
        if plan.price_usd <= 0:
            return f'{n_planes} planes, {plan.price}'
        estimate = estimate_cost(n_planes, plan, n_passes=n_passes)
        note = ' at most (cached planes are free)' if batch else ''
        return f'{estimate.text}{note}'

    @staticmethod
    def _passes_text(plan, n_passes: int) -> str:
        """'1 pass x $0.55', '2 passes x $0.55 = $1.10', '3 passes,
        free (local)': one plane's passes and their price."""
        passes = f'{n_passes} pass' + ('es' if n_passes > 1 else '')
        if plan.price_usd <= 0:
            return f'{passes}, {plan.price}'
        total = f' = ${n_passes * plan.price_usd:.2f}' if n_passes > 1 else ''
        return f'{passes} x {plan.price}{total}'

    def _confirm_cost(self, price: str) -> bool:
        """Ask before a paid batch (a modal question on the GUI thread)."""
        answer = QMessageBox.question(
            self.native,
            'Outpaint: confirm the price',
            f'Outpaint {self._planes.current_choice} with Runflow: '
            f'{price}. Continue?',
        )
        return answer == QMessageBox.StandardButton.Yes

    def _plan(self) -> EngineChoice:
        return choose_engine(
            self._engine_choice.value,
            api_key=self._api_key.value or None,
            key_source='this widget',
            engine=self._given_engine,
        )

    def _refresh_engine(self, _value=None) -> None:
        """Work out the engine again (the key lookup may read the keyring,
        so it runs when the engine inputs change, not on every edit)."""
        self._engine_plan = self._plan()
        self._refresh()

    def _start_worker(self, request: RunRequest) -> None:

        self._cancel_token = CancelToken()
        self._source = request.layer
        self._run_id = None
        self._failure = None
        self._copy_details.visible = False
        self._status.tooltip = None
        layer = request.layer
        labels = tuple(getattr(layer, 'axis_labels', ()) or ())
        self._axis_names = axis_names(labels, max(0, layer.ndim - 2))
        # Connecting 'errored' here stops superqt from re-raising a bug in
        # the GUI thread; napari still shows it as a notification.
        worker = create_worker(
            run_outpaint,
            request,
            progress=self._relay.emit,
            cancel=self._cancel_token,
            _start_thread=False,
            _connect={
                'returned': self._on_returned,
                'errored': self._on_errored,
                'finished': self._on_finished,
            },
        )
        self._worker = worker
        # Before napari's Activity bar: its creation repaints the window
        # at once (processEvents), which also delivers clicks; the bar is
        # made a turn later, so the dock's repaint is not added to it.
        self._set_inputs_enabled(False)
        self._status.value = f'starting ({request.engine_choice.summary})'
        # the worker starts once the bar is made: napari's repaints then
        # do not wait for the GIL while the run prepares its request
        self._activity.open('Outpaint', then=worker.start)

    def _set_inputs_enabled(self, enabled: bool) -> None:
        for widget in (
            self._image,
            self._channels.combo,
            self._drag_outline,
            self._planes,
            self._engine_choice,
            self._api_key,
            self._remember_key,
        ):
            widget.enabled = enabled
        self._fields.set_enabled(enabled)
        self._run_button.enabled = enabled
        self._cancel_button.enabled = not enabled

    def _current_plane(
        self, layer: napari.layers.Image
    ) -> tuple[int, ...] | None:
        """Indices of the non-spatial axes shown in the viewer (nD only)."""
        n_leading = layer.ndim - 2
        if n_leading <= 0:
            return None
        data = layer.data[0] if layer.multiscale else layer.data
        point = tuple(self._viewer.dims.point)[-layer.ndim :]
        coords = np.asarray(layer.world_to_data(point))[:n_leading]
        return tuple(
            int(np.clip(np.round(c), 0, size - 1))
            for c, size in zip(coords, data.shape[:n_leading], strict=True)
        )

    def _remember_key_if_asked(self, plan) -> None:
        key = (self._api_key.value or '').strip()
        if not (self._remember_key.value and key and plan.name == 'runflow'):
            return

        try:
            saved = save_api_key(key)
        except InvalidInputError as exc:
            show_warning(
                f'Paste the API key again to have it remembered: '
                f'{sentence(str(exc))} (Outpaint did not save it.)'
            )
            return
        if not saved:
            show_warning(
                'Set RUNFLOW_API_KEY to keep the API key: there is no usable '
                'system keyring, so Outpaint did not remember it.'
            )

    def _report_cancel(self, exc: OutpaintCancelled) -> None:

        run_id = exc.run_id or self._run_id
        if run_id:
            self._status.value = (
                'cancelled: the run was already submitted and may still be '
                'billed; its id is in the notification'
            )
            show_warning(
                f'Collect the result later with `napari-outpaint collect '
                f'{run_id}`: Outpaint was cancelled after Runflow run '
                f'{run_id} was submitted, and Runflow has no public cancel, '
                'so it may still complete and be billed.'
            )
        else:
            self._status.value = 'cancelled before any run was submitted'
            show_info(
                'Nothing to do: Outpaint was cancelled before any run was '
                'submitted, so nothing is billed.'
            )

    def _warn_if_seam_is_poor(self, layer: napari.layers.Image) -> None:

        provenance = layer.metadata.get('outpaint', {})
        score = provenance.get('seam_score')
        if score is None or score <= SEAM_WARN_THRESHOLD:
            return
        show_warning(
            f'Check the generated border of "{layer.name}" before using '
            'it: the border of the original is visible (seam score '
            f'{score:.2f}, above {SEAM_WARN_THRESHOLD:g}). Smaller '
            'expansions or another engine usually give a smoother fill.'
        )

    def _on_visibility(self, visible: bool) -> None:
        self._hidden = not visible
        if visible:
            self._refresh()
        else:
            self._preview.clear()


def _readout(name: str, label: str, value: str = '') -> Label:
    """A read-only line that wraps its words and never widens the dock."""
    readout = Label(name=name, label=label, value=value, gui_only=True)
    readout.native.setWordWrap(True)
    readout.native.setSizePolicy(
        QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
    )
    return readout


def _run_id_of(event: ProgressEvent | BatchProgress) -> str | None:
    """The run a progress report names (a batch's, through its plane)."""
    if isinstance(event, BatchProgress):
        event = event.event
    return event.run_id if event is not None else None


def _single_shot(interval_ms: int, slot) -> QTimer:
    """A single-shot QTimer calling *slot* (started by the caller)."""
    timer = QTimer()
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer


class _VisibilityWatcher(QObject):
    """Clears the outline when the widget is hidden, closed or undocked."""

    def __init__(self, widget: OutpaintWidget) -> None:
        super().__init__()
        self._widget = widget

    def eventFilter(self, obj, event):  # noqa: N802 - Qt API
        kind = event.type()
        if kind == QEvent.Type.Show:
            self._widget._on_visibility(True)
        elif kind in (QEvent.Type.Hide, QEvent.Type.Close) or (
            kind == QEvent.Type.ParentChange and obj.parent() is None
        ):  # napari undocks a removed widget by taking its parent away
            self._widget._on_visibility(False)
        return False


def _leading_shape(layer: napari.layers.Image) -> tuple[int, ...]:
    """The sizes of the layer's non-spatial axes."""
    data = layer.data[0] if layer.multiscale else layer.data
    return tuple(int(n) for n in data.shape[: layer.ndim - 2])
