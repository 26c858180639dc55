"""``napari-outpaint collect RUN_ID``: fetch a run submitted earlier."""

from __future__ import annotations

import os
from collections.abc import Sequence

from napari_outpaint._cache import collect_run
from napari_outpaint._cli.args import Parser, seconds_arg
from napari_outpaint._cli.console import Console, ProgressPrinter
from napari_outpaint._cli.exit_codes import EXIT_OK
from napari_outpaint._cli.outputs import check_rgb8_output, write_rgb8
from napari_outpaint._cli.worker import run_cancellable
from napari_outpaint._errors import ConfigurationError
from napari_outpaint._progress import CancelToken
from napari_outpaint._runflow import find_api_key
from napari_outpaint.engines.runflow import RunflowEngine


def collect_command(argv: Sequence[str], console: Console) -> int:
    """Download a run submitted earlier into the cache (and to -o)."""
    parser = Parser(
        prog='napari-outpaint collect',
        description=(
            'Download the result of a Runflow run submitted earlier (after '
            'a crash, a timeout or Ctrl-C) into the paid-result cache, and '
            'optionally write it as an 8-bit RGB image.'
        ),
    )
    parser.add_argument('run_id', metavar='RUN_ID')
    parser.add_argument(
        '-o', '--output', metavar='OUTPUT', help='also write it here (.png)'
    )
    parser.add_argument(
        '--api-key-env',
        metavar='NAME',
        help='read the API key from this variable (default RUNFLOW_API_KEY)',
    )
    parser.add_argument(
        '--timeout',
        type=seconds_arg,
        default=600.0,
        metavar='SECONDS',
        help='give up waiting after this long (default 600)',
    )
    parser.out = console.out
    args = parser.parse_args(argv)
    if args.output:
        check_rgb8_output(args.output)
    env = args.api_key_env or 'RUNFLOW_API_KEY'
    key = os.environ.get(env, '').strip() or None
    if key is None and not args.api_key_env:
        key = find_api_key()
    if not key:
        raise ConfigurationError(
            f'collect needs the Runflow API key of the account that ran '
            f'{args.run_id}: set {env}.'
        )

    engine = RunflowEngine(api_key=key, timeout=args.timeout)
    with ProgressPrinter(console, args.run_id) as printer:
        collected = run_cancellable(
            lambda cancel: collect_run(
                args.run_id, engine=engine, progress=printer, cancel=cancel
            ),
            CancelToken(),
            console,
        )
    if args.output:
        image = collected.image()
        path = write_rgb8(args.output, image)
        console.result(str(path))
    console.say(f'collected run {args.run_id} into the cache')
    return EXIT_OK
