"""Choose the engine of a command-line run and confirm its price."""

from __future__ import annotations

import argparse
import os
from typing import Any, TextIO

from napari_outpaint._cli.console import Console
from napari_outpaint._errors import BudgetError, ConfigurationError


def choose_engine(args: argparse.Namespace, console: Console) -> Any:
    """Resolve the engine and say which one and why."""
    from napari_outpaint.engines import resolve_engine

    key = None
    key_source = None
    if args.api_key_env:
        key = os.environ.get(args.api_key_env, '').strip() or None
        if key is None and args.engine in ('auto', 'runflow'):
            raise ConfigurationError(
                f'--api-key-env: the environment variable '
                f'{args.api_key_env} is not set or empty; export it, or '
                'drop --api-key-env to use RUNFLOW_API_KEY or the keyring.'
            )
        key_source = f'${args.api_key_env}'
    elif args.engine in ('auto', 'runflow'):
        from napari_outpaint._runflow.credentials import find_api_key

        key = find_api_key()
        if key:
            key_source = (
                '$RUNFLOW_API_KEY'
                if os.environ.get('RUNFLOW_API_KEY', '').strip()
                else 'the system keyring'
            )

    if args.engine == 'runflow' and not key:
        raise ConfigurationError(
            '--engine runflow needs a Runflow API key: set RUNFLOW_API_KEY '
            '(or name another variable with --api-key-env), or save one '
            'from the napari widget; or use --engine local to stay offline.'
        )
    if args.engine == 'auto':
        name = 'runflow' if key else 'local'
    else:
        name = args.engine
    if name == 'runflow':
        engine = runflow_engine(key, args.timeout)
    else:
        engine = resolve_engine(name)

    if name == 'runflow':
        why = (
            f'API key from {key_source}; use --engine local to stay offline'
            if args.engine == 'auto'
            else f'--engine runflow, API key from {key_source}'
        )
        price = getattr(engine, 'price_per_image_usd', 0.0)
        console.say(
            f'engine: Runflow {engine.model} (${price:.2f} per image; {why})'
        )
    elif name == 'reflect':
        console.say(
            'engine: local reflection padding (--engine reflect: instant '
            'preview; nothing leaves this machine)'
        )
    else:
        method = 'PatchMatch' if engine.model == 'patchmatch' else engine.model
        why = (
            'no Runflow key configured; set RUNFLOW_API_KEY to use Runflow'
            if args.engine == 'auto'
            else '--engine local; nothing leaves this machine'
        )
        console.say(f'engine: local {method} ({why})')
        fallback = getattr(engine, 'fallback_reason', None)
        if fallback:
            console.say(f'warning: reflection padding only: {fallback}')
    return engine


def runflow_engine(key: str | None, timeout: float) -> Any:
    """A Runflow engine (``RUNFLOW_BASE_URL`` and ``SSL_CERT_FILE`` apply)."""
    from napari_outpaint.engines.runflow import RunflowEngine

    return RunflowEngine(api_key=key, timeout=timeout)


def confirm_cost(
    engine: Any,
    runs: int,
    args: argparse.Namespace,
    console: Console,
    stdin: TextIO,
) -> None:
    """Show the price; a paid batch must be confirmed (or --yes)."""
    from napari_outpaint._cache.cost import estimate_cost

    estimate = estimate_cost(runs, engine)
    if not estimate.needs_confirmation:
        return
    total = estimate.text
    console.say(f'cost: up to {total} (results already in the cache are free)')
    if runs <= 1 or args.yes:
        return
    interactive = bool(getattr(stdin, 'isatty', lambda: False)())
    if not interactive:
        raise BudgetError(
            f'--yes: this batch costs up to {total}; confirm it with --yes '
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
