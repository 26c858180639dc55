"""The ``napari-outpaint`` command: outpaint image files from a shell.

::

    napari-outpaint INPUT [INPUT ...] -o OUTPUT --top T --bottom B
                    --left L --right R [--engine auto|runflow|local|reflect]
                    [--plane I,J,...|all] [--native-resolution]
                    [--contrast-limits LO,HI] [--api-key-env NAME]
                    [--timeout SECONDS] [--no-mask] [--yes] [--quiet]
    napari-outpaint history [--json] [--export KEY -o FILE] [--clear]
    napari-outpaint collect RUN_ID [-o FILE]

Every plane goes through the one pipeline
(:func:`napari_outpaint._pipeline.outpaint_array`; ``--plane all`` through
:func:`napari_outpaint._batch.outpaint_planes`), like the widget and the
Python API; paid results go through the paid-result cache. Everything
that can be checked is checked before any byte leaves the machine: the
inputs are read, the outputs are checked, the expansion, the plane and
the engine's configuration are validated and a batch's price is confirmed
first.

Outputs, for an OUTPUT of ``out.tif``:

``out.tif``
    The result, in the input's dtype and axes (TIFF) with its pixel size.
``out.tif.json``
    The sidecar: input, placement (scale, translate, affine, the pixel
    offset of the original in the result, padding, expand) and provenance.
``out.mask.tif``
    The mask of generated pixels (255 = generated), unless ``--no-mask``.

The API key is never read from the command line (it would end up in the
shell history and the process list): it comes from ``RUNFLOW_API_KEY`` (or
the variable named by ``--api-key-env``) or the system keyring.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from napari_outpaint._errors import (
    AuthenticationError,
    BudgetError,
    ConfigurationError,
    InsufficientCreditError,
    InvalidInputError,
    OutpaintCancelled,
    OutpaintError,
    PermissionDeniedError,
    RunTimeoutError,
)
from napari_outpaint._expand import MAX_PERCENT, Expand
from napari_outpaint._files import (
    PNG_SUFFIXES,
    TIFF_SUFFIXES,
    ImageFile,
    check_writable,
    read_image,
    write_image,
)
from napari_outpaint._progress import CancelToken, ProgressEvent, Stage

__all__ = [
    'EXIT_CANCELLED',
    'EXIT_CONFIG',
    'EXIT_INTERRUPTED',
    'EXIT_NOT_CONFIRMED',
    'EXIT_OK',
    'EXIT_RUN_ERROR',
    'EXIT_UNEXPECTED',
    'EXIT_USAGE',
    'main',
]

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_RUN_ERROR = 4
EXIT_CANCELLED = 5
EXIT_NOT_CONFIRMED = 6
EXIT_INTERRUPTED = 130

CANCEL_GRACE_SECONDS = 30.0
SAMPLE_PREFIX = 'sample:'
# errors after which the next input files are not tried
_STOP_ALL = (
    AuthenticationError,
    BudgetError,
    ConfigurationError,
    InsufficientCreditError,
    OutpaintCancelled,
    PermissionDeniedError,
)

EPILOG = f"""\
examples:
  napari-outpaint sample:cells -o outpainted.tif --top 20 --bottom 20 \\
      --left 30 --right 30
  napari-outpaint stack.tif -o out.tif --top 10 --bottom 10 --left 0 \\
      --right 25 --plane 3
  napari-outpaint a.png b.png -o results/ --top 0 --bottom 0 --left 40 \\
      --right 40 --engine runflow --yes

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
  {EXIT_CONFIG}    configuration (e.g. no API key for --engine runflow)
  {EXIT_RUN_ERROR}    the run failed (API error, failed run, bad result)
  {EXIT_CANCELLED}    cancelled or timed out (the run id is printed:
       collect it later with `napari-outpaint collect RUN_ID`)
  {EXIT_NOT_CONFIRMED}    the price of a batch was not confirmed (--yes)
  {EXIT_INTERRUPTED}  interrupted with Ctrl-C (the run was cancelled and
       cleaned up)

other commands (see their --help):
  napari-outpaint history [--json] [--export KEY -o FILE] [--clear]
      past results in the paid-result cache, and uncollected runs
  napari-outpaint collect RUN_ID [-o FILE]
      download a Runflow run submitted earlier into the cache
  (an input file literally named "history" or "collect": write ./history)
"""


class _Interrupted(Exception):
    """Ctrl-C: the run was asked to cancel (and has cleaned up)."""

    def __init__(self, cause: BaseException | None, value: Any = None) -> None:
        super().__init__('interrupted')
        self.cause = cause
        self.value = value


@dataclasses.dataclass(frozen=True)
class _Job:
    """One input file and where its result goes.

    In a batch of several files only one file's pixels are held at a
    time: ``image.data`` is then a zero-memory stand-in with the right
    shape and dtype, and :meth:`pixels` reads the file again.
    """

    image: ImageFile
    output: Path
    planes: tuple[tuple[int, ...], ...] | None  # None: a 2D image
    contrast_limits: tuple[float, float] | None
    spec: str = ''
    deferred: bool = False

    def pixels(self) -> np.ndarray:
        """The input's pixels (read again when they were not kept)."""
        if not self.deferred:
            return self.image.data
        data = _load_input(self.spec).data
        if data.shape != self.image.data.shape or (
            data.dtype != self.image.data.dtype
        ):
            raise InvalidInputError(
                'input',
                f'{self.spec} changed while the batch ran; run it again.',
            )
        return data


class _Console:
    """Messages and progress on stderr; written paths on stdout.

    Safe to call from the worker threads that report progress.
    """

    def __init__(self, out: TextIO, err: TextIO, *, quiet: bool) -> None:
        self.out = out
        self.err = err
        self.quiet = quiet
        self.tty = bool(getattr(err, 'isatty', lambda: False)())
        self._line_open = False
        self._lock = threading.Lock()

    def say(self, text: str) -> None:
        """A line on stderr (suppressed by --quiet)."""
        if not self.quiet:
            self._write(self.err, text + '\n')

    def error(self, text: str) -> None:
        """An error line on stderr (never suppressed)."""
        self._write(self.err, f'napari-outpaint: error: {text}\n')

    def result(self, text: str) -> None:
        """A written path on stdout."""
        self._write(self.out, text + '\n')

    def bar(self, label: str, fraction: float | None, note: str) -> None:
        """A progress bar redrawn in place on a terminal."""
        if self.quiet or not self.tty:
            return
        width = 24
        filled = round(width * min(max(fraction or 0.0, 0.0), 1.0))
        pct = f'{100 * fraction:3.0f}%' if fraction is not None else ' ...'
        line = f'{label} [{"#" * filled}{"." * (width - filled)}] {pct}'
        columns = shutil.get_terminal_size((100, 24)).columns - 1
        with self._lock:
            self.err.write('\r' + f'{line} {note}'[:columns].ljust(columns))
            self.err.flush()
            self._line_open = True

    def _write(self, stream: TextIO, text: str) -> None:
        with self._lock:
            if self._line_open:  # end the progress bar's line first
                self.err.write('\n')
                self._line_open = False
            stream.write(text)
            stream.flush()


class _ProgressPrinter:
    """Turns engine progress events into stderr lines and a bar."""

    def __init__(self, console: _Console, label: str) -> None:
        self.console = console
        self.label = label
        self._stage: Stage | None = None
        self._run_id: str | None = None
        self._fraction: float | None = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.run_id and event.run_id != self._run_id:
            self._run_id = event.run_id
            self.console.say(
                f'{self.label}: run {event.run_id} submitted (if this '
                'process stops, collect it with `napari-outpaint collect '
                f'{event.run_id}`)'
            )
        if self.console.tty and not self.console.quiet:
            if event.fraction is not None:
                self._fraction = event.fraction
            self.console.bar(self.label, self._fraction, event.message)
        elif event.stage != self._stage:
            text = f'{self.label}: {event.stage.value}'
            if event.message:
                text += f' - {event.message}'
            self.console.say(text)
        self._stage = event.stage


# ---------------------------------------------------------------- parsing


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


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(
            f'expected a number of seconds > 0, got {value!r}'
        )
    return seconds


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


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, to keep main() testable."""

    out: TextIO | None = None  # where --help goes (default stdout)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(self, message)

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            if self.out is not None and file in (None, sys.stdout):
                file = self.out
            (file or sys.stdout).write(message)


class _UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser


def build_parser() -> argparse.ArgumentParser:
    """The parser of the main ``napari-outpaint INPUT ...`` command."""
    parser = _Parser(
        prog='napari-outpaint',
        description=(
            'Expand (outpaint) the canvas of image files: each side by an\n'
            'integer percent 0-80 of that axis. Writes the result, a sidecar\n'
            'JSON with its placement and provenance, and a mask of the\n'
            'generated pixels.'
        ),
        epilog=EPILOG,
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
        help='output file (.tif/.tiff or .png), or a folder for several '
        'inputs',
    )
    for side in ('top', 'bottom', 'left', 'right'):
        parser.add_argument(
            f'--{side}',
            type=_percent,
            required=True,
            metavar='PCT',
            help=f'percent of the {"height" if side in ("top", "bottom") else "width"} '  # noqa: E501
            f'added on the {side} (0-{MAX_PERCENT})',
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
        '--plane',
        type=_plane_arg,
        metavar='I,J,...|all',
        help='for stacks: the indices of the plane along the non-spatial '
        "axes (e.g. 3 for a z-stack, 0,5 for t,z), or 'all' for every "
        'plane',
    )
    parser.add_argument(
        '--timeout',
        type=_seconds,
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
        '--no-mask',
        action='store_true',
        help='do not write the mask of generated pixels',
    )
    parser.add_argument(
        '-y',
        '--yes',
        action='store_true',
        help='confirm the price of a paid batch without asking (required '
        'when not interactive)',
    )
    from napari_outpaint import __version__

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


# ----------------------------------------------------------------- inputs


def _load_input(spec: str) -> ImageFile:
    if spec.startswith(SAMPLE_PREFIX):
        return _load_sample(spec[len(SAMPLE_PREFIX) :])
    return read_image(spec)


def _load_sample(name: str) -> ImageFile:
    from napari_outpaint import _sample_data

    makers = {
        'cells': _sample_data.make_cells_sample,
        'coffee': _sample_data.make_coffee_sample,
    }
    if name not in makers:
        raise InvalidInputError(
            'input',
            f'unknown sample {name!r}; use sample:cells or sample:coffee.',
        )
    data, kwargs, _ = makers[name]()[0]
    data = np.asarray(data)
    rgb = bool(kwargs.get('rgb', False))
    layer_ndim = data.ndim - (1 if rgb else 0)
    return ImageFile(
        data=data,
        rgb=rgb,
        axes='YXS' if rgb else 'YX',
        scale=(1.0,) * layer_ndim,
        unit=None,
        family='sample',
        source=f'{SAMPLE_PREFIX}{name}',
        name=name,
    )


def _expand_inputs(specs: Sequence[str]) -> list[str]:
    """Folders become their image files, sorted; the rest stays."""
    found: list[str] = []
    suffixes = (*TIFF_SUFFIXES, *PNG_SUFFIXES, '.jpg', '.jpeg')
    for spec in specs:
        path = Path(spec)
        if not spec.startswith(SAMPLE_PREFIX) and path.is_dir():
            files = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in suffixes
            )
            if not files:
                raise InvalidInputError(
                    'input',
                    f'the folder {path} holds no .tif/.png/.jpg image.',
                )
            found.extend(str(p) for p in files)
        else:
            found.append(spec)
    return found


def _output_for(image: ImageFile, output: Path, batch: bool) -> Path:
    """Where the result of *image* goes."""
    if not batch and not output.is_dir():
        return output
    if batch and output.exists() and not output.is_dir():
        raise InvalidInputError(
            '--output',
            f'{output} is a file, but several inputs need a folder; pass '
            'a folder (it is created if missing).',
        )
    family = image.family
    if family == 'tiff':
        suffix = Path(image.source).suffix or '.tif'
    elif family == 'png':
        suffix = '.png'
    elif family == 'jpeg':
        suffix = '.png'  # JPEG is lossy: never written
    else:  # a sample
        suffix = '.tif'
    return output / f'{image.name}.outpainted{suffix}'


def _planes(
    image: ImageFile, plane: str | tuple[int, ...] | None
) -> tuple[tuple[int, ...], ...] | None:
    """The planes to outpaint: None for a 2D image."""
    lead = image.data.shape[: image.plane_axes]
    if not lead:
        if plane is not None:
            raise InvalidInputError(
                '--plane',
                f'{image.source} is a 2D image; drop --plane.',
            )
        return None
    if plane is None:
        if all(n == 1 for n in lead):
            return ((0,) * len(lead),)
        raise InvalidInputError(
            '--plane',
            f'{image.source} is a stack of shape {image.data.shape} (axes '
            f'{image.axes}); name a plane, e.g. --plane '
            f'{",".join("0" * len(lead))}, or use --plane all.',
        )
    if plane == 'all':
        return tuple(np.ndindex(*lead))
    if len(plane) != len(lead) or any(
        i >= n for i, n in zip(plane, lead, strict=False)
    ):
        raise InvalidInputError(
            '--plane',
            f'{",".join(map(str, plane))} does not name a plane of '
            f'{image.source}: it needs {len(lead)} index(es) within '
            f'{tuple(lead)} (axes {image.axes[: len(lead)]}).',
        )
    return (tuple(plane),)


def _contrast_limits(
    image: ImageFile, given: tuple[float, float] | None
) -> tuple[float, float] | None:
    if image.rgb:
        if given is not None:
            raise InvalidInputError(
                '--contrast-limits',
                f'{image.source} is RGB; contrast limits only apply to '
                'greyscale images. Drop --contrast-limits.',
            )
        return None
    if given is not None:
        return given
    data = image.data
    if data.dtype == np.uint8:
        return 0.0, 255.0  # 8-bit passes through unchanged, as in napari
    finite = data if data.dtype.kind in 'biu' else data[np.isfinite(data)]
    if finite.size == 0:
        raise InvalidInputError(
            'input',
            f'{image.source} has no finite values to outpaint.',
        )
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        high = low + 1.0
    return low, high


def _prepare_jobs(args: argparse.Namespace) -> list[_Job]:
    specs = _expand_inputs(args.inputs)
    batch = len(specs) > 1
    output = Path(args.output)
    if batch:
        output.mkdir(parents=True, exist_ok=True)
    jobs = []
    outputs: set[Path] = set()
    for spec in specs:
        image = _load_input(spec)
        target = _output_for(image, output, batch)
        if target.resolve() in outputs:
            raise InvalidInputError(
                '--output',
                f'two inputs would both be written to {target}; rename one '
                'or run them separately.',
            )
        outputs.add(target.resolve())
        if (
            image.family != 'sample'
            and target.resolve() == Path(image.source).resolve()
        ):
            raise InvalidInputError(
                '--output',
                f'{target} is the input itself; choose another file name.',
            )
        planes = _planes(image, args.plane)
        spatial = 2 + (
            sum(1 for n in image.data.shape[: image.plane_axes] if n > 1)
            if planes is not None and len(planes) > 1
            else 0
        )
        check_writable(
            target, dtype=image.data.dtype, rgb=image.rgb, ndim=spatial
        )
        limits = _contrast_limits(image, args.contrast_limits)
        if batch:  # keep only shape and dtype until its turn
            placeholder = np.broadcast_to(
                np.zeros((), image.data.dtype), image.data.shape
            )
            image = dataclasses.replace(image, data=placeholder)
        jobs.append(
            _Job(
                image=image,
                output=target,
                planes=planes,
                contrast_limits=limits,
                spec=spec,
                deferred=batch,
            )
        )
    return jobs


# ----------------------------------------------------------------- engine


def _choose_engine(args: argparse.Namespace, console: _Console) -> Any:
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
        from napari_outpaint._credentials import find_api_key

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
        engine = _runflow_engine(key, args.timeout)
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


def _runflow_engine(key: str | None, timeout: float) -> Any:
    """A Runflow engine (``RUNFLOW_BASE_URL`` and ``SSL_CERT_FILE`` apply)."""
    from napari_outpaint.engines.runflow import RunflowEngine

    return RunflowEngine(api_key=key, timeout=timeout)


def _confirm_cost(
    engine: Any,
    runs: int,
    args: argparse.Namespace,
    console: _Console,
    stdin: TextIO,
) -> None:
    """Show the price; a paid batch must be confirmed (or --yes)."""
    from napari_outpaint._cost import estimate_cost

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


def _run_cancellable(
    func: Callable[[CancelToken], Any],
    cancel: CancelToken,
    console: _Console,
) -> Any:
    """Run *func* in a worker; Ctrl-C cancels it and waits for cleanup.

    Raises :class:`_Interrupted` after Ctrl-C, carrying what the worker
    returned or raised once cancelled (a batch returns its finished
    planes).
    """
    box: dict[str, Any] = {}
    # An Event, not Thread.join: a KeyboardInterrupt inside join() can mark
    # a live thread as stopped on Python 3.11 (CPython gh-90882).
    done = threading.Event()

    def target() -> None:
        try:
            box['value'] = func(cancel)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            box['error'] = exc
        finally:
            done.set()

    worker = threading.Thread(
        target=target, name='napari-outpaint-cli', daemon=True
    )
    try:
        worker.start()
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        cancel.cancel()
        console.say(
            'cancelling: cleaning up (Ctrl-C again to quit at once) ...'
        )
        with contextlib.suppress(KeyboardInterrupt):
            done.wait(CANCEL_GRACE_SECONDS)
        raise _Interrupted(box.get('error'), box.get('value')) from None
    if 'error' in box:
        raise box['error']
    return box['value']


class _BatchPrinter:
    """Per-plane and overall progress of a stack batch."""

    def __init__(self, console: _Console, label: str) -> None:
        self.console = console
        self.label = label
        self._run_ids: set[str] = set()

    def __call__(self, report: Any) -> None:
        event = report.event
        where = self.label
        if report.plane is not None:
            where += f' plane {",".join(map(str, report.plane))}'
        run_id = event.run_id if event is not None else None
        if run_id and run_id not in self._run_ids:
            self._run_ids.add(run_id)
            self.console.say(
                f'{where}: run {run_id} submitted (collect it later with '
                f'`napari-outpaint collect {run_id}`)'
            )
        note = f'{report.finished}/{report.total} planes'
        if report.failed:
            note += f', {report.failed} failed'
        if self.console.tty:
            self.console.bar(self.label, report.fraction, note)
        elif (
            event is None
            and report.message
            and (report.plane is not None or report.finished == 0)
        ):
            self.console.say(f'{self.label}: {report.message} ({note})')


def _paid(engine: Any) -> bool:
    return float(getattr(engine, 'price_per_image_usd', 0.0) or 0.0) > 0


def _single_plane(
    job: _Job,
    engine: Any,
    expand: Expand,
    args: argparse.Namespace,
    console: _Console,
    label: str,
    cancel: CancelToken,
) -> Any:
    """One plane (2D image or --plane I,J) through ``outpaint_array``."""
    from napari_outpaint._pipeline import outpaint_array

    image = job.image
    if _paid(engine):
        # a paid result is stored before it is shown, never paid twice
        from napari_outpaint._cached_engine import CachingEngine

        engine = CachingEngine(engine, info={'source': image.source})
    return outpaint_array(
        job.pixels(),
        expand,
        engine=engine,
        plane=job.planes[0] if job.planes else None,
        rgb=image.rgb,
        contrast_limits=job.contrast_limits,
        scale=image.scale,
        keep_native_resolution=args.native_resolution,
        progress=_ProgressPrinter(console, label),
        cancel=cancel,
        source_name=image.name,
    )


def _many_planes(
    job: _Job,
    engine: Any,
    expand: Expand,
    args: argparse.Namespace,
    console: _Console,
    label: str,
    cancel: CancelToken,
) -> Any:
    """Every plane (--plane all) through the batch, into one nD result."""
    from napari_outpaint._batch import outpaint_planes

    image = job.image
    return outpaint_planes(
        job.pixels(),
        expand,
        planes=list(job.planes or ()),
        engine=engine,
        rgb=image.rgb,
        contrast_limits=job.contrast_limits,
        scale=image.scale,
        keep_native_resolution=args.native_resolution,
        source_name=image.name,
        confirm=True,  # the price was shown and confirmed up front
        progress=_BatchPrinter(console, label),
        cancel=cancel,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, BaseException):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _placement(job: _Job, result: Any, expand: Expand) -> dict[str, Any]:
    """Where the result sits, and where the original sits inside it."""
    image = job.image
    scale = [float(s) for s in result.scale]
    translate = [float(t) for t in result.translate]
    height, width = image.data.shape[image.plane_axes : image.plane_axes + 2]
    pad = expand.padding(height, width)
    # result pixel coordinates of the centre of the original's pixel (0, 0)
    offset = [
        round((0.0 - t) / s, 6)
        for t, s in zip(translate[-2:], scale[-2:], strict=True)
    ]
    affine = getattr(result, 'affine', None)
    return {
        'scale': scale,
        'translate': translate,
        'affine': None if affine is None else np.asarray(affine).tolist(),
        'unit': image.unit,
        'original_offset_px': offset,
        'padding_px': pad._asdict(),
        'expand': expand.as_dict(),
        'note': (
            'scale/translate/affine place the result in the world frame of '
            'the input (input.scale, translate 0); original_offset_px is '
            'where the centre of the original pixel (0, 0) lies, in result '
            'pixel coordinates (row, col).'
        ),
    }


def _stem_path(output: Path, tag: str) -> Path:
    return output.with_name(f'{output.stem}.{tag}{output.suffix}')


def _write_outputs(
    job: _Job,
    result: Any,
    expand: Expand,
    args: argparse.Namespace,
) -> list[Path]:
    """Write the result, its mask and the sidecar; return the paths."""
    image = job.image
    output = job.output
    layer_scale = [float(s) for s in result.scale]
    written = [
        _atomic(
            output,
            lambda p: write_image(
                p,
                np.asarray(result.data),
                rgb=image.rgb,
                axes=image.axes,
                scale=layer_scale,
                unit=image.unit,
            ),
        )
    ]
    mask_path = None
    if not args.no_mask and result.mask is not None:
        mask_path = _stem_path(output, 'mask')
        mask = np.asarray(result.mask).astype(np.uint8) * 255
        mask_axes = image.axes[:-1] if image.rgb else image.axes
        written.append(
            _atomic(
                mask_path,
                lambda p: write_image(
                    p,
                    mask,
                    rgb=False,
                    axes=mask_axes if mask.ndim == len(mask_axes) else None,
                    scale=layer_scale,
                    unit=image.unit,
                ),
            )
        )
    from napari_outpaint import __version__

    sidecar = {
        'napari_outpaint': __version__,
        'input': image.describe(),
        'output': {
            'path': str(output),
            'shape': list(np.shape(result.data)),
            'dtype': str(np.asarray(result.data).dtype),
            'mask': str(mask_path) if mask_path else None,
            'native_resolution': bool(args.native_resolution),
        },
        'contrast_limits': list(job.contrast_limits)
        if job.contrast_limits
        else None,
        'placement': _placement(job, result, expand),
        'provenance': result.provenance,
    }
    sidecar_path = output.with_name(output.name + '.json')
    text = json.dumps(_jsonable(sidecar), indent=2, ensure_ascii=False)
    written.append(
        _atomic(sidecar_path, lambda p: p.write_text(text + '\n', 'utf-8'))
    )
    return written


def _atomic(path: Path, write: Callable[[Path], Any]) -> Path:
    """Write through a temporary sibling, then rename: no partial files."""
    tmp = path.with_name(f'.{path.stem}.partial{path.suffix}')
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _finish_job(
    job: _Job,
    result: Any,
    expand: Expand,
    args: argparse.Namespace,
    console: _Console,
    label: str,
    started: float,
) -> int:
    """Write what a job produced, report it; return its exit code."""
    outcomes = getattr(result, 'outcomes', None)
    if result is None or getattr(result, 'data', None) is None:
        if outcomes is not None:
            console.say(f'{label}: {result.summary()}')
        console.error(f'{label}: no plane finished; nothing was written.')
        return _batch_exit_code(result)
    for path in _write_outputs(job, result, expand, args):
        console.result(str(path))
    seconds = time.monotonic() - started
    if outcomes is not None:
        console.say(f'{label}: {result.summary()}')
        if not result.complete:
            console.error(
                f'{label}: partial result written ({len(result.finished)} '
                f'of {len(outcomes)} planes; unfinished planes are 0). '
                'Run the same command again to finish: finished planes '
                'come from the cache at no cost.'
            )
            return _batch_exit_code(result)
    for message in getattr(result, 'warnings', ()) or ():
        console.say(f'{label}: warning: {message}')
    seam = (result.provenance or {}).get('seam_score')
    note = f', seam score {seam:.2f}' if isinstance(seam, float) else ''
    console.say(f'{label}: done in {seconds:.1f} s{note}')
    return EXIT_OK


def _batch_exit_code(result: Any) -> int:
    stop = getattr(result, 'stopped_by', None)
    if isinstance(stop, OutpaintError):
        return _exit_code(stop)
    return EXIT_RUN_ERROR


def _outpaint_command(
    argv: Sequence[str], console: _Console, stdin: TextIO
) -> int:
    parser = build_parser()
    parser.out = console.out
    args = parser.parse_args(argv)
    console.quiet = args.quiet
    try:
        expand = Expand(args.top, args.bottom, args.left, args.right)
    except InvalidInputError as exc:
        raise InvalidInputError(
            '--top/--bottom/--left/--right',
            'all four are 0, so there is nothing to outpaint; set at least '
            'one above 0 (e.g. --left 30).',
        ) from exc
    jobs = _prepare_jobs(args)
    engine = _choose_engine(args, console)
    runs = sum(len(job.planes or (None,)) for job in jobs)
    _confirm_cost(engine, runs, args, console, stdin)

    code = EXIT_OK
    for number, job in enumerate(jobs, start=1):
        label = job.image.name
        if len(jobs) > 1:
            label = f'[{number}/{len(jobs)}] {label}'
        batch = job.planes is not None and len(job.planes) > 1
        run = _many_planes if batch else _single_plane
        started = time.monotonic()
        try:
            result = _run_cancellable(
                lambda cancel, job=job, label=label, run=run: run(
                    job, engine, expand, args, console, label, cancel
                ),
                CancelToken(),
                console,
            )
        except _Interrupted as exc:
            if batch and exc.value is not None:
                _finish_job(job, exc.value, expand, args, console, label, 0)
            raise
        except OutpaintError as exc:
            if len(jobs) == 1:
                raise
            console.error(f'{label}: {_with_flag(exc)}')
            code = code or _exit_code(exc)
            if isinstance(exc, _STOP_ALL):
                break
            continue
        code = (
            _finish_job(job, result, expand, args, console, label, started)
            or code
        )
    return code


# ------------------------------------------------------------ subcommands


def _when(seconds: float) -> str:
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(seconds))


def _history_command(argv: Sequence[str], console: _Console) -> int:
    parser = _Parser(
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
            console.result(json.dumps(_jsonable(record), ensure_ascii=False))
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
            console.result(json.dumps(_jsonable(record), ensure_ascii=False))
        else:
            console.result(
                f'{_when(run.created_at)}  PENDING  run {run.run_id}  '
                f'(collect it: napari-outpaint collect {run.run_id})'
            )
    return EXIT_OK


def _export_cached(
    cache: Any, args: argparse.Namespace, console: _Console
) -> int:
    if not args.output:
        raise InvalidInputError(
            '--output', '--export needs -o FILE.png (or .tif).'
        )
    check_writable(args.output, dtype=np.dtype(np.uint8), rgb=True, ndim=2)
    matches = [e for e in cache.entries() if e.key.startswith(args.export)]
    if len(matches) != 1:
        what = 'no' if not matches else f'{len(matches)}'
        raise InvalidInputError(
            '--export',
            f'{what} cached result(s) match {args.export!r}; copy a key '
            'prefix from `napari-outpaint history`.',
        )
    image = matches[0].image()
    path = _atomic(
        Path(args.output), lambda p: write_image(p, image, rgb=True)
    )
    console.result(str(path))
    return EXIT_OK


def _collect_command(argv: Sequence[str], console: _Console) -> int:
    parser = _Parser(
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
        type=_seconds,
        default=600.0,
        metavar='SECONDS',
        help='give up waiting after this long (default 600)',
    )
    parser.out = console.out
    args = parser.parse_args(argv)
    if args.output:
        check_writable(args.output, dtype=np.dtype(np.uint8), rgb=True, ndim=2)
    env = args.api_key_env or 'RUNFLOW_API_KEY'
    key = os.environ.get(env, '').strip() or None
    if key is None and not args.api_key_env:
        from napari_outpaint._credentials import find_api_key

        key = find_api_key()
    if not key:
        raise ConfigurationError(
            f'collect needs the Runflow API key of the account that ran '
            f'{args.run_id}: set {env}.'
        )
    from napari_outpaint._cache import collect_run

    engine = _runflow_engine(key, args.timeout)
    collected = _run_cancellable(
        lambda cancel: collect_run(
            args.run_id,
            engine=engine,
            progress=_ProgressPrinter(console, args.run_id),
            cancel=cancel,
        ),
        CancelToken(),
        console,
    )
    if args.output:
        image = collected.image()
        path = _atomic(
            Path(args.output),
            lambda p: write_image(p, image, rgb=True),
        )
        console.result(str(path))
    console.say(f'collected run {args.run_id} into the cache')
    return EXIT_OK


# ------------------------------------------------------------------- main


# Python argument names (as pipeline errors name them) -> command-line flags
_FLAGS = {
    'plane': '--plane',
    'planes': '--plane',
    'contrast_limits': '--contrast-limits',
    'keep_native_resolution': '--native-resolution',
    'timeout': '--timeout',
    'engine': '--engine',
    'api_key': '--api-key-env',
    'data': 'input',
    'expand': '--top/--bottom/--left/--right',
    **{side: f'--{side}' for side in ('top', 'bottom', 'left', 'right')},
}


def _with_flag(exc: OutpaintError) -> str:
    """The error's message, naming the command-line flag, not the kwarg."""
    text = str(exc)
    field = getattr(exc, 'field', None)
    if isinstance(exc, InvalidInputError) and field in _FLAGS:
        prefix = f'{field}: '
        if text.startswith(prefix):
            text = f'{_FLAGS[field]}: {text[len(prefix) :]}'
    return text


def _exit_code(exc: OutpaintError) -> int:
    if isinstance(exc, InvalidInputError):
        return EXIT_USAGE
    if isinstance(exc, ConfigurationError):
        return EXIT_CONFIG
    if isinstance(exc, BudgetError):
        return EXIT_NOT_CONFIRMED
    if isinstance(exc, OutpaintCancelled | RunTimeoutError):
        return EXIT_CANCELLED
    return EXIT_RUN_ERROR


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run the ``napari-outpaint`` command; return its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).
    stdout, stderr, stdin : file, optional
        Streams (default: the ``sys`` ones), for tests and embedding.

    Returns
    -------
    int
        The exit code (see ``napari-outpaint --help``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    console = _Console(stdout or sys.stdout, stderr or sys.stderr, quiet=False)
    stdin = stdin or sys.stdin
    try:
        if argv and argv[0] == 'history':
            return _history_command(argv[1:], console)
        if argv and argv[0] == 'collect':
            return _collect_command(argv[1:], console)
        return _outpaint_command(argv, console, stdin)
    except _UsageError as exc:
        exc.parser.print_usage(console.err)
        console.error(str(exc))
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except _Interrupted as exc:
        run_id = getattr(exc.cause, 'run_id', None)
        note = (
            f' Run {run_id} was already submitted and may still be billed: '
            f'collect it with `napari-outpaint collect {run_id}`.'
            if run_id
            else ''
        )
        console.error(f'interrupted: cancelled.{note}')
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        console.error('interrupted before any run started.')
        return EXIT_INTERRUPTED
    except OutpaintError as exc:
        console.error(_with_flag(exc))
        return _exit_code(exc)
    except Exception as exc:  # noqa: BLE001 - last resort, no traceback
        console.error(
            f'unexpected {type(exc).__name__}: {exc}. This is a bug: please '
            'report it with the command you ran.'
        )
        if os.environ.get('NAPARI_OUTPAINT_DEBUG'):
            raise
        return EXIT_UNEXPECTED


if __name__ == '__main__':  # pragma: no cover - python -m napari_outpaint._cli
    sys.exit(main())
