"""``napari-outpaint history``: list, filter, export, open or clear the cache.

One line per cached result, newest first; the planes of one batch are
listed together, in plane order, each naming its plane and batch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import napari
import numpy as np

from napari_outpaint._cache import (
    DamagedRecordError,
    ResultCache,
    release_held_inputs,
)
from napari_outpaint._cli.args import Parser
from napari_outpaint._cli.console import Console
from napari_outpaint._cli.exit_codes import EXIT_OK, EXIT_USAGE
from napari_outpaint._cli.outputs import (
    check_rgb8_output,
    write_rgb8,
)
from napari_outpaint._cli.overwrite import check_outputs
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._io import write_atomic
from napari_outpaint._layers import (
    clear_history,
    entry_matches,
    group_entries,
    open_cached_result,
    plane_label,
    reopen_native,
)
from napari_outpaint._pipeline import jsonable
from napari_outpaint._runflow import ENV_VAR, find_api_key
from napari_outpaint._version import __version__
from napari_outpaint.engines import INPUT_LEFT
from napari_outpaint.engines.runflow import RunflowEngine


def _when(seconds: float) -> str:
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(seconds))


def history_command(
    argv: Sequence[str], console: Console, stdin: TextIO
) -> int:
    """List, export, open or clear the paid-result cache."""
    parser = Parser(
        prog='napari-outpaint history',
        description=(
            'List past results kept in the paid-result cache (newest '
            'first) and runs submitted but not yet collected; export one '
            '(with a sidecar JSON that places it), open one in napari as '
            'an aligned layer, or clear the cache.'
        ),
    )
    parser.add_argument(
        '--json', action='store_true', help='one JSON object per line'
    )
    parser.add_argument(
        '--export',
        metavar='KEY',
        help=(
            'write the cached result whose key starts with KEY to -o, '
            "with FILE.json: its placement in the source's world"
        ),
    )
    parser.add_argument(
        '--open',
        metavar='KEY',
        help=(
            'open napari with the cached result whose key starts with '
            "KEY, placed in the source's world (needs a display)"
        ),
    )
    parser.add_argument(
        '-o', '--output', metavar='FILE', help='where --export writes'
    )
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='let --export replace an existing FILE (without it: refused, '
        'or asked about on a terminal)',
    )
    parser.add_argument(
        '--filter',
        metavar='TEXT',
        default='',
        help=(
            'list only results (and pending runs) whose date, source name, '
            'engine, model, run id or key contain every word of TEXT '
            '(case-insensitive)'
        ),
    )
    parser.add_argument(
        '--clear',
        action='store_true',
        help='delete every cached result (pending runs are kept)',
    )
    parser.out = console.out
    args = parser.parse_args(argv)

    cache = ResultCache()
    _release_held_inputs(cache, console)
    if args.clear:
        console.say(clear_history(cache))
        return EXIT_OK
    if args.export:
        return _export_cached(cache, args, console, stdin)
    if args.open:
        return _open_cached(cache, args.open, console)
    entries = [
        entry
        for item in group_entries(cache.entries())
        for entry in item.entries
        if entry_matches(entry, args.filter)
    ]
    try:
        pending = cache.pending()
    except DamagedRecordError as exc:  # reported, moved aside: list the rest
        console.error(f'warning: {exc}')
        pending = cache.pending()
    pending = [run for run in pending if _pending_matches(run, args.filter)]
    if not entries and not pending:
        matching = f' matching {args.filter!r}' if args.filter.strip() else ''
        console.say(f'no cached results{matching} in {cache.root}')
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
                    _source_name(prov.get('source')),
                    _batch_note(prov),
                    _input_left(prov),
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


def _release_held_inputs(cache: ResultCache, console: Console) -> None:
    """Delete the hosted inputs kept for runs that are now over."""
    held = cache.held_inputs.held()
    if not held:
        return
    key = find_api_key()
    if not key:
        console.say(
            f'{len(held)} hosted input(s) kept for unfinished runs wait to '
            f'be deleted: set {ENV_VAR} and run history again.'
        )
        return
    released = release_held_inputs(
        cache.held_inputs, RunflowEngine(api_key=key)
    )
    if released:
        console.say(
            f'deleted {len(released)} hosted input(s) of runs now over'
        )


def _batch_note(provenance: dict) -> str:
    """``'plane 1 of batch 0123abcd'`` for a plane of a batch, else ``''``."""
    batch_id = provenance.get('batch_id')
    if not isinstance(batch_id, str) or not batch_id:
        return ''
    return f'{plane_label(provenance) or "plane ?"} of batch {batch_id[:8]}'


def _pending_matches(run: Any, text: str) -> bool:
    """Whether a pending run's date, run id, engine or model has every word
    of *text*."""
    words = text.lower().split()
    info = run.info if isinstance(run.info, dict) else {}
    haystack = ' '.join(
        (
            _when(run.created_at),
            run.run_id,
            str(info.get('engine', '')),
            str(info.get('model', '')),
            str(info.get('cache_namespace', '')),
        )
    ).lower()
    return all(word in haystack for word in words)


def _source_name(source: Any) -> str:
    """The source's name (a layer or file name), not its whole record."""
    if isinstance(source, dict):
        return str(source.get('layer') or '')
    return str(source or '')


def _export_cached(
    cache: Any, args: argparse.Namespace, console: Console, stdin: TextIO
) -> int:
    if not args.output:
        raise InvalidInputError(
            '--output', '--export needs -o FILE.png (or .tif).'
        )
    check_rgb8_output(args.output)
    entry = _find(cache, args.export, '--export')
    output = Path(args.output)
    check_outputs(
        [output, output.with_name(output.name + '.json')],
        [entry.path],  # the cached file itself is never replaced
        overwrite=args.overwrite,
        console=console,
        stdin=stdin,
    )
    image = entry.image()
    path = write_rgb8(args.output, image)
    sidecar = {
        'napari_outpaint': __version__,
        'cache_key': entry.key,
        'output': {'path': str(path), 'shape': list(image.shape)},
        'placement': export_placement(entry),
        'provenance': entry.provenance,
    }
    text = json.dumps(jsonable(sidecar), indent=2, ensure_ascii=False)
    sidecar_path = path.with_name(path.name + '.json')
    write_atomic(sidecar_path, lambda p: p.write_text(text + '\n', 'utf-8'))
    console.result(str(path))
    console.say(f'placement and provenance: {sidecar_path}')
    return EXIT_OK


def export_placement(entry: Any) -> dict[str, Any] | None:
    """Where an exported (native-resolution) result sits in the source's
    world, or None when the entry has no placement provenance."""

    try:
        placed = reopen_native(entry)
    except InvalidInputError:
        return None
    prov = placed.provenance
    pad = prov.get('padding_px') or {}
    region = prov['generated_region']
    offset = []
    for n, size, before in zip(
        region['result_px']['shape'],
        region['canvas_px']['shape'],
        (pad.get('top', 0), pad.get('left', 0)),
        strict=True,
    ):
        f = size / n  # original pixels per exported pixel
        offset.append(round((before - (f - 1) / 2) / f, 6))
    return {
        'scale': list(placed.scale),
        'translate': list(placed.translate),
        'rotate': placed.rotate,
        'shear': placed.shear,
        'affine': np.asarray(placed.affine).tolist(),
        'plane': prov.get('plane'),
        'original_offset_px': offset,
        'padding_px': pad,
        'expand': prov.get('expand'),
        'note': (
            'scale/translate (full layer ndim; the leading axes sit at '
            '`plane`), rotate, shear and affine place the exported image in '
            'the world frame of the source layer; original_offset_px is '
            'where the centre of the original pixel (0, 0) lies, in '
            'exported pixel coordinates (row, col).'
        ),
    }


def _open_cached(cache: Any, key: str, console: Console) -> int:
    if not display_available():
        console.error(
            'history --open needs a display to show napari, and none was '
            'found (no $DISPLAY / $WAYLAND_DISPLAY, or QT_QPA_PLATFORM='
            f'{os.environ.get("QT_QPA_PLATFORM", "")!r}). Run it on a '
            'desktop, or use --export KEY -o FILE.png: the FILE.png.json '
            'sidecar places it.'
        )
        return EXIT_USAGE

    entry = _find(cache, key, '--open')
    layer = open_cached_result(entry, cache=cache)

    viewer = napari.Viewer()
    viewer.add_layer(layer)
    console.say(f'opened {entry.key[:12]} as {layer.name!r}')
    napari.run()
    return EXIT_OK


def display_available() -> bool:
    """Whether a GUI can be shown (a display server, a real Qt platform)."""
    platform = os.environ.get('QT_QPA_PLATFORM', '').split(':')[0]
    if platform in ('offscreen', 'minimal', 'vnc'):
        return False
    if sys.platform.startswith(('linux', 'freebsd', 'openbsd')):
        return bool(
            os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')
        )
    return True


def _find(cache: Any, key: str, flag: str) -> Any:
    matches = [e for e in cache.entries() if e.key.startswith(key)]
    if len(matches) != 1:
        what = 'no' if not matches else f'{len(matches)}'
        raise InvalidInputError(
            flag,
            f'{what} cached result(s) match {key!r}; copy a key '
            'prefix from `napari-outpaint history`.',
        )
    return matches[0]


def _input_left(provenance: dict) -> str:
    """A note naming the uploaded input that stayed on Runflow, if any."""
    for name in ('engine_details', 'details'):
        details = provenance.get(name)
        if isinstance(details, dict) and isinstance(
            left := details.get(INPUT_LEFT), dict
        ):
            return (
                f'(input asset {left.get("asset_id")} stayed in your '
                'Runflow asset library)'
            )
    return ''
