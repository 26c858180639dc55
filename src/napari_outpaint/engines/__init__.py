"""Outpainting engines behind one small :class:`Engine` protocol.

Hands out the protocol (:class:`Engine`, :class:`EngineResult`) and the
engine choice: :func:`default_engine` (Runflow when an API key is
configured, else local) and :func:`resolve_engine` (an engine, a name or
None). The choice itself is made once, in :mod:`.choice`, for the widget,
the Python API and the CLI alike. The engines are
:class:`~.local.LocalEngine` (PatchMatch, offline, free; its fills on a
Dask cluster with a ``distributed.Client``) and
:class:`~.runflow.RunflowEngine` (Runflow's cloud API, paid).
"""

from __future__ import annotations

from typing import Any

from napari_outpaint._errors import InvalidInputError
from napari_outpaint.engines._base import (
    INPUT_LEFT,
    INPUT_RESIZED,
    Engine,
    EngineResult,
)
from napari_outpaint.engines._cluster import connect as connect_scheduler
from napari_outpaint.engines.choice import ENGINE_NAMES, choose_engine
from napari_outpaint.engines.local import LocalEngine

__all__ = [
    'ENGINE_NAMES',
    'INPUT_LEFT',
    'INPUT_RESIZED',
    'Engine',
    'EngineResult',
    'LocalEngine',
    'connect_scheduler',
    'default_engine',
    'resolve_engine',
]


def default_engine(api_key: str | None = None) -> Engine:
    """Runflow when an API key is found (argument, env, keyring), else local.

    Parameters
    ----------
    api_key : str, optional
        An explicit Runflow API key; otherwise ``RUNFLOW_API_KEY`` or the
        system keyring is consulted.
    """
    return choose_engine('auto', api_key=api_key).build()


def resolve_engine(
    engine: Engine | str | None,
    *,
    api_key: str | None = None,
    client: Any = None,
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
    client : distributed.Client, optional
        Run the local engine's PatchMatch fills on this Dask cluster:
        *engine* None or ``'local'`` is then ``LocalEngine(client=client)``
        (never Runflow), a ``LocalEngine`` gets the client.

    Raises
    ------
    InvalidInputError
        Naming ``engine``, for an unknown name or type; naming ``client``
        for a client that is not a running ``distributed.Client``, or with
        an engine other than the local one.
    ConfigurationError
        For ``'runflow'`` without a configured key.
    """
    if client is not None:
        return _on_cluster(engine, client)
    if engine is None or isinstance(engine, str):
        choice = 'auto' if engine is None else engine
        return choose_engine(choice, api_key=api_key).build()
    if isinstance(engine, Engine):
        return engine
    raise InvalidInputError(
        'engine',
        f'expected an Engine, an engine name or None, got '
        f'{type(engine).__name__}.',
    )


def _on_cluster(engine: Engine | str | None, client: Any) -> LocalEngine:
    """The local engine with its fills on *client*'s cluster."""
    if engine is None or engine == 'local':
        return LocalEngine(client=client)
    if engine == 'reflect':
        return LocalEngine('reflect', client=client)
    if isinstance(engine, LocalEngine):
        return engine.with_client(client)
    name = engine if isinstance(engine, str) else type(engine).__name__
    raise InvalidInputError(
        'client',
        f"a Dask client runs the local engine's planes on its workers, "
        f"not {name!r}; drop client=, or use engine='local'.",
    )
