"""Argument parsing of the main ``napari-outpaint INPUT ...`` command."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any, TextIO

from napari_outpaint._batch import (
    CONCURRENCY_ENV,
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
)
from napari_outpaint._cache import SPEND_CAP_ENV
from napari_outpaint._canvas import Canvas
from napari_outpaint._cli.exit_codes import (
    EXIT_CANCELLED,
    EXIT_CONFIG,
    EXIT_INTERRUPTED,
    EXIT_NOT_CONFIRMED,
    EXIT_OK,
    EXIT_RUN_ERROR,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
)
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import MAX_PERCENT, Expand
from napari_outpaint._pipeline import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV
from napari_outpaint._settings import settings_path
from napari_outpaint._version import __version__

EPILOG = f"""\
examples:
  napari-outpaint sample:cells -o outpainted.tif --top 20 --bottom 20 \\
      --left 30 --right 30
  napari-outpaint stack.tif -o out.tif --top 10 --bottom 10 --left 0 \\
      --right 25 --plane 3
  napari-outpaint a.png b.png -o results/ --top 0 --bottom 0 --left 40 \\
      --right 40 --engine runflow --yes
  napari-outpaint cells.tif -o square.tif --canvas 2048x2048 --anchor 0.5,0
  napari-outpaint cells.tif -o wide.tif --aspect 16:9
  napari-outpaint cells.tif -o more.tif --left-world 50   (50 um, say)

inputs:
  PNG, JPEG or TIFF files (TIFF: any dtype, stacks, ImageJ/OME pixel
  sizes), a folder of them, or sample:cells / sample:coffee. Several
  inputs or a folder need -o to be a folder; each result is written as
  <stem>.outpainted.<ext> there (.png for JPEG inputs).

engine (--engine auto, the default):
  Runflow (runflow/outpaint, $0.55 per image) when an API key is
  configured (RUNFLOW_API_KEY or the system keyring), else the local
  PatchMatch engine (free, nothing leaves this machine). The choice and
  the reason are printed on stderr. "reflect" is an instant local preview.
  --scheduler ADDRESS runs the local engine's planes on a Dask cluster.

greyscale:
  8-bit data goes to the engine unchanged; other dtypes are mapped to
  8-bit through the finite min-max of the whole file (so every plane of a
  stack shares one mapping), or through --contrast-limits. The result is
  mapped back to the input's dtype; the original pixels are kept as is.

outputs (for -o out.tif):
  out.tif         the result: the input's dtype, axes and pixel size
  out.tif.json    sidecar: placement (scale, translate, affine, offset of
                  the original in result pixels) and provenance
  out.mask.tif    generated pixels = 255 (skip with --no-mask)

exit codes:
  {EXIT_OK}    success
  {EXIT_UNEXPECTED}    unexpected error (a bug: please report it)
  {EXIT_USAGE}    invalid usage or input (bad flag, file, plane, output)
  {EXIT_CONFIG}    configuration: no API key for --engine runflow, a key
       Runflow refuses (401) or that cannot be sent (a line break),
       an unwritable cache folder
  {EXIT_RUN_ERROR}    the run failed (API error, failed run, bad result)
  {EXIT_CANCELLED}    cancelled or timed out (the run id is printed:
       collect it later with `napari-outpaint collect RUN_ID`)
  {EXIT_NOT_CONFIRMED}    the price of a batch was not confirmed (--yes), or
       the spend cap (--spend-cap, NAPARI_OUTPAINT_SPEND_CAP_USD)
       stopped new runs (finished results are written and cached)
  {EXIT_INTERRUPTED}  interrupted with Ctrl-C, SIGTERM or SIGHUP (the run
       was cancelled and cleaned up; a run that may still be billed is
       named with the command that collects it)

cost guard (paid engines only):
  The price is printed before any run; a batch needs --yes (or a y at the
  prompt). --spend-cap USD (or NAPARI_OUTPAINT_SPEND_CAP_USD) stops new
  runs once this invocation has spent that much: each run reserves its
  price before anything is sent; results from the cache are free.

other commands (see their --help):
  napari-outpaint history [--json] [--export KEY -o FILE] [--open KEY]
                          [--filter TEXT] [--clear]
      past results in the paid-result cache, and uncollected runs
  napari-outpaint collect RUN_ID [-o FILE]
      download a Runflow run submitted earlier into the cache
  (an input file literally named "history" or "collect": write ./history)
"""


def _percent(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'must be an integer percent 0-{MAX_PERCENT}, got {value!r}'
        ) from None
    if not 0 <= number <= MAX_PERCENT:
        raise argparse.ArgumentTypeError(
            f'must be between 0 and {MAX_PERCENT}, got {number}'
        )
    return number


def seconds_arg(value: str) -> float:
    """A ``--timeout`` value: a finite number of seconds > 0."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(
            f'expected a number of seconds > 0, got {value!r}'
        )
    return seconds


def dollars_arg(value: str) -> float:
    """A ``--spend-cap`` value: a finite number of US dollars >= 0."""
    try:
        dollars = float(value.strip().lstrip('$'))
    except ValueError:
        dollars = math.nan
    if not (math.isfinite(dollars) and dollars >= 0):
        raise argparse.ArgumentTypeError(
            f'expected US dollars >= 0 (e.g. 5 or 12.50), got {value!r}'
        )
    return dollars


def concurrency_arg(value: str) -> int:
    """A ``--concurrency`` value: an integer 1-32."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(
            f'must be an integer 1-{MAX_CONCURRENCY}, got {value!r}'
        )
    return number


def pixels_arg(value: str) -> int:
    """A ``--max-pixels`` value: a positive integer (``_`` allowed)."""
    try:
        number = int(value.replace('_', ''))
    except ValueError:
        number = 0
    if number <= 0:
        raise argparse.ArgumentTypeError(
            f'expected a positive number of pixels (e.g. 400_000_000), got '
            f'{value!r}'
        )
    return number


def _limits(value: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected LO,HI (two numbers), got {value!r}'
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise argparse.ArgumentTypeError(
            f'expected finite LO < HI, got {value!r}'
        )
    return low, high


def _whole_pixels(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(
            f'expected a whole number of pixels >= 0, got {value!r}'
        )
    return number


def _world_length(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not (math.isfinite(number) and number >= 0):
        raise argparse.ArgumentTypeError(
            f"expected a length >= 0 in the file's units, got {value!r}"
        )
    return number


def _shape_arg(value: str) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in value.lower().split('x'))
    except ValueError:
        rows = cols = 0
    if rows <= 0 or cols <= 0:
        raise argparse.ArgumentTypeError(
            f'expected ROWSxCOLS in pixels, e.g. 2048x2048, got {value!r}'
        )
    return rows, cols


def _aspect_arg(value: str) -> float:
    try:
        width, height = (float(v) for v in value.split(':'))
    except ValueError:
        width = height = 0.0
    if not (width > 0 and height > 0 and math.isfinite(width / height)):
        raise argparse.ArgumentTypeError(
            f'expected W:H (width to height), e.g. 16:9, got {value!r}'
        )
    return width / height


def _anchor_arg(value: str) -> tuple[float, float]:
    try:
        row, col = (float(v) for v in value.split(','))
    except ValueError:
        row = col = -1.0
    if not (0 <= row <= 1 and 0 <= col <= 1):
        raise argparse.ArgumentTypeError(
            f'expected Y,X in [0, 1] (0 = top/left, 1 = bottom/right), '
            f'got {value!r}'
        )
    return row, col


SIDES = ('top', 'bottom', 'left', 'right')


def wish_from_args(args: argparse.Namespace) -> Expand | Canvas:
    """The canvas asked for: percent flags (one Runflow pass), pixels,
    world units, ``--canvas`` or ``--aspect``; exactly one kind.

    Raises
    ------
    InvalidInputError
        Naming the flags, for none or for two kinds at once.
    """
    kinds = {
        '--top/--bottom/--left/--right': [getattr(args, s) for s in SIDES],
        '--top-px/...': [getattr(args, f'{s}_px') for s in SIDES],
        '--top-world/...': [getattr(args, f'{s}_world') for s in SIDES],
        '--canvas': [args.canvas],
        '--aspect': [args.aspect],
    }
    given = [k for k, v in kinds.items() if any(x is not None for x in v)]
    if len(given) != 1:
        raise InvalidInputError(
            '--top/--bottom/--left/--right',
            'say how much canvas to add in one way: percent (--left 30), '
            'pixels (--left-px 100), world units (--left-world 50.0), '
            '--canvas ROWSxCOLS or --aspect W:H'
            + (f'; got {" and ".join(given)}' if given else '')
            + '.',
        )
    if args.anchor is not None and given[0] not in ('--canvas', '--aspect'):
        raise InvalidInputError(
            '--anchor', 'places the original with --canvas or --aspect only.'
        )
    anchor = args.anchor or (0.5, 0.5)
    (kind,) = given
    if kind.startswith('--top/') and None in kinds[kind]:
        missing = [f'--{s}' for s in SIDES if getattr(args, s) is None]
        raise InvalidInputError(
            '--top/--bottom/--left/--right',
            f'give all four percentages (one Runflow request); missing '
            f'{", ".join(missing)} (e.g. {missing[0]} 0).',
        )
    values = [v or 0 for v in kinds[kind]]
    if kind == '--canvas':
        return Canvas.shape(*args.canvas, anchor=anchor)
    if kind == '--aspect':
        return Canvas.aspect(args.aspect, anchor=anchor)
    if kind == '--top-px/...':
        return Canvas.pixels(*values)
    if kind == '--top-world/...':
        return Canvas.world(*values)
    try:
        return Expand(*values)
    except InvalidInputError as exc:
        raise InvalidInputError(
            '--top/--bottom/--left/--right',
            'all four are 0, so there is nothing to outpaint; set at least '
            'one above 0 (e.g. --left 30).',
        ) from exc


def _plane_arg(value: str) -> str | tuple[int, ...]:
    if value.strip().lower() == 'all':
        return 'all'
    try:
        indices = tuple(int(v) for v in value.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected indices like 3 or 0,5 or 'all', got {value!r}"
        ) from None
    if any(i < 0 for i in indices):
        raise argparse.ArgumentTypeError(
            f'indices must be >= 0, got {value!r}'
        )
    return indices


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, to keep main() testable."""

    out: TextIO | None = None  # where --help goes (default stdout)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(self, message)

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            if self.out is not None and file in (None, sys.stdout):
                file = self.out
            (file or sys.stdout).write(message)


class UsageError(Exception):
    """A command line argparse refused (exit code 2)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser


def settings_help() -> str:
    """The help's paragraph on settings, naming the settings file now."""
    return f"""
settings (the spend cap, concurrency, cache folder and size, max passes):
  a flag wins, then the NAPARI_OUTPAINT_* variable, then the settings file
  (the widget's Options edit it; never the API key), then the default.
  The file: {settings_path()}
  (another one: NAPARI_OUTPAINT_CONFIG=FILE)
"""


def build_parser() -> argparse.ArgumentParser:
    """The parser of the main ``napari-outpaint INPUT ...`` command."""
    parser = Parser(
        prog='napari-outpaint',
        description=(
            'Expand (outpaint) the canvas of image files: each side by an\n'
            'integer percent 0-80 of that axis (one Runflow request), or by\n'
            'pixels, world units, a final size or an aspect ratio (planned\n'
            'as one or more requests, cropped to exactly that). Writes the\n'
            'result, a sidecar JSON with its placement and provenance, and\n'
            'a mask of the generated pixels.'
        ),
        epilog=EPILOG + settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        'inputs',
        nargs='+',
        metavar='INPUT',
        help='image file(s) (PNG, JPEG, TIFF), a folder, or sample:cells '
        '/ sample:coffee',
    )
    parser.add_argument(
        '-o',
        '--output',
        required=True,
        metavar='OUTPUT',
        help='output file (.tif/.tiff or .png), a .zarr store for '
        '--plane all (OME-Zarr, written as planes finish; run again to '
        'resume), or a folder for several inputs',
    )
    sizing = parser.add_argument_group(
        'canvas (one kind: percent, pixels, world units, --canvas or --aspect)'
    )
    for side in SIDES:
        axis = 'height' if side in ('top', 'bottom') else 'width'
        sizing.add_argument(
            f'--{side}',
            type=_percent,
            metavar='PCT',
            help=f'percent of the {axis} added on the {side} (0-'
            f'{MAX_PERCENT}: one Runflow request)',
        )
    for side in SIDES:
        sizing.add_argument(
            f'--{side}-px',
            type=_whole_pixels,
            metavar='N',
            help=f'exactly N pixels added on the {side}',
        )
    for side in SIDES:
        sizing.add_argument(
            f'--{side}-world',
            type=_world_length,
            metavar='LEN',
            help=f"LEN in the file's units (its pixel size) on the {side}",
        )
    sizing.add_argument(
        '--canvas',
        type=_shape_arg,
        metavar='ROWSxCOLS',
        help='the exact final size in pixels, e.g. 2048x2048',
    )
    sizing.add_argument(
        '--aspect',
        type=_aspect_arg,
        metavar='W:H',
        help='the smallest canvas of this width:height holding the image, '
        'e.g. 16:9',
    )
    sizing.add_argument(
        '--anchor',
        type=_anchor_arg,
        metavar='Y,X',
        help='where the original sits with --canvas/--aspect, 0-1 per axis '
        '(default 0.5,0.5: the middle)',
    )
    parser.add_argument(
        '--engine',
        choices=('auto', 'runflow', 'local', 'reflect'),
        default='auto',
        help='auto (default): Runflow when an API key is configured, else '
        'local; local: PatchMatch, offline; reflect: instant offline '
        'preview; runflow: the cloud model ($0.55 per image)',
    )
    parser.add_argument(
        '--scheduler',
        metavar='ADDRESS',
        help='run the local PatchMatch engine on the Dask cluster whose '
        'scheduler is at ADDRESS (e.g. tcp://10.0.0.5:8786): each plane '
        'is a task on its workers (needs napari-outpaint[distributed], '
        'and napari-outpaint on the workers)',
    )
    parser.add_argument(
        '--plane',
        type=_plane_arg,
        metavar='I,J,...|all',
        help='for stacks: the indices of the plane along the non-spatial '
        "axes (e.g. 3 for a z-stack, 0,5 for t,z), or 'all' for every "
        'plane',
    )
    parser.add_argument(
        '--timeout',
        type=seconds_arg,
        default=600.0,
        metavar='SECONDS',
        help='give up waiting for a Runflow run after this long (default '
        '600); the run id is printed so that it can be collected later',
    )
    parser.add_argument(
        '--native-resolution',
        action='store_true',
        help="keep the engine's own pixel size (Runflow upscales) instead "
        "of resampling onto the original's pixel grid",
    )
    parser.add_argument(
        '--contrast-limits',
        type=_limits,
        metavar='LO,HI',
        help='greyscale values mapped to black and white for the engine '
        '(default: 0,255 for 8-bit, else the finite min-max of the file)',
    )
    parser.add_argument(
        '--api-key-env',
        metavar='NAME',
        help='read the Runflow API key from this environment variable '
        'instead of RUNFLOW_API_KEY (the key is never a command-line '
        'argument)',
    )
    parser.add_argument(
        '--max-pixels',
        type=pixels_arg,
        metavar='N',
        help='the largest image and expanded canvas of one plane, in '
        f'pixels (default ${MAX_PIXELS_ENV} if set, else '
        f'{DEFAULT_MAX_PIXELS:_}); also refused: a plane whose path needs '
        'more memory than is available',
    )
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace outputs that already exist (never an input); '
        'without it an existing output is refused, or asked about on a '
        'terminal',
    )
    parser.add_argument(
        '--no-mask',
        action='store_true',
        help='do not write the mask of generated pixels',
    )
    parser.add_argument(
        '--spend-cap',
        type=dollars_arg,
        metavar='USD',
        help='stop starting paid runs once this invocation has spent USD '
        f'(default: ${SPEND_CAP_ENV} if set, else the settings file, '
        'else no cap); exit code '
        f'{EXIT_NOT_CONFIRMED} when it stops a run',
    )
    parser.add_argument(
        '--concurrency',
        type=concurrency_arg,
        metavar='N',
        help=f'planes in flight at once with --plane all (1-'
        f'{MAX_CONCURRENCY}; default ${CONCURRENCY_ENV} if set, else the '
        f'settings file, else {DEFAULT_CONCURRENCY}); input files are done '
        'one after another',
    )
    parser.add_argument(
        '-y',
        '--yes',
        action='store_true',
        help='confirm the price of a paid batch, or of a canvas that takes '
        'several Runflow passes, without asking (required when not '
        'interactive)',
    )

    parser.add_argument(
        '--version', action='version', version=f'%(prog)s {__version__}'
    )
    parser.add_argument(
        '-q',
        '--quiet',
        action='store_true',
        help='only errors on stderr (written paths still go to stdout)',
    )
    return parser
