"""The widget's "Size by" section in a real napari viewer."""

from __future__ import annotations

import numpy as np
import pytest

from fakes import PaidFakeEngine
from napari_outpaint._canvas import Canvas, plan_canvas
from napari_outpaint._expand import Expand, Padding
from napari_outpaint._qt.canvas_fields import (
    RATIO_PRESETS,
    SIZE_BY_CHOICES,
)
from napari_outpaint._qt.preview import PREVIEW_LAYER_NAME, canvas_outline

_FIELDS = {
    'percent': ('top', 'bottom', 'left', 'right'),
    'pixels': ('top_px', 'bottom_px', 'left_px', 'right_px'),
    'world units': ('top_world', 'bottom_world', 'left_world', 'right_world'),
    'target size': ('rows', 'cols', 'anchor_y', 'anchor_x'),
    'aspect ratio': ('ratio_preset', 'ratio', 'anchor_y', 'anchor_x'),
    'fit to layer': ('fit_to',),
}


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


@pytest.fixture
def scaled(make_napari_viewer):
    """A viewer with a 60 x 80 image of 0.5 x 2 µm pixels, its widget."""
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer = make_napari_viewer()
    data = np.random.default_rng(3).integers(0, 255, (60, 80), np.uint8)
    layer = viewer.add_image(
        data,
        name='cells',
        scale=(0.5, 2.0),
        translate=(3.0, -7.0),
        units=('um', 'um'),
    )
    engine = PaidFakeEngine()
    widget = OutpaintWidget(viewer, engine=engine)
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    return viewer, layer, widget, engine


def _idle(widget):
    from qtpy.QtCore import QThreadPool

    return (
        widget.worker is None
        and QThreadPool.globalInstance().activeThreadCount() == 0
    )


def _shown(widget, name) -> bool:
    return not widget[name].native.isHidden()


@pytest.mark.gui
def test_the_fields_follow_the_choice(scaled):
    """Each measure shows its fields only; the world ones carry the unit."""
    _, _, widget, _ = scaled
    assert widget.size_by.value == 'percent'
    assert set(widget.size_by.choices) == set(SIZE_BY_CHOICES)
    every = {name for names in _FIELDS.values() for name in names}
    for measure, names in _FIELDS.items():
        widget.size_by.value = measure
        assert {name for name in every if _shown(widget, name)} == set(names)
    assert widget.top_world.label == 'Top (µm)'
    assert widget.top.label == 'Top %'


def _planned(layer, wish):
    rows, cols = layer.data.shape
    return plan_canvas(wish, rows, cols, scale=tuple(layer.scale))


@pytest.mark.gui
@pytest.mark.parametrize(
    ('fields', 'wish'),
    [
        ({'left': 20, 'top': 5}, Expand(top=5, left=20)),
        ({'size_by': 'pixels', 'left_px': 150}, Canvas.pixels(left=150)),
        (
            {'size_by': 'world units', 'top_world': 40.0, 'right_world': 3.0},
            Canvas.world(top=40.0, right=3.0),
        ),
        (
            {'size_by': 'target size', 'rows': 200, 'cols': 90},
            Canvas.shape(200, 90),
        ),
        (
            {
                'size_by': 'target size',
                'rows': 61,
                'cols': 300,
                'anchor_y': 0.0,
                'anchor_x': 1.0,
            },
            Canvas.shape(61, 300, anchor=(0.0, 1.0)),
        ),
        (
            {'size_by': 'aspect ratio', 'ratio_preset': '16:9'},
            Canvas.aspect(16 / 9),
        ),
        (
            {'size_by': 'aspect ratio', 'ratio': 0.5, 'anchor_y': 0.2},
            Canvas.aspect(0.5, anchor=(0.2, 0.5)),
        ),
    ],
)
def test_every_measure_is_planned_and_read_three_ways(scaled, fields, wish):
    """The canvas line gives the plan in px, world units and %, its passes
    and price; the outline is the plan's exact canvas."""
    viewer, layer, widget, _ = scaled
    widget.update(fields)
    plan = _planned(layer, wish)
    line = widget.canvas.value
    rows, cols = plan.shape
    assert line.startswith(f'{rows} x {cols} px ({rows * 0.5:.4g} x ')
    assert f'{cols * 2.0:.4g} µm)' in line
    percents = [100 * plan.target.top / 60, 100 * plan.target.left / 80]
    assert f'{percents[0]:.3g}/' in line
    assert f'/{percents[1]:.3g}/' in line
    n = len(plan.passes)
    word = 'pass' if n == 1 else 'passes'
    assert f'{n} {word} x $0.55' in line
    if n > 1:
        assert f'= ${0.55 * n:.2f}' in line
        total = f'${0.55 * n:.2f}'
        assert widget.price.value == f'1 plane x {n} passes x $0.55 = {total}'
    else:
        assert widget.price.value == '$0.55'
    (preview,) = [
        lay for lay in viewer.layers if lay.name == PREVIEW_LAYER_NAME
    ]
    expected = canvas_outline(layer, plan.target)
    np.testing.assert_allclose(preview.data[0], expected.corners)
    assert widget.run.enabled
    assert widget.expand() == wish


@pytest.mark.gui
def test_a_ratio_preset_sets_the_ratio_and_a_typed_ratio_names_it(scaled):
    """Presets fill the ratio; typing 1.5 selects '3:2', 1.6 'custom'."""
    _, _, widget, _ = scaled
    widget.size_by.value = 'aspect ratio'
    for name, ratio in RATIO_PRESETS.items():
        widget.ratio_preset.value = name
        assert widget.ratio.value == pytest.approx(ratio, rel=1e-6)
    widget.ratio.value = 1.5
    assert widget.ratio_preset.value == '3:2'
    widget.ratio.value = 1.6
    assert widget.ratio_preset.value == 'custom'


@pytest.mark.gui
@pytest.mark.parametrize(
    ('fields', 'said'),
    [
        (
            {'size_by': 'target size', 'rows': 30, 'cols': 80},
            'smaller than the original',
        ),
        ({'size_by': 'aspect ratio', 'ratio': 0.0}, 'above 0'),
        ({'size_by': 'pixels', 'left_px': 5000}, 'needs more than 4 passes'),
    ],
)
def test_bad_wishes_show_in_the_canvas_line_and_disable_run(
    scaled, notifications, fields, said
):
    """No exception, no notification: the line says why, Run is off, the
    outline is hidden; a good value brings both back."""
    viewer, _, widget, _ = scaled
    widget.left.value = 10
    (preview,) = [
        lay for lay in viewer.layers if lay.name == PREVIEW_LAYER_NAME
    ]
    assert widget.run.enabled
    widget.update(fields)
    assert widget.canvas.value.startswith('cannot plan: ')
    assert said in widget.canvas.value
    assert not widget.run.enabled
    assert widget.expand() is None
    assert not preview.visible
    assert widget.price.value == ''
    assert notifications == []
    widget.size_by.value = 'percent'
    assert widget.run.enabled
    assert preview.visible


@pytest.mark.gui
def test_more_passes_than_allowed_follows_the_setting(scaled, monkeypatch):
    """NAPARI_OUTPAINT_MAX_PASSES=1 refuses what needs two passes."""
    _, _, widget, _ = scaled
    widget.update({'size_by': 'pixels', 'left_px': 100})
    assert '2 passes' in widget.canvas.value
    monkeypatch.setenv('NAPARI_OUTPAINT_MAX_PASSES', '1')
    widget.left_px.value = 101
    assert 'needs more than 1 pass' in widget.canvas.value
    assert not widget.run.enabled


@pytest.mark.gui
def test_several_paid_passes_ask_first_then_run_with_confirm(scaled, qtbot):
    """A 2-pass paid plan asks the price; No starts nothing, Yes runs both
    passes and adds exactly the wished canvas, the original bit-exact."""
    viewer, layer, widget, engine = scaled
    widget.update({'size_by': 'pixels', 'left_px': 100, 'top_px': 7})
    plan = _planned(layer, Canvas.pixels(top=7, left=100))
    assert len(plan.passes) == 2
    asked, answers = [], [False, True]
    widget._confirm_cost = lambda text: asked.append(text) or answers.pop(0)
    widget.run.clicked.emit()
    assert asked == ['1 plane x 2 passes x $0.55 = $1.10']
    assert widget.worker is None
    assert engine.calls == []
    widget.run.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    assert len(asked) == 2
    assert len(engine.calls) == 2
    result = viewer.layers['cells [outpainted]']
    assert result.data.shape == plan.shape
    np.testing.assert_array_equal(
        result.data[7 : 7 + 60, 100 : 100 + 80], layer.data
    )


@pytest.mark.gui
def test_one_paid_pass_runs_without_asking(scaled, qtbot):
    """A single pass keeps today's behaviour: no question."""
    viewer, _, widget, engine = scaled
    widget.update({'size_by': 'pixels', 'right_px': 10})
    widget._confirm_cost = lambda text: pytest.fail(f'asked: {text}')
    widget.run.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    assert len(engine.calls) == 1
    assert viewer.layers['cells [outpainted]'].data.shape == (60, 90)


@pytest.mark.gui
def test_fit_to_the_other_layer_is_the_smallest_covering_canvas(scaled):
    """The canvas covers the other layer's world extent; one pixel less on
    any grown side would not."""
    from napari_outpaint._qt.view import layer_bounds

    viewer, layer, widget, _ = scaled
    other = viewer.add_image(
        np.zeros((25, 25), np.uint8),
        name='wide',
        scale=(1.3, 1.3),
        translate=(-20.0, 141.0),
        units=('um', 'um'),
    )
    viewer.layers.selection.active = layer
    widget.size_by.value = 'fit to layer'
    assert widget.canvas.value == (
        'choose another image layer that reaches beyond this one'
    )
    offered = [c for c in widget.fit_to.choices if c is not None]
    assert offered == [other]  # not itself, not the outline
    widget.fit_to.value = other
    target = widget._reading.plan.target
    assert target.top > 0
    assert target.right > 0
    assert (target.bottom, target.left) == (0, 0)
    # its footprint: pixel edges, half a pixel beyond the centres
    low = np.asarray(other.data_to_world((-0.5, -0.5)))
    high = np.asarray(other.data_to_world((24.5, 24.5)))
    assert np.all(low < layer_bounds(other)[0])
    covered = canvas_outline(layer, target)
    c_low, c_high = covered.corners.min(axis=0), covered.corners.max(axis=0)
    assert np.all(c_low <= low + 1e-9)
    assert np.all(c_high >= high - 1e-9)
    for side in ('top', 'right'):
        less = target._replace(**{side: getattr(target, side) - 1})
        smaller = canvas_outline(layer, Padding(*less)).corners
        assert np.any(smaller.min(axis=0) > low + 1e-9) or np.any(
            smaller.max(axis=0) < high - 1e-9
        )


def test_a_drag_of_a_few_pixels_is_not_rounded_away(qtbot):
    """1 px of a 2048 px side is 0.05 %: percent would lose it, so the
    fields switch to pixels and keep it; each follow is one change."""
    from napari_outpaint._qt.canvas_fields import CanvasFields

    changes = []
    fields = CanvasFields(lambda: changes.append(1), layers=list)
    fields.follow_padding(Padding(0, 0, 0, 1), (2048, 2048), (1.0, 1.0))
    assert fields.measure == 'pixels'
    assert fields.wish() == Canvas.pixels(right=1)
    fields.size_by.value = 'percent'
    changes.clear()
    fields.follow_padding(Padding(0, 0, 0, 30), (2048, 2048), (1.0, 1.0))
    assert fields.wish() == Expand(right=1)
    assert changes == [1]
