"""Choose the engine of a command-line run and confirm its price."""

from __future__ import annotations

import argparse
import os
from typing import TextIO

from napari_outpaint._cache import estimate_cost
from napari_outpaint._cli.console import Console
from napari_outpaint._errors import (
    BudgetError,
    ConfigurationError,
    InvalidInputError,
)
from napari_outpaint._runflow import ENV_VAR
from napari_outpaint.engines import Engine, connect_scheduler, resolve_engine
from napari_outpaint.engines.choice import EngineChoice, format_price
from napari_outpaint.engines.choice import choose_engine as engine_choice


def choose_engine(args: argparse.Namespace, console: Console) -> Engine:
    """The engine of this run (:func:`engines.choice.choose_engine`),
    said on stderr with the reason and the flag that changes it.

    With ``--scheduler`` it is the local engine with its fills on that
    Dask cluster; the connection is made here, before any work, and
    closed by :func:`release_engine`."""
    if args.scheduler is not None:
        return _cluster_engine(args, console)
    key = key_source = None
    if args.api_key_env:
        key = os.environ.get(args.api_key_env, '').strip() or None
        if key is None and args.engine in ('auto', 'runflow'):
            raise ConfigurationError(
                f'--api-key-env: the environment variable '
                f'{args.api_key_env} is not set or empty; export it, or '
                'drop --api-key-env to use RUNFLOW_API_KEY or the keyring.'
            )
        key_source = f'${args.api_key_env}'
    choice = engine_choice(
        args.engine, api_key=key, key_source=key_source or 'argument'
    )
    if choice.key_problem is not None:
        raise choice.key_problem
    if choice.name == 'runflow' and not choice.ready:
        raise ConfigurationError(
            '--engine runflow needs a Runflow API key: set RUNFLOW_API_KEY '
            '(or name another variable with --api-key-env), or save one '
            'from the napari widget; or use --engine local to stay offline.'
        )
    engine = choice.build(timeout=args.timeout)
    console.say(f'engine: {_describe(choice, engine)}')
    fallback = getattr(engine, 'fallback_reason', None)
    if fallback:
        console.say(f'warning: reflection padding only: {fallback}')
    return engine


def release_engine(engine: Engine) -> None:
    """Close the Dask client :func:`choose_engine` connected, if any."""
    client = getattr(engine, 'client', None)
    if client is not None:
        client.close()


def _cluster_engine(args: argparse.Namespace, console: Console) -> Engine:
    """The local engine on the Dask cluster at ``--scheduler``."""
    if args.engine not in ('auto', 'local'):
        raise InvalidInputError(
            'scheduler',
            'runs the local PatchMatch engine on a Dask cluster; it cannot '
            f'be used with --engine {args.engine}: drop one of them.',
        )
    client = connect_scheduler(args.scheduler, field='scheduler')
    engine = resolve_engine('local', client=client)
    threads = client.nthreads()
    console.say(
        f'engine: local PatchMatch on the Dask cluster at {args.scheduler} '
        f'({len(threads)} workers, {sum(threads.values())} threads now; '
        '--scheduler; nothing goes to Runflow)'
    )
    fallback = getattr(engine, 'fallback_reason', None)
    if fallback:
        console.say(f'warning: reflection padding only: {fallback}')
    return engine


def _describe(choice: EngineChoice, engine: Engine) -> str:
    """The engine line: what runs, its price, why, and how to change it."""
    auto = choice.asked == 'auto'
    if choice.name == 'runflow':
        source = choice.key_source
        source = f'${source}' if source == ENV_VAR else source
        why = (
            f'API key from {source}; use --engine local to stay offline'
            if auto
            else f'--engine runflow, API key from {source}'
        )
        return (
            f'Runflow {engine.model} ({format_price(choice.price_usd)} per '
            f'image; {why})'
        )
    if choice.name == 'reflect':
        return (
            'local reflection padding (--engine reflect: instant preview; '
            'nothing leaves this machine)'
        )
    method = 'PatchMatch' if engine.model == 'patchmatch' else engine.model
    why = (
        'no Runflow key configured; set RUNFLOW_API_KEY to use Runflow'
        if auto
        else '--engine local; nothing leaves this machine'
    )
    return f'local {method} ({why})'


def confirm_cost(
    engine: Engine,
    runs: int,
    args: argparse.Namespace,
    console: Console,
    stdin: TextIO,
    passes: int = 1,
) -> None:
    """Show the price; more than one paid run (a batch, or a canvas of
    several passes) must be confirmed (or --yes).

    *runs* counts planes, each taking *passes* runs.
    """
    estimate = estimate_cost(runs, engine, n_passes=passes)
    if not estimate.needs_confirmation:
        return
    total = estimate.text
    console.say(f'cost: up to {total} (results already in the cache are free)')
    if runs * passes <= 1 or args.yes:
        return
    interactive = bool(getattr(stdin, 'isatty', lambda: False)())
    if not interactive:
        raise BudgetError(
            f'--yes: this costs up to {total}; confirm it with --yes '
            '(this session is not interactive, so it cannot ask).'
        )
    console.err.write(f'Spend up to {total}? [y/N] ')
    console.err.flush()
    answer = stdin.readline().strip().lower()
    if answer not in ('y', 'yes'):
        raise BudgetError(
            f'not confirmed: nothing was spent. Run again and answer y, '
            f'or pass --yes to confirm {total}.'
        )


# -------------------------------------------------------------------- run
