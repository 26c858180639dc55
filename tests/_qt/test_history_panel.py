"""The widget's History section in a real viewer: batches, filter, Clear."""

from __future__ import annotations

import numpy as np
import pytest

from fakes import PaidFakeEngine
from napari_outpaint import Expand, outpaint_layer
from napari_outpaint._cache.store import ResultCache
from napari_outpaint._qt.history_panel import ALL_PLANES, CLEAR_TEXT

EXPAND = Expand(10, 0, 20, 0)

pytestmark = pytest.mark.gui


@pytest.fixture
def history(make_napari_viewer):
    """A viewer with a 3-plane 'cells' stack outpainted as a paid batch
    and a 'nuclei' image run once; the widget's History section, open."""
    from napari_outpaint._qt.widget import OutpaintWidget

    viewer = make_napari_viewer()
    rng = np.random.default_rng(4)
    cells = viewer.add_image(
        rng.integers(0, 255, (3, 20, 24), np.uint8),
        name='cells',
        scale=(3.0, 0.5, 0.5),
        axis_labels=('z', 'y', 'x'),
    )
    nuclei = viewer.add_image(
        rng.integers(0, 255, (20, 24), np.uint8), name='nuclei'
    )
    engine = PaidFakeEngine()
    batch = outpaint_layer(
        cells, EXPAND, engine=engine, planes='all', confirm=True
    )
    outpaint_layer(nuclei, EXPAND, engine=engine)
    widget = OutpaintWidget(viewer, engine=engine)
    viewer.window.add_dock_widget(widget)
    viewer.layers.selection.active = cells
    panel = widget._history
    assert not _shown(panel.filter)
    panel.toggle.value = True
    assert _shown(panel.filter)
    assert _shown(panel.clear_button)
    return viewer, panel, batch


def _shown(widget) -> bool:
    """Whether *widget* is set to show (the viewer's window is hidden)."""
    return not widget.native.isHidden()


def _labels(combo) -> list[str]:
    return [combo.native.itemText(i) for i in range(combo.native.count())]


def _pick(panel, word: str) -> None:
    (key,) = [
        value
        for label, value in zip(
            _labels(panel.entries), panel.entries.choices, strict=True
        )
        if word in label
    ]
    panel.entries.value = key


def test_a_batch_is_one_entry_that_opens_whole_or_by_plane(history, qtbot):
    """The batch is one entry; picking it shows its planes; Open gives the
    batch's nD layer, or the one plane picked."""
    viewer, panel, batch = history
    labels = _labels(panel.entries)
    assert len(labels) == 2
    assert sum('batch: 3 planes' in label for label in labels) == 1
    _pick(panel, 'nuclei')
    assert not _shown(panel.planes)
    _pick(panel, 'batch')
    assert _shown(panel.planes)
    planes = _labels(panel.planes)
    assert planes[0] == 'all 3 planes, as one nD layer'
    assert [p.split('  ')[0] for p in planes[1:]] == [
        'plane z=0',
        'plane z=1',
        'plane z=2',
    ]
    assert panel.planes.value == ALL_PLANES
    panel.open_button.clicked.emit()
    whole = viewer.layers[-1]
    assert whole.metadata['outpaint']['reopened_from_cache'] is True
    np.testing.assert_array_equal(whole.data, batch.data)
    np.testing.assert_allclose(whole.translate, batch.translate)
    panel.planes.value = panel.planes.choices[2]  # plane 1
    panel.open_button.clicked.emit()
    one = viewer.layers[-1]
    assert one is not whole
    assert one.data.shape[0] == 1
    np.testing.assert_array_equal(one.data[0], batch.data[1])
    np.testing.assert_allclose(one.translate[0], batch.translate[0] + 3.0)
    other = viewer.add_image(  # labelled too, but not the batch's source
        np.zeros((3, 20, 24), np.float32), axis_labels=('t', 'y', 'x')
    )
    viewer.layers.selection.active = other
    panel.entries.reset_choices()
    panel.planes.reset_choices()
    assert _labels(panel.planes)[1].startswith('plane 0  run ')


def test_the_filter_box_narrows_the_list(history, qtbot):
    """Typing in the filter keeps the entries whose source, date, engine or
    run id match; clearing it brings them all back."""
    _, panel, _ = history
    panel.filter.value = 'NUCLEI'
    (label,) = _labels(panel.entries)
    assert 'nuclei' in label
    assert not _shown(panel.planes)
    panel.filter.value = 'cells'
    (label,) = _labels(panel.entries)
    assert 'batch: 3 planes' in label
    assert _shown(panel.planes)
    panel.filter.value = 'no-such-result'
    assert _labels(panel.entries) == []
    panel.filter.value = 'paid-fake'
    assert len(_labels(panel.entries)) == 2


def test_clear_asks_again_then_deletes_results_and_keeps_pending(
    history, qtbot
):
    """The first click only asks; any other change cancels; the second
    click deletes the results, keeps pending runs, and says so."""
    viewer, panel, _ = history
    cache = ResultCache()
    cache.record_pending('run-kept', 'f' * 64, {'model': 'm'})
    n_layers = len(viewer.layers)
    panel.clear_button.clicked.emit()
    assert panel.clear_button.text == 'Click again to delete 4 result(s)'
    assert 'Click again' in panel.message.value
    assert len(cache.entries()) == 4
    panel.filter.value = 'cells'  # another change: not confirmed
    assert panel.clear_button.text == CLEAR_TEXT
    panel.clear_button.clicked.emit()
    panel.clear_button.clicked.emit()
    assert cache.entries() == []
    assert [p.run_id for p in cache.pending()] == ['run-kept']
    assert _labels(panel.entries) == []
    assert panel.message.value.startswith('deleted 4 cached result(s)')
    assert panel.message.value.endswith('pending runs are kept')
    assert panel.clear_button.text == CLEAR_TEXT
    assert len(viewer.layers) == n_layers  # no layer added or removed
