"""Which engine the widget will run, why, and at what price.

The widget shows this line at all times, so the choice between the paid
cloud engine and the local one is never silent. The engines themselves
come from :func:`napari_outpaint.engines.resolve_engine`; this module only
says in words what that call will do with the widget's inputs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from napari_outpaint.engines import Engine

__all__ = ['ENGINE_CHOICES', 'EnginePlan', 'format_price', 'plan_engine']

ENGINE_CHOICES = ('auto', 'runflow', 'local', 'reflect')
_ENV_VAR = 'RUNFLOW_API_KEY'
_RUNFLOW_PRICE_USD = 0.55  # shown before the engine module is imported
_LOCAL_TITLES = {
    'local': 'Local PatchMatch',
    'reflect': 'Local reflection padding (instant preview)',
}


@dataclass(frozen=True)
class EnginePlan:
    """The engine a click on Run will use.

    Attributes
    ----------
    name : str
        ``'runflow'``, ``'local'`` or ``'reflect'`` (for
        ``resolve_engine``), or the given engine's name.
    summary : str
        What runs and why, e.g. ``'Runflow (key from RUNFLOW_API_KEY)'``.
    price_usd : float
        Price of one run.
    ready : bool
        False when Runflow is chosen but no key is configured.
    api_key : str or None
        The key Runflow will use (never shown, never repr'd).
    engine : Engine or None
        An engine given by the caller, used as is.
    """

    name: str
    summary: str
    price_usd: float
    ready: bool = True
    api_key: str | None = field(default=None, repr=False)
    engine: Engine | None = field(default=None, repr=False)

    @property
    def price_per_image_usd(self) -> float:
        """Same as ``price_usd``, so cost estimates accept a plan."""
        return self.price_usd

    @property
    def price(self) -> str:
        """``'$0.55'`` or ``'free (local)'``."""
        return format_price(self.price_usd)

    def build(self) -> Engine:
        """The engine itself (raises ``ConfigurationError`` if not ready)."""
        if self.engine is not None:
            return self.engine
        from napari_outpaint.engines import resolve_engine

        return resolve_engine(self.name, api_key=self.api_key)


def format_price(price_usd: float) -> str:
    """``'$0.55'`` for a paid run, ``'free (local)'`` for a free one."""
    return f'${price_usd:.2f}' if price_usd > 0 else 'free (local)'


def plan_engine(
    choice: str, typed_key: str = '', *, engine: Engine | None = None
) -> EnginePlan:
    """Say which engine runs for *choice* and the key typed in the widget.

    Parameters
    ----------
    choice : str
        One of :data:`ENGINE_CHOICES`; ``'auto'`` means Runflow when a key
        is configured (typed, ``RUNFLOW_API_KEY`` or system keyring), else
        the local PatchMatch engine.
    typed_key : str
        The content of the widget's key field ('' when empty).
    engine : Engine, optional
        An engine given by the caller: wins over *choice*.
    """
    if engine is not None:
        return EnginePlan(
            name=engine.name,
            summary=f'{_title(engine)} (given by the caller)',
            price_usd=float(engine.price_per_image_usd),
            engine=engine,
        )
    if choice in _LOCAL_TITLES:
        return EnginePlan(choice, f'{_LOCAL_TITLES[choice]} (chosen)', 0.0)
    key, source = _find_key(typed_key)
    if key:
        summary = f'Runflow (key from {source})'
        return EnginePlan('runflow', summary, _runflow_price(), api_key=key)
    if choice == 'runflow':
        return EnginePlan(
            'runflow',
            f'Runflow: no API key; paste one below or set {_ENV_VAR}',
            _runflow_price(),
            ready=False,
        )
    return EnginePlan(
        'local', 'Local PatchMatch (no Runflow key configured)', 0.0
    )


def _find_key(typed_key: str) -> tuple[str | None, str]:
    """The Runflow key and where it comes from, in lookup order."""
    from napari_outpaint._runflow.credentials import find_api_key

    if typed_key.strip():
        return typed_key.strip(), 'this widget'
    if os.environ.get(_ENV_VAR, '').strip():
        return find_api_key(), _ENV_VAR
    return find_api_key(), 'the system keyring'


def _runflow_price() -> float:
    try:
        from napari_outpaint.engines.runflow import RunflowEngine
    except ImportError:  # pragma: no cover - engine not installed yet
        return _RUNFLOW_PRICE_USD
    return float(RunflowEngine.price_per_image_usd)


def _title(engine: Engine) -> str:
    if engine.name == 'runflow':
        return 'Runflow'
    model = 'local' if engine.model == 'patchmatch' else engine.model
    return _LOCAL_TITLES.get(model, f'{engine.name} ({engine.model})')
