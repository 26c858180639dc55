"""Outpainting engines behind one small :class:`Engine` protocol.

Runflow when an API key is configured, else the local engine: the choice
is made here, once, for the widget, the Python API and the CLI alike.
"""

from __future__ import annotations

from napari_outpaint._errors import InvalidInputError
from napari_outpaint.engines._base import Engine, EngineResult

__all__ = [
    'ENGINE_NAMES',
    'Engine',
    'EngineResult',
    'default_engine',
    'resolve_engine',
]

ENGINE_NAMES = ('runflow', 'local', 'reflect')


def default_engine(api_key: str | None = None) -> Engine:
    """Runflow when an API key is found (argument, env, keyring), else local.

    Parameters
    ----------
    api_key : str, optional
        An explicit Runflow API key; otherwise ``RUNFLOW_API_KEY`` or the
        system keyring is consulted.
    """
    from napari_outpaint._runflow.credentials import find_api_key

    key = find_api_key(api_key)
    if key:
        from napari_outpaint.engines.runflow import RunflowEngine

        return RunflowEngine(api_key=key)
    from napari_outpaint.engines.local import LocalEngine

    return LocalEngine()


def resolve_engine(
    engine: Engine | str | None, *, api_key: str | None = None
) -> Engine:
    """Turn an engine, an engine name or None into an engine.

    Parameters
    ----------
    engine : Engine, str or None
        An engine instance (returned as is); ``'runflow'``, ``'local'``
        (PatchMatch) or ``'reflect'`` (instant reflection padding); or None
        for :func:`default_engine`.
    api_key : str, optional
        Passed to the Runflow engine.
    """
    if engine is None:
        return default_engine(api_key)
    if isinstance(engine, str):
        if engine == 'runflow':
            from napari_outpaint.engines.runflow import RunflowEngine

            return RunflowEngine(api_key=api_key)
        if engine in ('local', 'reflect'):
            from napari_outpaint.engines.local import LocalEngine

            method = 'reflect' if engine == 'reflect' else 'patchmatch'
            return LocalEngine(method=method)
        raise InvalidInputError(
            'engine',
            f'unknown engine {engine!r}; use one of '
            f'{", ".join(ENGINE_NAMES)} or an Engine instance.',
        )
    if isinstance(engine, Engine):
        return engine
    raise InvalidInputError(
        'engine',
        f'expected an Engine, an engine name or None, got '
        f'{type(engine).__name__}.',
    )
