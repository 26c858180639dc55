"""The widget's "Options" section: the settings, shown and edited.

Thin: the rules, the precedence and the file live in
:mod:`napari_outpaint._settings`. Each field shows the value that applies
(the environment's, the settings file's, or the default); editing one
saves it to the settings file at once, and the next Run uses it. A field
an environment variable sets is disabled, and its tooltip names the
variable. The API key is never among these fields, nor in the file.

Scripts drive it by name: ``widget.settings.spend_cap.value = 5``,
``widget.settings.concurrency.value = 8`` (``settings``, because
magicgui's widgets already have an ``options`` attribute).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs
from magicgui.widgets import (
    CheckBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    SpinBox,
)
from magicgui.widgets.bases import ValueWidget
from qtpy.QtWidgets import QSizePolicy

from napari_outpaint._cache import session_spend_cap
from napari_outpaint._errors import ConfigurationError
from napari_outpaint._settings import (
    CACHE_DIR,
    CACHE_MAX_BYTES,
    CONCURRENCY,
    ENVIRONMENT,
    MAX_CONCURRENCY,
    MAX_PASSES,
    SPEND_CAP,
    Setting,
    SettingsFileError,
    resolve,
    save_settings,
    settings_path,
)

__all__ = ['GIB', 'TIPS', 'OptionsPanel']

logger = logging.getLogger(__name__)

GIB = 1024**3
NO_CAP_TEXT = 'none'
_MAX_CAP_USD = 99_999.0
_MAX_CACHE_GIB = 9_999.0
_MAX_PASSES_SHOWN = 99
_MIN_FIELD_WIDTH = 90  # px: '$99999.00' still shows whole
_BUTTON_WIDTH = 32  # px, the '...' of the folder field
#: What each field is for (its tooltip adds where its value comes from).
TIPS = {
    SPEND_CAP.key: (
        'The most this session may spend on paid runs, in US dollars; a '
        'run that would pass it is not sent. "none": no cap.'
    ),
    CONCURRENCY.key: 'Planes of a batch in flight at once (1-32).',
    CACHE_DIR.key: (
        'Where paid results are kept so none is paid twice; empty: the '
        "platform's user cache folder."
    ),
    CACHE_MAX_BYTES.key: (
        'The result cache keeps under this size by removing the results '
        'used longest ago (never pending runs).'
    ),
    MAX_PASSES.key: (
        'The most Runflow runs one canvas may take (each pass grows it by '
        'up to 80 %, and costs one run).'
    ),
}


class OptionsPanel(Container):
    """A collapsible form of the settings; every edit is saved at once.

    Parameters
    ----------
    on_change : callable, optional
        Called with the setting's key after an edit was saved (the dock
        widget refreshes its readings and its History).
    """

    def __init__(self, on_change: Callable[[str], None] | None = None):
        super().__init__(labels=True)
        self.margins = (0, 0, 0, 0)  # its fields line up with the dock's
        self._on_change = on_change
        self._loading = False
        self.toggle = CheckBox(
            name='toggle', text='Options (spend cap, cache, ...)', value=False
        )
        self.spend_cap = FloatSpinBox(
            name='spend_cap',
            label='Spend cap',
            min=0.0,
            max=_MAX_CAP_USD,
            step=1.0,
            value=0.0,
        )
        self.spend_cap.native.setPrefix('$')
        self.spend_cap.native.setSpecialValueText(NO_CAP_TEXT)
        self.concurrency = SpinBox(
            name='concurrency',
            label='Concurrency',
            min=1,
            max=MAX_CONCURRENCY,
            value=CONCURRENCY.default,
        )
        self.cache_dir = FileEdit(
            name='cache_dir', label='Cache folder', mode='d', nullable=True
        )
        self.cache_dir.line_edit.native.setPlaceholderText(
            _platform_cache_dir()
        )
        # A long path scrolls in its field instead of widening the dock.
        self.cache_dir.line_edit.native.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed
        )
        self.cache_dir.choose_btn.text = '...'
        self.cache_dir.choose_btn.tooltip = 'Choose a folder'
        self.cache_dir.choose_btn.native.setMaximumWidth(_BUTTON_WIDTH)
        self.cache_limit = FloatSpinBox(
            name='cache_limit',
            label='Cache limit',
            min=0.0,
            max=_MAX_CACHE_GIB,
            step=0.5,
            value=CACHE_MAX_BYTES.default / GIB,
        )
        self.cache_limit.native.setSuffix(' GiB')
        self.cache_limit.native.setDecimals(1)
        self.max_passes = SpinBox(
            name='max_passes',
            label='Max passes',
            min=1,
            max=_MAX_PASSES_SHOWN,
            value=MAX_PASSES.default,
        )
        self.message = Label(name='message', label='', value='')
        self.message.native.setWordWrap(True)
        self.message.native.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        )
        self._fields: dict[str, tuple[ValueWidget, Setting]] = {
            SPEND_CAP.key: (self.spend_cap, SPEND_CAP),
            CONCURRENCY.key: (self.concurrency, CONCURRENCY),
            CACHE_DIR.key: (self.cache_dir, CACHE_DIR),
            CACHE_MAX_BYTES.key: (self.cache_limit, CACHE_MAX_BYTES),
            MAX_PASSES.key: (self.max_passes, MAX_PASSES),
        }
        for spin_box in (
            self.spend_cap,
            self.concurrency,
            self.cache_limit,
            self.max_passes,
        ):  # they fill the dock's width; they never widen it
            spin_box.native.setSizePolicy(
                QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed
            )
            spin_box.native.setMinimumWidth(_MIN_FIELD_WIDTH)
        self.extend([self.toggle, *self.field_widgets, self.message])
        self.toggle.tooltip = (
            f'Saved in {settings_path()} (never the API key). An '
            'environment variable of the same setting wins over it.'
        )
        self.toggle.changed.connect(self._on_toggle)
        for key, (widget, _setting) in self._fields.items():
            widget.changed.connect(lambda _v=None, key=key: self._save(key))
        # A folder typed by hand is saved when the typing ends, not for
        # each letter (a value set by a script or the chooser: at once).
        self._typing_folder = False
        line = self.cache_dir.line_edit.native
        line.textEdited.connect(self._on_folder_typed)
        line.editingFinished.connect(self._on_folder_typed_done)
        self.reload()
        self._on_toggle(False)

    @property
    def field_widgets(self) -> list[ValueWidget]:
        """The fields, in the order shown."""
        return [widget for widget, _setting in self._fields.values()]

    def reload(self) -> None:
        """Show the values that apply now (environment, file, default)."""
        problems = []
        self._loading = True
        try:
            for widget, setting in self._fields.values():
                problem = self._show(widget, setting)
                if problem and problem not in problems:
                    problems.append(problem)
        finally:
            self._loading = False
        self._say(' '.join(problems))

    # -- one field -------------------------------------------------------
    def _show(self, widget: ValueWidget, setting: Setting) -> str:
        """Show *setting* in *widget*; return a problem to tell, or ''."""
        tip = TIPS[setting.key]
        env_text = os.environ.get(setting.env, '').strip()
        try:
            found = resolve(setting)
        except SettingsFileError as exc:
            widget.value = _shown(setting, setting.default)
            widget.enabled = exc.key is not None  # an edit fixes a value
            widget.tooltip = f'{tip}\n\n{exc}'
            return str(exc)
        except ConfigurationError as exc:  # the variable's value is bad
            widget.enabled = False
            widget.tooltip = f'{tip}\n\n{exc}'
            return str(exc)
        widget.value = _shown(setting, found.value)
        problem = ''
        if setting is SPEND_CAP and found.value == 0:
            problem = (
                f'The spend cap is $0 ({found.describe()}): no paid run is '
                f'sent. The field shows it as "{NO_CAP_TEXT}"; set a cap '
                'above 0 here, or remove that value for no cap.'
            )
        if found.source == ENVIRONMENT:
            widget.enabled = False
            widget.tooltip = (
                f'Set by the environment variable {setting.env}='
                f'{env_text}; unset it to change this here.\n\n{tip}'
            )
        else:
            widget.enabled = True
            widget.tooltip = (
                f'{tip}\n\nNow: {found.describe()}. Saved in '
                f'{settings_path()}; the environment variable '
                f'{setting.env} wins over it.'
            )
        return problem

    def _save(self, key: str) -> None:
        if self._loading:
            return
        if key == CACHE_DIR.key and self._typing_folder:
            return  # saved when the typing ends
        widget, setting = self._fields[key]
        value = _stored(setting, widget.value)
        try:
            save_settings({key: value})
        except (ConfigurationError, OSError) as exc:
            logger.warning('Outpaint could not save %s: %s', key, exc)
            self._say(f'Not saved: {exc}')
            return
        if setting is SPEND_CAP:
            _apply_spend_cap(value)
        self.reload()
        if self._on_change is not None:
            self._on_change(key)

    def _on_folder_typed(self, _text: str) -> None:
        self._typing_folder = True

    def _on_folder_typed_done(self) -> None:
        if self._typing_folder:
            self._typing_folder = False
            self._save(CACHE_DIR.key)

    # -- showing ---------------------------------------------------------
    def _on_toggle(self, shown: bool) -> None:
        if shown:
            self.reload()
        for widget in self.field_widgets:
            widget.visible = shown
        self.message.visible = shown and bool(self.message.value)

    def _say(self, text: str) -> None:
        self.message.value = text
        self.message.visible = self.toggle.value and bool(text)


def _shown(setting: Setting, value: Any) -> Any:
    """A setting's value as its field shows it."""
    if setting is SPEND_CAP:
        return 0.0 if value is None else value
    if setting is CACHE_MAX_BYTES:
        return value / GIB
    return value


def _stored(setting: Setting, shown: Any) -> Any:
    """A field's value as the settings file keeps it (None: unset)."""
    if setting is SPEND_CAP:
        return float(shown) if shown else None
    if setting is CACHE_MAX_BYTES:
        return round(shown * GIB)
    if setting is CACHE_DIR:
        return Path(shown) if shown and str(shown) not in ('', '.') else None
    return shown


def _apply_spend_cap(limit_usd: float | None) -> None:
    """The session's cap follows the field at once (the next run's)."""
    try:
        session_spend_cap().limit_usd = limit_usd
    except ConfigurationError as exc:  # e.g. a bad variable: shown already
        logger.warning('Outpaint could not apply the spend cap: %s', exc)


def _platform_cache_dir() -> str:
    return platformdirs.user_cache_dir('napari-outpaint')
