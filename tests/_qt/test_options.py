"""The widget's Options in a real viewer: an edit is saved to the settings
file and a new widget shows it; a variable disables its field and is
named; a Run uses the settings (the file's spend cap stops a paid batch
before it pays); the API key never reaches the file."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from napari_outpaint._cache import session_spend_cap
from napari_outpaint._qt.options import GIB, NO_CAP_TEXT
from napari_outpaint._settings import save_settings, settings_path

pytestmark = pytest.mark.gui

SECRET = 'rf_live_0123456789abcdef0123456789abcdef'


@pytest.fixture
def viewer(make_napari_viewer):
    """A viewer holding a three-plane stack."""
    viewer = make_napari_viewer()
    ramp = np.add.outer(np.arange(40), np.arange(50))
    stack = np.stack([(ramp * k % 256).astype(np.uint8) for k in (1, 2, 3)])
    viewer.add_image(stack, name='stack')
    return viewer


def _widget(viewer, **kwargs):
    from napari_outpaint._qt.widget import OutpaintWidget

    widget = OutpaintWidget(viewer, **kwargs)
    viewer.window.add_dock_widget(widget, name='outpaint under test')
    return widget


def _saved():
    return tomllib.loads(settings_path().read_text())


def _idle(widget):
    from qtpy.QtCore import QThreadPool

    return (
        widget.worker is None
        and QThreadPool.globalInstance().activeThreadCount() == 0
    )


def test_an_edit_is_saved_and_a_new_widget_shows_it(
    viewer, monkeypatch, tmp_path, fresh_session_cap
):
    """Each field writes its setting at once; a second widget reads them
    back; the spend cap applies to the session at once."""
    monkeypatch.delenv('NAPARI_OUTPAINT_CACHE_DIR')
    first = _widget(viewer)
    options = first.settings
    assert not settings_path().exists()  # showing writes nothing
    options.spend_cap.value = 5
    options.concurrency.value = 7
    options.cache_dir.value = tmp_path / 'my cache'
    options.cache_limit.value = 1.5
    options.max_passes.value = 2
    assert _saved() == {
        'spend_cap_usd': 5.0,
        'concurrency': 7,
        'cache_dir': str(tmp_path / 'my cache'),
        'cache_max_bytes': round(1.5 * GIB),
        'max_passes': 2,
    }
    assert session_spend_cap().limit_usd == 5.0
    second = _widget(viewer).settings
    assert second.spend_cap.value == 5.0
    assert second.concurrency.value == 7
    assert second.cache_dir.value == tmp_path / 'my cache'
    assert second.cache_limit.value == 1.5
    assert second.max_passes.value == 2
    assert all(field.enabled for field in second.field_widgets)


def test_no_cap_and_the_default_folder_leave_the_file(
    viewer, monkeypatch, fresh_session_cap
):
    """Spend cap 0 shows 'none' and removes the cap; an empty folder
    means the platform's cache folder."""
    monkeypatch.delenv('NAPARI_OUTPAINT_CACHE_DIR')
    save_settings({'spend_cap_usd': 3, 'cache_dir': '/somewhere'})
    options = _widget(viewer).settings
    options.spend_cap.value = 0
    options.cache_dir.value = None
    assert _saved() == {}
    assert options.spend_cap.native.text() == NO_CAP_TEXT
    assert session_spend_cap().limit_usd is None


def test_a_zero_cap_is_told_not_shown_as_no_cap(viewer):
    """spend_cap_usd = 0 forbids every paid run: the field can only show
    "none" at 0, so the panel says what applies."""
    save_settings({'spend_cap_usd': 0})
    options = _widget(viewer).settings
    options.toggle.value = True
    assert 'The spend cap is $0' in options.message.value
    assert str(settings_path()) in options.message.value


def test_a_variable_disables_its_field_and_names_it(viewer, monkeypatch):
    """NAPARI_OUTPAINT_CONCURRENCY=8 over the file's 3: the field shows 8,
    is disabled, and its tooltip names the variable; the others stay
    editable (the suite sets NAPARI_OUTPAINT_CACHE_DIR: disabled too)."""
    save_settings({'concurrency': 3})
    monkeypatch.setenv('NAPARI_OUTPAINT_CONCURRENCY', '8')
    options = _widget(viewer).settings
    assert options.concurrency.value == 8
    assert not options.concurrency.enabled
    assert 'NAPARI_OUTPAINT_CONCURRENCY=8' in options.concurrency.tooltip
    assert not options.cache_dir.enabled
    assert 'NAPARI_OUTPAINT_CACHE_DIR' in options.cache_dir.tooltip
    assert options.max_passes.enabled
    assert str(settings_path()) in options.max_passes.tooltip


def test_a_bad_file_value_is_told_and_an_edit_fixes_it(viewer, qtbot):
    """concurrency = 0 in the file: the panel names the file and the key,
    the field stays editable, and an edit writes a good value."""
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text('concurrency = 0\nmax_passes = 3\n')
    options = _widget(viewer).settings
    options.toggle.value = True
    assert str(settings_path()) in options.message.value
    assert 'concurrency = 0' in options.message.value
    assert not options.message.native.isHidden()
    assert options.concurrency.enabled
    assert options.max_passes.value == 3
    options.concurrency.value = 5
    assert _saved() == {'concurrency': 5, 'max_passes': 3}
    assert options.message.value == ''


def test_the_api_key_never_reaches_the_settings_file(
    viewer, monkeypatch, fresh_session_cap
):
    """A key typed in the widget, and one in the environment, are never
    written by a save; the panel has no key field."""
    monkeypatch.setenv('RUNFLOW_API_KEY', 'x' + SECRET)
    widget = _widget(viewer)
    widget.api_key.value = SECRET
    options = widget.settings
    options.spend_cap.value = 2
    options.concurrency.value = 2
    options.max_passes.value = 3
    text = settings_path().read_text()
    assert SECRET not in text
    assert 'key' not in ''.join(_saved())
    assert all('key' not in field.name for field in options.field_widgets)


def test_the_file_spend_cap_stops_a_paid_batch_before_it_pays(
    viewer, runflow_standin, qtbot, fresh_session_cap
):
    """spend_cap_usd = 0.5 in the file, a $0.55-a-plane batch: refused
    before any run is created, saying why; raising the cap in the Options
    lets the next Run pay."""
    from napari_outpaint.engines.runflow import RunflowEngine

    save_settings({'spend_cap_usd': 0.5})
    engine = RunflowEngine(
        api_key='test-key',
        base_url=runflow_standin.base_url,
        verify=runflow_standin.ca_path,
    )
    widget = _widget(viewer, engine=engine)
    assert widget.settings.spend_cap.value == 0.5
    widget.left.value = 20
    widget.planes.value = 'all planes'
    widget._confirm_cost = lambda text: True  # the price question, answered
    widget.run.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    assert runflow_standin.runs == []
    assert widget.last_failure is not None
    assert 'spend cap' in widget.status.value
    assert 'stack [outpainted]' not in viewer.layers
    widget.settings.spend_cap.value = 5
    widget.run.clicked.emit()
    qtbot.waitUntil(lambda: _idle(widget), timeout=30_000)
    assert len(runflow_standin.runs) == 3
    assert viewer.layers['stack [outpainted]'].data.shape == (3, 40, 60)


def test_max_passes_applies_to_the_canvas_line_at_once(viewer):
    """Max passes 1 refuses a canvas that needs two passes, at once, and
    the error names where to allow more."""
    widget = _widget(viewer)
    widget.update({'size_by': 'pixels', 'left_px': 100})  # 50 px wide
    assert '2 passes' in widget.canvas.value
    widget.settings.max_passes.value = 1
    assert 'needs more than 1 pass' in widget.canvas.value
    assert not widget.run.enabled
    widget.settings.max_passes.value = 4
    assert '2 passes' in widget.canvas.value
    assert widget.run.enabled


def test_a_typed_folder_is_saved_when_the_typing_ends(
    viewer, monkeypatch, qtbot, tmp_path
):
    """Typing a cache folder saves once, at Enter, not a file per letter."""
    from qtpy.QtCore import Qt

    monkeypatch.delenv('NAPARI_OUTPAINT_CACHE_DIR')
    widget = _widget(viewer)
    widget.settings.toggle.value = True
    line = widget.settings.cache_dir.line_edit.native
    qtbot.keyClicks(line, str(tmp_path / 'typed'))
    assert widget.settings.cache_dir.value == tmp_path / 'typed'
    assert not settings_path().exists()
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert _saved() == {'cache_dir': str(tmp_path / 'typed')}
    widget.settings.cache_dir.value = tmp_path / 'scripted'  # at once
    assert _saved() == {'cache_dir': str(tmp_path / 'scripted')}
