"""Which engine runs, why, and at what price: the one engine choice.

``'auto'`` means Runflow when a Runflow API key is configured (given by
the caller, ``RUNFLOW_API_KEY`` or the system keyring), else the local
PatchMatch engine. The widget shows this choice at all times, the command
line prints it and the Python API builds it: all three ask
:func:`choose_engine`, so the choice between the paid cloud engine and
the free local one is made, and explained, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from napari_outpaint._errors import ConfigurationError, InvalidInputError
from napari_outpaint._runflow import ENV_VAR, locate_api_key
from napari_outpaint.engines._base import Engine
from napari_outpaint.engines.local import LocalEngine
from napari_outpaint.engines.runflow import RunflowEngine

__all__ = [
    'ENGINE_CHOICES',
    'ENGINE_NAMES',
    'EngineChoice',
    'choose_engine',
    'format_price',
]

#: The engines by name.
ENGINE_NAMES = ('runflow', 'local', 'reflect')
#: What a user may ask for: an engine by name, or ``'auto'``.
ENGINE_CHOICES = ('auto', *ENGINE_NAMES)
_LOCAL_TITLES = {
    'local': 'Local PatchMatch',
    'reflect': 'Local reflection padding (instant preview)',
}


@dataclass(frozen=True)
class EngineChoice:
    """The engine a run will use, and why.

    Attributes
    ----------
    name : str
        ``'runflow'``, ``'local'`` or ``'reflect'``, or a given engine's
        name.
    asked : str
        What was asked for: one of :data:`ENGINE_CHOICES`, or ``'given'``
        for an engine instance.
    reason : str
        Why, in words: ``'key from RUNFLOW_API_KEY'``, ``'no Runflow key
        configured'``, ``'chosen'``, ...
    price_usd : float
        Price of one run.
    ready : bool
        False when Runflow is asked for but no key is configured.
    key_source : str or None
        Where the Runflow key comes from (``'RUNFLOW_API_KEY'``, ``'the
        system keyring'``, or what the caller named).
    api_key : str or None
        The key Runflow will use (never shown, never repr'd).
    engine : Engine or None
        An engine given by the caller, used as is.
    key_problem : ConfigurationError or None
        Why the key that was found cannot be used (a line break, a
        non-ASCII character); ``ready`` is then False.
    """

    name: str
    asked: str
    reason: str
    price_usd: float
    ready: bool = True
    key_source: str | None = None
    api_key: str | None = field(default=None, repr=False)
    engine: Engine | None = field(default=None, repr=False)
    key_problem: ConfigurationError | None = field(default=None, repr=False)

    @property
    def price_per_image_usd(self) -> float:
        """Same as ``price_usd``, so cost estimates accept a choice."""
        return self.price_usd

    @property
    def price(self) -> str:
        """``'$0.55'`` or ``'free (local)'``."""
        return format_price(self.price_usd)

    @property
    def summary(self) -> str:
        """What runs and why, e.g. ``'Runflow (key from RUNFLOW_API_KEY)'``."""
        if self.engine is not None:
            return f'{_title(self.engine)} ({self.reason})'
        if self.name == 'runflow':
            if not self.ready:
                return f'Runflow: {self.reason}'
            return f'Runflow ({self.reason})'
        return f'{_LOCAL_TITLES[self.name]} ({self.reason})'

    def build(self, *, timeout: float | None = None) -> Engine:
        """The engine itself.

        Parameters
        ----------
        timeout : float, optional
            The overall deadline of one Runflow call, in seconds.

        Raises
        ------
        ConfigurationError
            When Runflow is chosen and no key is configured (naming
            ``RUNFLOW_API_KEY``).
        """
        if self.engine is not None:
            return self.engine
        if self.name == 'runflow':
            options = {} if timeout is None else {'timeout': timeout}
            return RunflowEngine(api_key=self.api_key, **options)
        method = 'reflect' if self.name == 'reflect' else 'patchmatch'
        return LocalEngine(method=method)


def choose_engine(
    choice: str = 'auto',
    *,
    api_key: str | None = None,
    key_source: str = 'argument',
    engine: Engine | None = None,
) -> EngineChoice:
    """Say which engine runs for *choice*, and why.

    Parameters
    ----------
    choice : str
        One of :data:`ENGINE_CHOICES`; ``'auto'`` means Runflow when a key
        is configured, else the local PatchMatch engine.
    api_key : str, optional
        A key given by the caller (typed in the widget, read from the
        variable named by ``--api-key-env``); else ``RUNFLOW_API_KEY``,
        then the system keyring.
    key_source : str
        How to name where *api_key* comes from.
    engine : Engine, optional
        An engine given by the caller: wins over *choice*.

    Raises
    ------
    InvalidInputError
        Naming ``engine``, for an unknown choice.
    """
    if engine is not None:
        return EngineChoice(
            name=engine.name,
            asked='given',
            reason='given by the caller',
            price_usd=float(engine.price_per_image_usd),
            engine=engine,
        )
    if choice not in ENGINE_CHOICES:
        raise InvalidInputError(
            'engine',
            f'unknown engine {choice!r}; use one of '
            f'{", ".join(ENGINE_NAMES)} or an Engine instance.',
        )
    if choice in _LOCAL_TITLES:
        return EngineChoice(choice, choice, 'chosen', 0.0)
    price = RunflowEngine.price_per_image_usd
    try:
        key, source = locate_api_key(api_key, explicit_source=key_source)
    except ConfigurationError as exc:  # a key that cannot be sent
        return EngineChoice(
            'runflow', choice, str(exc), price, ready=False, key_problem=exc
        )
    if key:
        return EngineChoice(
            'runflow',
            choice,
            f'key from {source}',
            price,
            key_source=source,
            api_key=key,
        )
    if choice == 'runflow':
        return EngineChoice(
            'runflow',
            choice,
            f'no API key; paste one below or set {ENV_VAR}',
            price,
            ready=False,
        )
    return EngineChoice('local', choice, 'no Runflow key configured', 0.0)


def format_price(price_usd: float) -> str:
    """``'$0.55'`` for a paid run, ``'free (local)'`` for a free one."""
    return f'${price_usd:.2f}' if price_usd > 0 else 'free (local)'


def _title(engine: Engine) -> str:
    if engine.name == 'runflow':
        return 'Runflow'
    model = 'local' if engine.model == 'patchmatch' else engine.model
    return _LOCAL_TITLES.get(model, f'{engine.name} ({engine.model})')
