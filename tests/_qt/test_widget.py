"""The Outpaint dock widget in a real napari viewer, and the manifest."""

from __future__ import annotations

import os
import re
import threading

import numpy as np
import pytest

from napari_outpaint._expand import Expand
from napari_outpaint._progress import ProgressEvent, Stage
from napari_outpaint._qt.preview import PREVIEW_LAYER_NAME, canvas_outline
from napari_outpaint._qt.view import bounds_of, camera, in_view, layer_bounds

PLUGIN = 'napari-outpaint'
WIDGET = 'Outpaint (expand canvas)'


# -- pure parts (no viewer) -----------------------------------------------


def test_outline_follows_scale_translate_and_padding_rule():
    """The outline's corners are the canvas edges mapped to world space."""
    from napari.layers import Image

    layer = Image(
        np.zeros((100, 200), np.uint8),
        scale=(0.5, 2.0),
        translate=(10.0, -4.0),
        units=('um', 'um'),
    )
    outline = canvas_outline(layer, Expand(10, 0, 25, 5))
    pad = Expand(10, 0, 25, 5).padding(100, 200)
    assert (outline.rows, outline.cols) == (100 + pad.top, 200 + 60)
    top_left = (10.0 + (-pad.top - 0.5) * 0.5, -4.0 + (-pad.left - 0.5) * 2)
    np.testing.assert_allclose(outline.corners[0], top_left)
    np.testing.assert_allclose(
        outline.corners[2],
        (10.0 + (99.5 + pad.bottom) * 0.5, -4.0 + (199.5 + pad.right) * 2),
    )
    assert outline.height == pytest.approx(outline.rows * 0.5)
    assert outline.width == pytest.approx(outline.cols * 2.0)
    assert 'µm' in outline.describe()


def test_outline_follows_affine():
    """A rotated layer gets a rotated outline of the right extent."""
    from napari.layers import Image

    layer = Image(np.zeros((40, 60), np.uint8), rotate=30)
    outline = canvas_outline(layer, Expand(0, 0, 0, 50))
    edge = outline.corners[1] - outline.corners[0]
    assert np.linalg.norm(edge) == pytest.approx(90.0)
    assert abs(edge[0]) > 1  # not axis-aligned any more


def test_manifest_validates_and_samples_load():
    """npe2 validates the manifest, and both sample commands return data."""
    from npe2 import PluginManifest

    from napari_outpaint._sample_data import (
        make_cells_sample,
        make_coffee_sample,
    )

    manifest = PluginManifest.from_distribution(PLUGIN)
    manifest.validate_imports()
    keys = {sample.key for sample in manifest.contributions.sample_data}
    assert keys == {'cells', 'coffee'}
    for make in (make_cells_sample, make_coffee_sample):
        ((data, meta, kind),) = make()
        assert kind == 'image'
        assert data.ndim >= 2
        assert meta['name']


# -- a real viewer ---------------------------------------------------------


@pytest.fixture
def docked(make_napari_viewer):
    """A viewer with the cells sample and the widget docked from the menu."""
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, 'cells')
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    return viewer, widget


def _preview_layers(viewer):
    return [
        layer
        for layer in viewer.layers
        if layer.name.startswith(PREVIEW_LAYER_NAME)
    ]


def _shown_previews(viewer):
    return [layer for layer in _preview_layers(viewer) if layer.visible]


@pytest.mark.gui
def test_docks_follows_layer_and_run_waits_for_a_side(docked):
    """Docked from the manifest, it picks the image; Run needs a side > 0."""
    viewer, widget = docked
    assert widget._image.value is viewer.layers['cells'] or (
        widget._image.value.name == 'cells'
    )
    assert not widget._run_button.enabled
    assert 'Local PatchMatch' in widget._engine_label.value
    widget._sides['left'].value = 20
    assert widget._run_button.enabled
    assert widget._price_label.value == 'free (local)'
    widget._sides['left'].value = 0
    assert not widget._run_button.enabled


@pytest.mark.gui
def test_outline_appears_and_goes_away(docked):
    """Values > 0 draw one outline layer; zero or closing removes it."""
    viewer, widget = docked
    assert _preview_layers(viewer) == []
    widget._sides['top'].value = 10
    widget._sides['right'].value = 30
    (preview,) = _preview_layers(viewer)
    assert viewer.layers.selection.active.name == 'cells'
    expected = canvas_outline(viewer.layers['cells'], Expand(10, 0, 0, 30))
    np.testing.assert_allclose(preview.data[0], expected.corners)
    assert f'{expected.rows} x {expected.cols} px' in (
        widget._canvas_label.value
    )
    widget._sides['top'].value = 0
    widget._sides['right'].value = 0
    assert _shown_previews(viewer) == []
    widget._sides['bottom'].value = 5
    assert _shown_previews(viewer) == [preview]  # the same layer, reused
    viewer.window.remove_dock_widget(widget.native)
    assert _shown_previews(viewer) == []
    assert _preview_layers(viewer) == [preview]  # hidden, never removed


@pytest.mark.gui
def test_picker_follows_the_active_image_layer_only(docked):
    """Activating another image switches the picker; a Points layer not."""
    viewer, widget = docked
    assert widget._image.value.name == 'cells'
    second = viewer.add_image(np.zeros((30, 40), np.uint8), name='second')
    assert viewer.layers.selection.active is second
    assert widget._image.value is second
    viewer.layers.selection.active = viewer.layers['cells']
    assert widget._image.value.name == 'cells'
    viewer.layers.selection.active = second
    points = viewer.add_points([[1.0, 2.0]], name='spots')
    viewer.layers.selection.active = points
    assert viewer.layers.selection.active is points
    assert widget._image.value is second


def _saved_napari_settings_text():
    """napari's settings as they would be saved, as text."""
    from napari.settings import get_settings

    settings = get_settings()
    text = settings.model_dump_json()
    path = getattr(settings, 'config_path', None)
    if path and os.path.exists(path):
        with open(path, encoding='utf-8') as file:
            text += file.read()
    return text


@pytest.mark.gui
def test_api_key_is_masked_and_kept_only_when_remember_is_ticked(
    docked, monkeypatch, tmp_path
):
    """The key field is a password; the keyring gets it only if ticked."""
    from magicgui import _util as magicgui_util
    from qtpy.QtWidgets import QLineEdit

    import napari_outpaint._qt.widget as widget_module

    viewer, widget = docked
    monkeypatch.setattr(magicgui_util, 'user_cache_dir', lambda: tmp_path)
    saved = []
    monkeypatch.setattr(
        widget_module, 'save_api_key', lambda key: saved.append(key) or True
    )
    started = []  # the run itself is not under test: record, don't send
    widget._start_worker = started.append
    line_edit = widget._api_key.native
    assert isinstance(line_edit, QLineEdit)
    assert line_edit.echoMode() == QLineEdit.EchoMode.Password
    key = 'rf-typed-secret-1234'
    widget._engine_choice.value = 'runflow'
    widget._api_key.value = key
    widget._sides['left'].value = 10
    assert widget._engine_label.value == 'Runflow (key from this widget)'
    assert not widget._remember_key.value
    widget._run_button.clicked.emit()
    assert len(started) == 1
    assert started[0].engine_choice.name == 'runflow'
    assert saved == []
    widget._remember_key.value = True
    widget._run_button.clicked.emit()
    assert len(started) == 2
    assert saved == [key]
    assert key not in _saved_napari_settings_text()
    persisted = [p for p in tmp_path.rglob('*') if p.is_file()]
    assert all(key not in p.read_text(errors='replace') for p in persisted)


@pytest.mark.gui
def test_progress_burst_shows_first_now_and_latest_later(docked, qtbot):
    """A burst of progress shows its first event now and its last later."""
    from napari_outpaint._progress import ProgressEvent, Stage

    _, widget = docked
    shown = []
    widget._show_progress = shown.append
    widget._worker = object()  # as if a run were going on
    try:
        for i in range(30):
            widget._on_progress(
                ProgressEvent(Stage.RUNNING, str(i), run_id=f'run-{i}')
            )
        assert [event.message for event in shown] == ['0']
        assert widget._run_id == 'run-29'  # every run id is kept
        qtbot.waitUntil(lambda: len(shown) == 2, timeout=5_000)
        assert shown[-1].message == '29'
    finally:
        widget._worker = None
        widget._stop_progress()


@pytest.fixture
def notifications():
    """Every napari notification shown during the test, as text."""
    from napari.utils.notifications import notification_manager

    shown = []

    def record(event):
        shown.append(str(event.message))

    notification_manager.notification_ready.connect(record)
    yield shown
    notification_manager.notification_ready.disconnect(record)


def _idle(widget):
    from qtpy.QtCore import QThreadPool

    return (
        widget.worker is None
        and QThreadPool.globalInstance().activeThreadCount() == 0
    )


def _sample_centres_match(original, result, count=200):
    """Original pixel centres land on equal values in the result layer."""
    rng = np.random.default_rng(0)
    rows, cols = original.data.shape[-2:]
    points = np.column_stack(
        [rng.integers(0, rows, count), rng.integers(0, cols, count)]
    )
    for r, c in points:
        world = original.data_to_world((r, c))
        rr, cc = np.round(result.world_to_data(world)).astype(int)[-2:]
        assert result.data[..., rr, cc] == original.data[r, c]


@pytest.mark.gui
def test_click_runs_on_standin_and_adds_aligned_layer(
    docked, runflow_standin, monkeypatch, qtbot, notifications
):
    """Run with a key in the env adds the aligned result; a rerun is free."""
    viewer, widget = docked
    monkeypatch.setenv('RUNFLOW_API_KEY', 'test-key')
    monkeypatch.setenv('RUNFLOW_BASE_URL', runflow_standin.base_url)
    monkeypatch.setenv('SSL_CERT_FILE', str(runflow_standin.ca_path))
    original = viewer.layers['cells']
    original.scale = (0.5, 0.25)
    original.translate = (100.0, -20.0)
    widget._engine_choice.value = 'runflow'
    widget._sides['left'].value = 20
    widget._sides['bottom'].value = 10
    assert widget._engine_label.value == 'Runflow (key from RUNFLOW_API_KEY)'
    assert widget._price_label.value == '$0.55'
    shown = []  # napari's status bar repeats the dock's status line
    viewer.events.status.connect(lambda event: shown.append(event.value))
    widget._run_button.clicked.emit()
    assert widget.worker is not None
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    result = viewer.layers['cells [outpainted]']
    assert len(runflow_standin.runs) == 1
    run_id = runflow_standin.runs[0].id
    assert any(text.startswith('Outpaint: ') for text in shown), shown
    assert not any(run_id in text for text in shown), shown
    assert result.metadata['outpaint']['run_id'] == runflow_standin.runs[0].id
    assert not [layer for layer in viewer.layers if 'generated' in layer.name]
    assert _shown_previews(viewer) == []
    assert widget._image.value.name == 'cells'  # a rerun redoes the original
    assert viewer.layers.selection.active.name == 'cells'
    _sample_centres_match(original, result)
    assert all(asset.deleted for asset in runflow_standin.assets.values())
    widget._run_button.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    assert len(runflow_standin.runs) == 1  # answered from the cache
    assert any('cache' in text for text in notifications)


_STANDIN_THREADS = 'runflow-standin'  # its server, connections and runs


def _new_threads(before):
    """Python threads alive now that were not alive in *before*."""
    import threading

    return {
        thread
        for thread in set(threading.enumerate()) - before
        if thread.is_alive() and not isinstance(thread, threading._DummyThread)
    }


@pytest.mark.gui
def test_cancel_mid_run_leaves_nothing_behind(
    docked, runflow_standin, notifications, qtbot
):
    """Cancel while Runflow works: worker ends, billing told; the input is
    kept for the run (recorded, to delete once the run is over)."""
    import threading

    from napari_outpaint._cache import ResultCache
    from napari_outpaint._qt.widget import OutpaintWidget
    from napari_outpaint.engines.runflow import RunflowEngine

    viewer, _ = docked
    engine = RunflowEngine(
        api_key='test-key',
        base_url=runflow_standin.base_url,
        verify=runflow_standin.ca_path,
    )
    widget = OutpaintWidget(viewer, engine=engine)
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    runflow_standin.set_delays(processing_delay=30.0)
    threads_before = set(threading.enumerate())
    widget._sides['top'].value = 15
    widget._run_button.clicked.emit()
    qtbot.waitUntil(lambda: bool(runflow_standin.runs), timeout=15_000)
    assert widget._cancel_button.enabled
    widget._cancel_button.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=10_000)
    assert 'cells [outpainted]' not in viewer.layers
    assert _shown_previews(viewer) == []
    (asset,) = runflow_standin.assets.values()
    assert not asset.deleted  # the run is still running
    (held,) = ResultCache().held_inputs.held()
    assert held.asset_id == asset.id
    # The stand-in is the remote service: its run and connection threads
    # may still be finishing. Wait for them (bounded), then nothing new
    # may be left: no worker, no LocalHTTPS server, no httpx connection
    # (an open keep-alive connection would keep a stand-in thread alive).
    for run in runflow_standin.runs:
        assert run.wait_processed(timeout=15.0)
    for thread in _new_threads(threads_before):
        if thread.name.startswith(_STANDIN_THREADS):
            thread.join(timeout=15.0)
    assert _new_threads(threads_before) == set()
    run_id = runflow_standin.runs[0].id
    assert any(run_id in text and 'billed' in text for text in notifications)
    assert any(
        text.startswith(
            f'Collect the result later with `napari-outpaint collect {run_id}`'
        )
        for text in notifications
    )
    assert run_id not in widget.status.value  # no run ids in the dock
    assert widget._run_button.enabled


class _FailingEngine:
    """A free engine whose run fails with a readable error."""

    name = 'local'
    model = 'failing'
    price_per_image_usd = 0.0

    def outpaint(self, image, expand, *, progress=None, cancel=None):
        from napari_outpaint._errors import APIConnectionError

        raise APIConnectionError('the engine broke')


def _turn_log(viewer, preview):
    """Log notifications, outline changes, layer removals and event-loop
    turns, in order.

    A repeating 0 ms timer fires once per event-loop turn, so a
    notification and an outline change or a layer removal with no 'turn'
    between them happened in the same turn (the Mesa segfault).
    """
    from napari.utils.notifications import notification_manager
    from qtpy.QtCore import QTimer

    log = []
    notification_manager.notification_ready.connect(
        lambda _e: log.append('notify')
    )
    preview.events.visible.connect(lambda _e: log.append('outline'))
    preview.events.data.connect(lambda _e: log.append('outline'))
    camera(viewer).events.zoom.connect(lambda _e: log.append('view'))
    camera(viewer).events.center.connect(lambda _e: log.append('view'))
    viewer.layers.events.removed.connect(lambda _e: log.append('removed'))
    timer = QTimer()
    timer.timeout.connect(lambda: log.append('turn'))
    timer.start(0)
    return log, timer


def _same_turn(log):
    """Whether a notification and an outline change, a view fit or a
    layer removal share a turn (any run of entries with no 'turn' between
    them)."""
    turns = ' '.join(log).split('turn')
    return any(
        'notify' in turn
        and ('outline' in turn or 'view' in turn or 'removed' in turn)
        for turn in turns
    )


@pytest.mark.gui
def test_failure_with_outline_keeps_it_and_never_in_a_notify_turn(
    docked, notifications, qtbot
):
    """A failed run hides the outline a turn after the error notice."""
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer, _ = docked
    widget = OutpaintWidget(viewer, engine=_FailingEngine())
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    widget._sides['left'].value = 20
    (preview,) = _shown_previews(viewer)
    log, timer = _turn_log(viewer, preview)
    widget._run_button.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=15_000)
    qtbot.waitUntil(lambda: not preview.visible, timeout=5_000)
    timer.stop()
    assert any('engine broke' in text for text in notifications), (
        notifications,
        widget._status.value,
        log,
    )
    assert 'removed' not in log
    assert _preview_layers(viewer) == [preview]
    assert not _same_turn(log), log
    assert widget._run_button.enabled


class _SeamyEngine:
    """A free engine that paints the new border white: a visible seam."""

    name = 'local'
    model = 'white-border'
    price_per_image_usd = 0.0

    def outpaint(self, image, expand, *, progress=None, cancel=None):
        from napari_outpaint.engines import EngineResult

        rows, cols = image.shape[:2]
        pad = expand.padding(rows, cols)
        canvas = np.full(
            (*pad.canvas_shape(rows, cols), 3), 255, dtype=np.uint8
        )
        canvas[pad.top : pad.top + rows, pad.left : pad.left + cols] = image
        return EngineResult(image=canvas, engine=self.name, model=self.model)


@pytest.mark.gui
def test_poor_seam_is_warned(docked, notifications, qtbot):
    """A result whose border jumps gets a seam warning with advice."""
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer, _ = docked
    widget = OutpaintWidget(viewer, engine=_SeamyEngine())
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    assert widget._engine_label.value == (
        'local (white-border) (given by the caller)'
    )
    widget._sides['right'].value = 25
    widget._run_button.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    result = viewer.layers['cells [outpainted]']
    assert result.metadata['outpaint']['seam_score'] > 2.0
    assert any('seam' in text.lower() for text in notifications)


@pytest.mark.gui
def test_all_planes_asks_the_price_then_runs_every_plane(
    make_napari_viewer, runflow_standin, qtbot
):
    """The plane shown runs alone; all planes run once the price is OK."""
    from napari_outpaint._qt.widget import OutpaintWidget
    from napari_outpaint.engines.runflow import RunflowEngine

    viewer = make_napari_viewer()
    ramp = np.add.outer(np.arange(40), np.arange(50))
    stack = np.stack([(ramp * k % 256).astype(np.uint8) for k in (1, 2, 3)])
    viewer.add_image(stack, name='stack')
    engine = RunflowEngine(
        api_key='test-key',
        base_url=runflow_standin.base_url,
        verify=runflow_standin.ca_path,
    )
    widget = OutpaintWidget(viewer, engine=engine)
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    widget._sides['left'].value = 20
    viewer.dims.set_current_step(0, 2)
    widget._run_button.clicked.emit()  # the plane shown: no question
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    single = viewer.layers['stack [outpainted]']
    assert list(single.metadata['outpaint']['plane']) == [2]
    assert single.data.shape == (1, 40, 60)
    np.testing.assert_array_equal(single.data[0, :, 10:], stack[2])
    assert single.translate[0] == 2
    assert len(runflow_standin.runs) == 1
    viewer.layers.remove(single)
    widget._planes.value = 'all planes'
    assert widget._price_label.value.startswith('3 planes x $0.55 = $1.65')
    asked = []
    # The modal question, answered by the test (no dialog under pytest).
    widget._confirm_cost = lambda text: asked.append(text) or False
    widget._run_button.clicked.emit()
    assert widget.worker is None
    assert len(runflow_standin.runs) == 1  # declined: nothing new sent
    widget._confirm_cost = lambda text: asked.append(text) or True
    widget._run_button.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    assert len(asked) == 2
    assert '$1.65' in asked[0]
    assert len(runflow_standin.runs) == 3  # plane 2 came from the cache
    result = viewer.layers['stack [outpainted]']
    assert result.data.shape == (3, 40, 50 + 10)


class _CountingEngine:
    """A free engine that fills the border by reflection and counts calls."""

    name = 'local'
    model = 'counting-reflect'
    price_per_image_usd = 0.0

    def __init__(self):
        self.calls = []

    def outpaint(self, image, expand, *, progress=None, cancel=None):
        from napari_outpaint.engines import EngineResult

        self.calls.append(image.copy())
        rows, cols = image.shape[:2]
        pad = expand.padding(rows, cols)
        canvas = np.pad(
            image,
            ((pad.top, pad.bottom), (pad.left, pad.right), (0, 0)),
            mode='reflect',
        )
        return EngineResult(image=canvas, engine=self.name, model=self.model)


@pytest.mark.gui
def test_all_planes_along_one_axis_runs_that_axis_at_the_shown_plane(
    make_napari_viewer, qtbot
):
    """'All planes along z' outpaints every z of the t shown, nothing else."""
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer = make_napari_viewer()
    ramp = np.add.outer(np.arange(20), np.arange(24))
    stack = np.stack(
        [
            np.stack([(ramp * (3 * t + z + 1) % 256) for z in range(3)])
            for t in range(2)
        ]
    ).astype(np.uint8)  # (t=2, z=3, 20, 24)
    viewer.add_image(stack, name='stack', axis_labels=('t', 'z', 'y', 'x'))
    engine = _CountingEngine()
    widget = OutpaintWidget(viewer, engine=engine)
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    along_z = 'all planes along axis z (3)'
    assert along_z in [widget._planes.native.itemText(i) for i in range(4)]
    widget._sides['right'].value = 25
    viewer.dims.set_current_step(0, 1)
    viewer.dims.set_current_step(1, 2)
    widget._planes.value = ('axis', 1)
    assert widget._planes.current_choice == along_z
    assert widget._price_label.value == '3 planes, free (local)'
    widget._planes.value = 'all planes'
    assert widget._price_label.value == '6 planes, free (local)'
    widget._planes.value = ('axis', 1)
    widget._run_button.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    assert len(engine.calls) == 3
    result = viewer.layers['stack [outpainted]']
    assert result.data.shape == (1, 3, 20, 24 + 6)
    assert tuple(result.translate[:2]) == (1, 0)
    for z in range(3):
        np.testing.assert_array_equal(result.data[0, z, :, :24], stack[1, z])


@pytest.mark.gui
def test_history_lists_a_run_and_opens_it_aligned(make_napari_viewer, qtbot):
    """After a run the History list shows it; Open adds an aligned layer."""
    from fakes import PaidFakeEngine
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer = make_napari_viewer()
    data = np.random.default_rng(1).integers(0, 255, (40, 50), np.uint8)
    original = viewer.add_image(
        data, name='cells', scale=(0.5, 0.25), translate=(100.0, -20.0)
    )
    engine = PaidFakeEngine(upscale_long_side=100)
    widget = OutpaintWidget(viewer, engine=engine)
    viewer.window.add_dock_widget(widget)
    history = widget._history
    history.toggle.value = True
    assert history.entries.choices == ()
    widget._sides['left'].value = 20
    widget._sides['top'].value = 10
    widget._run_button.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)

    (key,) = history.entries.choices
    assert history.entries.value == key
    label = history.entries.native.currentText()
    assert 'cells' in label
    assert 't/b/l/r 10/0/20/0%' in label
    viewer.layers.remove('cells [outpainted]')
    history.open_button.clicked.emit()
    reopened = viewer.layers['cells [outpainted]']
    assert reopened.metadata['outpaint']['reopened_from_cache'] is True
    assert len(engine.calls) == 1  # opening paid nothing
    _sample_centres_match(original, reopened)
    assert viewer.layers.selection.active.name == 'cells'


def test_a_two_line_key_paste_disables_run_and_says_why(docked):
    """The widget refuses an unsendable key as the CLI does: Run disabled,
    the reason shown, the key never displayed."""
    _, widget = docked
    widget._engine_choice.value = 'runflow'
    widget._sides['left'].value = 10
    widget._api_key.value = 'rf-first-line\nrf-second-line'
    assert not widget._run_button.enabled
    assert 'line break' in widget._engine_label.value
    assert 'rf-first' not in widget._engine_label.value
    widget._api_key.value = 'rf-one-line-key'
    assert widget._run_button.enabled


# -- issue 13: failures, the view, batch status, scripting -----------------


def _standin_env(monkeypatch, standin, ca_path=None):
    """Runflow by the environment, pointed at the stand-in."""
    monkeypatch.setenv('RUNFLOW_API_KEY', 'test-key')
    monkeypatch.setenv('RUNFLOW_BASE_URL', standin.base_url)
    monkeypatch.setenv('SSL_CERT_FILE', str(ca_path or standin.ca_path))


def _copied_text(widget):
    from qtpy.QtWidgets import QApplication

    widget.copy_details.clicked.emit()
    return QApplication.clipboard().text()


@pytest.mark.gui
def test_402_says_top_up_first_and_why_in_the_status_line(
    docked, runflow_standin, monkeypatch, qtbot, notifications
):
    """A refused run: the notice leads with the fix, the status line says
    why, napari's status bar is reset, the details can be copied; no
    notice shares a turn with the outline."""
    viewer, widget = docked
    _standin_env(monkeypatch, runflow_standin)
    runflow_standin.reject_creates(status=402)
    statuses = []
    viewer.events.status.connect(lambda event: statuses.append(event.value))
    widget.engine.value = 'runflow'
    widget.left.value = 20
    (preview,) = _shown_previews(viewer)
    log, timer = _turn_log(viewer, preview)
    widget.run.clicked.emit()
    qtbot.waitUntil(
        lambda: _idle(widget) and not preview.visible, timeout=30_000
    )
    timer.stop()
    (notice,) = [text for text in notifications if 'failed' in text]
    assert notice.startswith('Top up your Runflow credit at app.runflow.io')
    assert notice.endswith('Outpaint failed: no Runflow credit (402).')
    assert widget.status.value.startswith(
        'failed: no Runflow credit (402): top up your Runflow credit'
    )
    assert any(text.startswith('Outpaint: ') for text in statuses)
    assert viewer.status == 'Ready'
    assert widget.last_failure.reason == 'no Runflow credit (402)'
    assert not widget.copy_details.native.isHidden()
    assert 'InsufficientCreditError' in _copied_text(widget)
    assert not _same_turn(log), log


@pytest.mark.gui
def test_an_unexpected_error_is_notified_with_details_to_copy(
    docked, runflow_standin, monkeypatch, qtbot, notifications, tmp_path
):
    """A missing CA file (not an OutpaintError) still gets one notice
    with advice, a status line and copyable details (the traceback)."""
    viewer, widget = docked
    missing = tmp_path / 'ca.pem'
    _standin_env(monkeypatch, runflow_standin, ca_path=missing)
    widget.engine.value = 'runflow'
    widget.top.value = 10
    widget.run.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    qtbot.waitUntil(lambda: widget.run.enabled, timeout=5_000)
    failures = [text for text in notifications if 'failed' in text]
    assert len(failures) == 1, notifications
    assert failures[0].startswith(
        f'Fix or unset SSL_CERT_FILE: it names {missing}'
    )
    assert widget.status.value.startswith(
        'failed: unexpected FileNotFoundError'
    )
    assert 'Traceback' in widget.status.tooltip
    copied = _copied_text(widget)
    assert 'FileNotFoundError' in copied
    assert 'Traceback' in copied
    assert runflow_standin.runs == []


@pytest.mark.gui
def test_outline_and_result_are_fitted_into_view(docked, qtbot):
    """An outline that leaves the view is fitted once per showing (the
    user's zoom is kept after); the result is fitted in its own turn."""
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer, _ = docked
    widget = OutpaintWidget(viewer, engine=_CountingEngine())
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    viewer.reset_view()
    cells = viewer.layers['cells']
    wide = canvas_outline(cells, Expand(0, 0, 80, 0))
    assert not in_view(viewer, bounds_of(wide.corners))
    widget.left.value = 80
    (preview,) = _shown_previews(viewer)
    assert in_view(viewer, bounds_of(preview.data[0]))
    camera(viewer).zoom *= 4  # the user zooms in on a detail
    zoom = camera(viewer).zoom
    widget.top.value = 20
    assert camera(viewer).zoom == zoom
    log, timer = _turn_log(viewer, preview)
    widget.run.clicked.emit()
    qtbot.waitUntil(
        lambda: _idle(widget) and not preview.visible, timeout=30_000
    )
    timer.stop()
    result = viewer.layers['cells [outpainted]']
    assert in_view(viewer, layer_bounds(result))
    assert 'view' in log
    assert 'notify' in log
    assert not _same_turn(log), log


@pytest.mark.gui
def test_outline_carries_the_source_units(make_napari_viewer):
    """The outline layer has the image's units: napari finds them
    consistent (no 'Inconsistent units across layers')."""
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer = make_napari_viewer()
    layer = viewer.add_image(
        np.zeros((3, 30, 40), np.uint8),
        scale=(2.0, 0.5, 0.5),
        units=('um', 'um', 'um'),
    )
    widget = OutpaintWidget(viewer, engine=_CountingEngine())
    widget.left.value = 10
    (preview,) = _shown_previews(viewer)
    assert tuple(preview.units) == tuple(layer.units)[-2:]
    assert viewer.layers.extent.units is not None
    layer.units = ('nm', 'nm', 'nm')
    widget.left.value = 20
    assert tuple(preview.units) == tuple(layer.units)[-2:]
    assert viewer.layers.extent.units is not None


class _GatedEngine(_CountingEngine):
    """Reports half done, then waits for the test to open the gate."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()

    def outpaint(self, image, expand, *, progress=None, cancel=None):
        if progress is not None:
            progress(ProgressEvent(Stage.RUNNING, 'painting', 0.5))
        self.gate.wait(timeout=30)
        return super().outpaint(image, expand)


@pytest.fixture
def activity_bars():
    """The value and time read-out of every napari progress bar made."""
    from napari.utils import progress

    values, etas = [], []

    def on_new(event):
        for bar in event.added:
            bar.events.value.connect(lambda e: values.append(e.value))
            bar.events.eta.connect(lambda e: etas.append(e.value))

    progress._all_instances.events.changed.connect(on_new)
    yield values, etas
    progress._all_instances.events.changed.disconnect(on_new)


@pytest.mark.gui
def test_batch_status_names_plane_and_count_and_the_bar_moves(
    make_napari_viewer, qtbot, activity_bars
):
    """A batch along z reads 'plane t=1, z=2 (0 of 3)': no tuples, no run
    ids; the Activity bar's value moves and shows no 'it/s'."""
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer = make_napari_viewer()
    stack = np.zeros((2, 3, 20, 24), np.uint8)
    viewer.add_image(stack, name='stack', axis_labels=('t', 'z', 'y', 'x'))
    engine = _GatedEngine()
    widget = OutpaintWidget(viewer, engine=engine)
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    statuses = []  # napari's status bar follows the dock's status line
    viewer.events.status.connect(lambda event: statuses.append(event.value))
    values, etas = activity_bars
    widget.right.value = 25
    viewer.dims.set_current_step(0, 1)
    widget.planes.value = ('axis', 1)
    plane_line = re.compile(r'plane t=1, z=[0-2] \([0-3] of 3\)')

    def plane_shown_and_bar_moved() -> bool:
        shown = widget.status.value
        return bool(
            plane_line.fullmatch(shown)
            and f'Outpaint: {shown}' in statuses
            and values
            and max(values) > 0
        )

    widget.run.clicked.emit()
    try:
        qtbot.waitUntil(plane_shown_and_bar_moved, timeout=15_000)
    finally:
        engine.gate.set()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    assert not any(re.search(r'\(\d+,|\[\d+/', text) for text in statuses)
    assert max(values) <= 100
    assert etas
    assert not any('it/s' in text for text in etas), etas


@pytest.mark.gui
def test_long_status_wraps_instead_of_widening_the_dock(docked):
    """A long status line (a URL, a long reason) leaves the width alone."""
    _, widget = docked
    before = (
        widget.native.sizeHint().width(),
        widget.native.minimumSizeHint().width(),
    )
    widget.status.value = 'failed: ' + 'a-very-long-reason-' * 20 + ' end'
    widget.using.value = 'Runflow ' + 'x' * 300
    after = (
        widget.native.sizeHint().width(),
        widget.native.minimumSizeHint().width(),
    )
    assert after == before
    assert widget.status.native.wordWrap()


@pytest.mark.gui
def test_sub_widgets_have_names_for_scripts(docked):
    """Attribute access and asdict() work; labels are as before; the API
    key is reachable but never in asdict()."""
    viewer, widget = docked
    widget.top.value = 10
    widget.update({'right': 5, 'engine': 'local'})
    assert widget.expand() == Expand(10, 0, 0, 5)
    rows, cols = viewer.layers['cells'].data.shape
    assert widget.asdict() == {
        'image': viewer.layers['cells'],
        'channels': 'this layer',
        'size_by': 'percent',
        'top': 10,
        'bottom': 0,
        'left': 0,
        'right': 5,
        **dict.fromkeys(('top_px', 'bottom_px', 'left_px', 'right_px'), 0),
        **dict.fromkeys(
            ('top_world', 'bottom_world', 'left_world', 'right_world'), 0.0
        ),
        'rows': rows,
        'cols': cols,
        'anchor_y': 0.5,
        'anchor_x': 0.5,
        'ratio_preset': 'square',
        'ratio': 1.0,
        'fit_to': None,
        'planes': 'plane shown',
        'engine': 'local',
        'remember_key': False,
        'keep_previous': False,
        'show_mask': False,
    }
    assert [
        widget[side].label for side in ('top', 'bottom', 'left', 'right')
    ] == [
        'Top %',
        'Bottom %',
        'Left %',
        'Right %',
    ]
    assert widget.image.label == 'Image'
    assert widget.run.text == 'Run'
    assert widget.run.enabled
    widget.api_key.value = 'rf-script-key-0001'
    assert 'rf-script-key-0001' not in str(widget.asdict())
    assert widget.price.value == 'free (local)'
    assert widget.history.toggle.text == 'History (past results)'


@pytest.mark.gui
def test_planes_along_an_unnamed_axis_use_its_index(make_napari_viewer):
    """napari's default axis labels ('-4') name no axis: the index does."""
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((2, 3, 20, 24), np.uint8), name='stack')
    widget = OutpaintWidget(viewer, engine=_CountingEngine())
    texts = [
        widget.planes.native.itemText(i)
        for i in range(widget.planes.native.count())
    ]
    assert 'all planes along axis 0 (2)' in texts
    assert 'all planes along axis 1 (3)' in texts
    assert not any('-' in text for text in texts), texts


# -- issue 13: results replace, the mask is paired and shown on demand ----


def _results_of(viewer):
    """The Image layers carrying an outpaint provenance, bottom first."""
    return [
        layer
        for layer in viewer.layers
        if 'outpaint' in layer.metadata and layer.name != 'cells'
    ]


def _masks(viewer):
    from napari.layers import Labels

    return [layer for layer in viewer.layers if isinstance(layer, Labels)]


def _run_and_wait(widget, qtbot, side_value):
    """Run with a new left % (never a cache hit) until the run is over."""
    widget.left.value = side_value
    widget.run.clicked.emit()
    qtbot.waitUntil(
        lambda: _idle(widget) and widget.run.enabled, timeout=30_000
    )


@pytest.fixture
def counting_widget(docked):
    """The docked viewer with a widget on a free reflecting engine."""
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer, _ = docked
    widget = OutpaintWidget(viewer, engine=_CountingEngine())
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    return viewer, widget


@pytest.mark.gui
def test_rerun_replaces_the_result_in_place_never_a_users_layer(
    counting_widget, qtbot
):
    """A rerun puts the new result at the old one's index and removes the
    old result and its mask (even renamed), never in a notify turn; a
    user's layer named like a result stays; 'keep previous' keeps all."""
    viewer, widget = counting_widget
    widget.show_mask.value = True
    _run_and_wait(widget, qtbot, 10)
    (first,) = _results_of(viewer)
    (first_mask,) = _masks(viewer)
    first.name = 'renamed by the user'
    lookalike = viewer.add_image(
        np.zeros((5, 5), np.uint8),
        name='cells [outpainted] [1]',
        metadata={'outpaint': {'engine': 'mine'}, 'outpaint_mask': 1},
    )
    viewer.layers.move(viewer.layers.index(first), 0)  # the user reorders
    viewer.layers.move(viewer.layers.index(first_mask), 1)
    viewer.layers.selection.active = viewer.layers['cells']
    index = viewer.layers.index(first)
    preview = widget.preview_layer
    log, timer = _turn_log(viewer, preview)
    _run_and_wait(widget, qtbot, 20)
    qtbot.waitUntil(lambda: len(_masks(viewer)) == 1, timeout=5_000)
    timer.stop()
    assert first not in viewer.layers
    assert first_mask not in viewer.layers
    assert lookalike in viewer.layers
    second = viewer.layers[index]
    assert second.metadata['outpaint']['expand']['left'] == 20
    assert viewer.layers[index + 1] is _masks(viewer)[0]
    assert log.count('removed') == 2, log
    assert 'notify' in log
    assert not _same_turn(log), log

    widget.keep_previous.value = True
    _run_and_wait(widget, qtbot, 30)
    qtbot.waitUntil(lambda: len(_masks(viewer)) == 2, timeout=5_000)
    assert second in viewer.layers
    third = viewer.layers[-2]
    assert third.metadata['outpaint']['expand']['left'] == 30
    assert lookalike in viewer.layers
    assert viewer.layers.selection.active.name == 'cells'


@pytest.mark.gui
def test_mask_is_built_only_when_shown_as_a_contour_above_its_result(
    counting_widget, qtbot, monkeypatch
):
    """Hidden by default and never built; ticking adds the current
    result's mask (a contour, named and linked to it) just above it;
    unticking removes it; removing the result takes its mask along."""
    import napari_outpaint._qt.widget as widget_module
    import napari_outpaint._qt.worker as worker_module
    from napari_outpaint._layers import paired_mask

    built = []

    def counting(result):
        built.append(result)
        return paired_mask(result)

    monkeypatch.setattr(widget_module, 'paired_mask', counting)
    monkeypatch.setattr(worker_module, 'paired_mask', counting)
    viewer, widget = counting_widget
    assert widget.show_mask.value is False
    _run_and_wait(widget, qtbot, 15)
    (result,) = _results_of(viewer)
    assert _masks(viewer) == []
    assert built == []

    widget.show_mask.value = True
    (mask,) = _masks(viewer)
    assert built == [result]
    assert viewer.layers.index(mask) == viewer.layers.index(result) + 1
    assert mask.name == f'{result.name} [generated]'
    assert mask.metadata['outpaint_mask_of'] == result.name
    assert mask.contour == 1
    np.testing.assert_array_equal(
        mask.data, np.asarray(result.metadata['outpaint_mask'])
    )
    widget.show_mask.value = False
    assert _masks(viewer) == []

    widget.show_mask.value = True
    (mask,) = _masks(viewer)
    viewer.layers.remove(result)
    qtbot.waitUntil(lambda: mask not in viewer.layers, timeout=5_000)


@pytest.mark.gui
def test_history_open_adds_the_mask_when_shown(make_napari_viewer, qtbot):
    """History > Open re-adds the mask above the re-opened result."""
    from fakes import PaidFakeEngine
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer = make_napari_viewer()
    data = np.random.default_rng(2).integers(0, 255, (40, 50), np.uint8)
    viewer.add_image(data, name='cells')
    widget = OutpaintWidget(viewer, engine=PaidFakeEngine())
    viewer.window.add_dock_widget(widget)
    widget.history.toggle.value = True
    widget.show_mask.value = True
    _run_and_wait(widget, qtbot, 20)
    (result,) = _results_of(viewer)
    qtbot.waitUntil(lambda: len(_masks(viewer)) == 1, timeout=5_000)
    viewer.layers.remove(result)
    qtbot.waitUntil(lambda: _masks(viewer) == [], timeout=5_000)
    widget.history.open_button.clicked.emit()
    (reopened,) = _results_of(viewer)
    assert reopened.metadata['outpaint']['reopened_from_cache'] is True
    qtbot.waitUntil(lambda: len(_masks(viewer)) == 1, timeout=5_000)
    (mask,) = _masks(viewer)
    assert viewer.layers.index(mask) == viewer.layers.index(reopened) + 1
    assert mask.name == f'{reopened.name} [generated]'


@pytest.mark.gui
def test_reruns_do_not_pile_up_names(counting_widget, qtbot):
    """Two runs leave one 'cells [outpainted]' and its one mask: the
    replacing result takes back the name napari kept for the old one."""
    viewer, widget = counting_widget
    widget.show_mask.value = True
    for left in (10, 20):
        _run_and_wait(widget, qtbot, left)
    qtbot.waitUntil(lambda: len(_masks(viewer)) == 1, timeout=5_000)
    (result,) = _results_of(viewer)
    assert result.name == 'cells [outpainted]'
    assert result.metadata['outpaint']['expand']['left'] == 20
    assert [mask.name for mask in _masks(viewer)] == [
        'cells [outpainted] [generated]'
    ]
