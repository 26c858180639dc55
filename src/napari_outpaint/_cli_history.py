"""``napari-outpaint history``: list, export or clear the result cache."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from typing import Any

from napari_outpaint._cli_args import Parser
from napari_outpaint._cli_console import Console
from napari_outpaint._cli_errors import EXIT_OK
from napari_outpaint._cli_outputs import check_rgb8_output, write_rgb8
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._provenance import jsonable


def _when(seconds: float) -> str:
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(seconds))


def history_command(argv: Sequence[str], console: Console) -> int:
    """List, export or clear the paid-result cache."""
    parser = Parser(
        prog='napari-outpaint history',
        description=(
            'List past results kept in the paid-result cache (newest '
            'first) and runs submitted but not yet collected; export one, '
            'or clear the cache.'
        ),
    )
    parser.add_argument(
        '--json', action='store_true', help='one JSON object per line'
    )
    parser.add_argument(
        '--export',
        metavar='KEY',
        help='write the cached result whose key starts with KEY to -o',
    )
    parser.add_argument(
        '-o', '--output', metavar='FILE', help='where --export writes'
    )
    parser.add_argument(
        '--clear',
        action='store_true',
        help='delete every cached result (pending runs are kept)',
    )
    parser.out = console.out
    args = parser.parse_args(argv)
    from napari_outpaint._cache import ResultCache

    cache = ResultCache()
    if args.clear:
        count = cache.clear()
        console.say(f'deleted {count} cached result(s) from {cache.root}')
        return EXIT_OK
    if args.export:
        return _export_cached(cache, args, console)
    entries = cache.entries()
    pending = cache.pending()
    if not entries and not pending:
        console.say(f'no cached results in {cache.root}')
    for entry in entries:
        prov = dict(entry.provenance or {})
        if args.json:
            record = {
                'key': entry.key,
                'created_at': entry.created_at,
                'size': entry.size,
                'path': str(entry.path),
                'provenance': prov,
            }
            console.result(json.dumps(jsonable(record), ensure_ascii=False))
            continue
        expand = prov.get('expand') or {}
        sides = '/'.join(
            str(expand.get(s, '?')) for s in ('top', 'bottom', 'left', 'right')
        )
        cost = prov.get('cost_usd')
        console.result(
            '  '.join(
                (
                    _when(entry.created_at),
                    entry.key[:12],
                    str(prov.get('model', '?')),
                    f'run {prov.get("run_id") or "-"}',
                    f'expand t/b/l/r {sides}',
                    f'${cost:.2f}' if isinstance(cost, int | float) else '',
                    str(prov.get('source') or ''),
                )
            ).rstrip()
        )
    for run in pending:
        if args.json:
            record = {
                'pending_run_id': run.run_id,
                'created_at': run.created_at,
                'info': run.info,
            }
            console.result(json.dumps(jsonable(record), ensure_ascii=False))
        else:
            console.result(
                f'{_when(run.created_at)}  PENDING  run {run.run_id}  '
                f'(collect it: napari-outpaint collect {run.run_id})'
            )
    return EXIT_OK


def _export_cached(
    cache: Any, args: argparse.Namespace, console: Console
) -> int:
    if not args.output:
        raise InvalidInputError(
            '--output', '--export needs -o FILE.png (or .tif).'
        )
    check_rgb8_output(args.output)
    matches = [e for e in cache.entries() if e.key.startswith(args.export)]
    if len(matches) != 1:
        what = 'no' if not matches else f'{len(matches)}'
        raise InvalidInputError(
            '--export',
            f'{what} cached result(s) match {args.export!r}; copy a key '
            'prefix from `napari-outpaint history`.',
        )
    image = matches[0].image()
    path = write_rgb8(args.output, image)
    console.result(str(path))
    return EXIT_OK
