"""The ``napari-outpaint`` command: outpaint image files from a shell.

::

    napari-outpaint INPUT [INPUT ...] -o OUTPUT --top T --bottom B
                    --left L --right R [--engine auto|runflow|local|reflect]
                    [--plane I,J,...|all] [--native-resolution]
                    [--contrast-limits LO,HI] [--api-key-env NAME]
                    [--timeout SECONDS] [--no-mask] [--yes] [--quiet]
                    [--scheduler ADDRESS]
    napari-outpaint history [--json] [--export KEY -o FILE] [--open KEY]
                            [--filter TEXT] [--clear]
    napari-outpaint collect RUN_ID [-o FILE]

Every plane goes through the one pipeline, like the widget and the Python
API (:func:`napari_outpaint._batch.dispatch.outpaint_source`); paid
results go through the paid-result cache. Everything that can be checked
is checked before any byte leaves the machine: the inputs are read, the
outputs are checked, the expansion, the plane and the engine's
configuration are validated and a batch's price is confirmed first.

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

import os
import sys
from collections.abc import Sequence
from typing import TextIO

from napari_outpaint._cli.args import UsageError
from napari_outpaint._cli.collect import collect_command
from napari_outpaint._cli.console import Console
from napari_outpaint._cli.exit_codes import (
    EXIT_CANCELLED,
    EXIT_CONFIG,
    EXIT_INTERRUPTED,
    EXIT_NOT_CONFIRMED,
    EXIT_OK,
    EXIT_RUN_ERROR,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    exit_code,
    with_flag,
)
from napari_outpaint._cli.history import history_command
from napari_outpaint._cli.run import outpaint_command
from napari_outpaint._cli.signals import signals_interrupt
from napari_outpaint._cli.submitted import collect_hint
from napari_outpaint._cli.worker import Interrupted
from napari_outpaint._errors import OutpaintError

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
    console = Console(stdout or sys.stdout, stderr or sys.stderr, quiet=False)
    stdin = stdin or sys.stdin
    with signals_interrupt():  # SIGTERM / SIGHUP: the Ctrl-C path
        return _dispatch(argv, console, stdin)


def _dispatch(argv: list[str], console: Console, stdin: TextIO) -> int:
    """Run the subcommand; every way out is a message and an exit code."""
    try:
        if argv and argv[0] == 'history':
            return history_command(argv[1:], console, stdin)
        if argv and argv[0] == 'collect':
            return collect_command(argv[1:], console)
        return outpaint_command(argv, console, stdin)
    except UsageError as exc:
        exc.parser.print_usage(console.err)
        console.error(str(exc))
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except Interrupted as exc:
        console.error(f'interrupted: cancelled.{collect_hint(exc)}')
        return EXIT_INTERRUPTED
    except KeyboardInterrupt as exc:
        how = f' ({exc.args[0]})' if exc.args else ''
        hint = collect_hint(exc)
        when = '' if hint else ' before any run started'
        console.error(f'interrupted{how}{when}.{hint}')
        return EXIT_INTERRUPTED
    except OutpaintError as exc:
        text = with_flag(exc)
        console.error(text + collect_hint(exc, already_said=text))
        return exit_code(exc)
    except Exception as exc:  # noqa: BLE001 - last resort, no traceback
        console.error(
            f'unexpected {type(exc).__name__}: {exc}. This is a bug: please '
            f'report it with the command you ran.{collect_hint(exc)}'
        )
        if os.environ.get('NAPARI_OUTPAINT_DEBUG'):
            raise
        return EXIT_UNEXPECTED


if (
    __name__ == '__main__'
):  # pragma: no cover - python -m napari_outpaint._cli.main
    sys.exit(main())
