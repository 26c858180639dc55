"""The widget's Channels choice in a real viewer, against the stand-in:
channel layers of one image outpainted together, priced in runs, one
mask for the image, results replacing the previous ones."""

from __future__ import annotations

import numpy as np
import pytest

from napari_outpaint._qt.channels_choice import (
    ALL_CHANNELS,
    THIS_LAYER,
    runs_per_plane,
)
from napari_outpaint.engines.choice import EngineChoice


def _idle(widget):
    from qtpy.QtCore import QThreadPool

    return (
        widget.worker is None
        and QThreadPool.globalInstance().activeThreadCount() == 0
    )


def test_runs_per_plane_are_groups_of_three_for_runflow_one_for_local():
    runflow = EngineChoice('runflow', 'runflow', 'chosen', 0.55)
    local = EngineChoice('local', 'local', 'chosen', 0.0)
    assert [runs_per_plane(c, runflow) for c in (2, 3, 4, 7)] == [1, 1, 2, 3]
    assert runs_per_plane(7, local) == 1


@pytest.fixture
def channels_viewer(make_napari_viewer, runflow_standin):
    from napari_outpaint._qt.widget import OutpaintWidget
    from napari_outpaint.engines.runflow import RunflowEngine

    viewer = make_napari_viewer()
    rng = np.random.default_rng(1)
    data = rng.integers(0, 4000, (3, 40, 50)).astype(np.uint16)
    layers = viewer.add_image(
        data, channel_axis=0, name=['dna', 'membrane', 'marker']
    )
    viewer.add_image(np.zeros((40, 51), np.uint8), name='other')
    engine = RunflowEngine(
        api_key='test-key',
        base_url=runflow_standin.base_url,
        verify=runflow_standin.ca_path,
    )
    widget = OutpaintWidget(viewer, engine=engine)
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    return viewer, widget, layers, data


def test_three_channel_layers_run_once_into_three_results_and_one_mask(
    channels_viewer, runflow_standin, qtbot
):
    viewer, widget, layers, data = channels_viewer
    combo = widget._channels.combo
    viewer.layers.selection.active = viewer.layers['other']
    assert not widget._channels.offered  # no sibling channels
    viewer.layers.selection.active = layers[1]
    assert widget._channels.offered
    assert combo.value == THIS_LAYER
    widget._sides['left'].value = 20
    assert widget._price_label.value == '$0.55'
    combo.value = ALL_CHANNELS
    assert widget._price_label.value == '3 channels: 1 run x $0.55 = $0.55'
    widget._show_mask.value = True
    widget._run_button.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    qtbot.waitUntil(lambda: len(_masks(viewer)) == 1, timeout=5_000)
    assert len(runflow_standin.runs) == 1
    results = [
        viewer.layers[f'{n} [outpainted]']
        for n in ('dna', 'membrane', 'marker')
    ]
    for k, result in enumerate(results):
        assert result.data.shape == (40, 60)
        assert result.data.dtype == np.uint16
        np.testing.assert_array_equal(result.data[:, 10:], data[k])
        assert result.colormap.name == layers[k].colormap.name
        assert (
            result.metadata['outpaint']['run_id'] == runflow_standin.runs[0].id
        )
    (mask,) = _masks(viewer)  # one mask for the image
    assert mask.data.shape == (40, 60)
    assert mask.data[:, :10].all()
    assert not mask.data[:, 10:].any()

    widget._run_button.clicked.emit()  # again: replaces, from the cache
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    qtbot.waitUntil(
        lambda: (
            len([lay for lay in viewer.layers if 'generated' in lay.name]) == 1
        ),
        timeout=5_000,
    )
    assert len(runflow_standin.runs) == 1
    assert sorted(layer.name for layer in _outpainted(viewer)) == [
        'dna [outpainted]', 'marker [outpainted]', 'membrane [outpainted]',
    ]  # fmt: skip


def test_five_channels_price_two_runs_and_ask_first(
    make_napari_viewer, runflow_standin, qtbot
):
    from napari_outpaint._qt.widget import OutpaintWidget
    from napari_outpaint.engines.runflow import RunflowEngine

    viewer = make_napari_viewer()
    data = np.random.default_rng(2).integers(0, 255, (5, 30, 40), np.uint8)
    viewer.add_image(data, channel_axis=0)
    engine = RunflowEngine(
        api_key='test-key',
        base_url=runflow_standin.base_url,
        verify=runflow_standin.ca_path,
    )
    widget = OutpaintWidget(viewer, engine=engine)
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    widget._sides['top'].value = 20
    widget._channels.combo.value = ALL_CHANNELS
    assert widget._price_label.value == '5 channels: 2 runs x $0.55 = $1.10'
    asked = []
    widget._confirm_cost = lambda text: asked.append(text) or True
    widget._run_button.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    assert asked == ['5 channels: 2 runs x $0.55 = $1.10']
    assert len(runflow_standin.runs) == 2
    qtbot.waitUntil(lambda: len(_outpainted(viewer)) == 5, timeout=5_000)


def _outpainted(viewer):
    return [
        layer for layer in viewer.layers if layer.name.endswith('[outpainted]')
    ]


def _masks(viewer):
    return [layer for layer in viewer.layers if 'generated' in layer.name]


def test_all_planes_of_channel_layers_price_runs_per_plane(
    make_napari_viewer, runflow_standin, qtbot
):
    from napari_outpaint._qt.widget import OutpaintWidget
    from napari_outpaint.engines.runflow import RunflowEngine

    viewer = make_napari_viewer()
    data = np.random.default_rng(3).integers(0, 255, (2, 4, 30, 40), np.uint8)
    layers = viewer.add_image(data, channel_axis=0, name=['a', 'b'])
    engine = RunflowEngine(
        api_key='test-key',
        base_url=runflow_standin.base_url,
        verify=runflow_standin.ca_path,
    )
    widget = OutpaintWidget(viewer, engine=engine)
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    viewer.layers.selection.active = layers[0]
    widget._sides['left'].value = 20
    widget._channels.combo.value = ALL_CHANNELS
    widget._planes.value = 'all planes'
    price = '2 channels x 4 planes: 4 runs x $0.55 = $2.20'
    assert widget._price_label.value.startswith(price)
    asked = []
    widget._confirm_cost = lambda text: asked.append(text) or True
    widget._run_button.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    qtbot.waitUntil(lambda: len(_outpainted(viewer)) == 2, timeout=5_000)
    assert len(asked) == 1
    assert asked[0].startswith(price)
    assert len(runflow_standin.runs) == 4  # one per plane for both channels
    for k, name in enumerate(['a', 'b']):
        result = viewer.layers[f'{name} [outpainted]']
        assert result.data.shape == (4, 30, 48)
        np.testing.assert_array_equal(result.data[:, :, 8:], data[k])
