"""What an output may replace: never an input, an existing file only if asked.

The rule of every command that writes files (the main command and
``history --export``):

- an output never replaces an input of the same invocation, however the
  two paths are spelled (relative or absolute, ``..``, symbolic or hard
  links: files are compared by identity, not by name);
- an output that already exists is replaced only with ``--overwrite``, or
  when the user answers yes on a terminal; elsewhere (a script, CI) the
  command refuses before any work, naming the file and the flag;
- a ``-o result.zarr`` store is never replaced but resumed: the batch is
  written into it plane by plane (with its mask and provenance, so no
  TIFF, mask file or sidecar beside it), and the same command run again
  after an interruption sends no run for the planes it holds; a path that
  is not our store, or a store of another input or expansion, is refused
  (:func:`check_zarr_output`, :func:`store_output_for`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from napari_outpaint._batch import StoreOutput
from napari_outpaint._cli.console import Console
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._io import ImageFile, check_store_path, is_zarr_path

__all__ = [
    'FileIdentity',
    'check_outputs',
    'check_zarr_output',
    'file_identity',
    'is_zarr_path',
    'store_output_for',
]

FileIdentity = tuple[int, int] | str


def file_identity(path: str | os.PathLike[str]) -> FileIdentity:
    """What tells two spellings of one file apart from two files.

    ``(device, inode)`` for a file that exists (so hard and symbolic
    links compare equal), else the absolute resolved path.
    """
    try:
        stat = os.stat(path)
    except OSError:
        return str(Path(path).resolve())
    return (stat.st_dev, stat.st_ino)


def check_outputs(
    outputs: Sequence[Path],
    inputs: Iterable[str | os.PathLike[str]],
    *,
    overwrite: bool,
    console: Console,
    stdin: TextIO,
    field: str = '--output',
) -> None:
    """Refuse outputs that would replace an input or, unasked, a file.

    Parameters
    ----------
    outputs : sequence of Path
        Every file the command will write (results, masks, sidecars).
    inputs : iterable of path
        Every input file of the invocation.
    overwrite : bool
        ``--overwrite``: existing files that are not inputs may be
        replaced.
    console, stdin
        Where to ask, when *stdin* is a terminal.
    field : str
        The option named in errors.

    Raises
    ------
    InvalidInputError
        Naming *field*: an output is an input, or an output exists and
        neither ``--overwrite`` nor an answer allows replacing it.
    """
    sources = {file_identity(p): Path(p) for p in inputs}
    existing = []
    for path in outputs:
        same = sources.get(file_identity(path))
        if same is not None:
            raise InvalidInputError(
                field,
                f'{path} is the input {same} of this command; outputs never '
                'overwrite inputs. Choose another output name or folder.',
            )
        if path.exists():
            existing.append(path)
    if not existing or overwrite:
        return
    named = ', '.join(str(p) for p in existing[:3])
    more = f' and {len(existing) - 3} more' if len(existing) > 3 else ''
    if bool(getattr(stdin, 'isatty', lambda: False)()):
        console.err.write(f'Replace {named}{more}? [y/N] ')
        console.err.flush()
        if stdin.readline().strip().lower() in ('y', 'yes'):
            return
        raise InvalidInputError(
            field,
            f'not replaced: {named}{more} already exist(s); nothing was '
            'run. Choose another output, or pass --overwrite.',
        )
    raise InvalidInputError(
        field,
        f'{named}{more} already exist(s); nothing was run. Pass --overwrite '
        'to replace, or choose another output name or folder.',
    )


_FIELD = '--output'


def check_zarr_output(
    target: Path,
    image: ImageFile,
    planes: tuple[tuple[int, ...], ...] | None,
    *,
    n_inputs: int,
    channels: bool = False,
) -> None:
    """Refuse a zarr output that cannot hold this job, before any run."""
    if channels:
        raise InvalidInputError(
            _FIELD,
            f'{image.source} has channels, outpainted together; a zarr '
            'store does not hold channel results yet: write a .tif.',
        )
    if n_inputs > 1:
        raise InvalidInputError(
            _FIELD,
            f'{target} is a zarr store, which holds the result of one '
            'input; give a folder for several inputs, or one input.',
        )
    if planes is None:
        raise InvalidInputError(
            _FIELD,
            f'{target} is a zarr store, which holds a batch of planes; '
            f'add --plane all for the stack {image.source}, or write a '
            '.tif.',
        )
    check_store_path(target, field=_FIELD)


def store_output_for(image: ImageFile, target: Path) -> StoreOutput | None:
    """The batch's store output for *target* (None unless ``*.zarr``):
    the file's axes (``t``, ``z``, ``y``, ``x``...) and its unit on the
    spatial axes."""
    if not is_zarr_path(target):
        return None
    letters = image.axes.replace('S', '') if image.rgb else image.axes
    names = [a.lower() for a in letters]
    units = [image.unit if a in 'XYZ' else None for a in letters]
    return StoreOutput(target, axis_names=names, units=units, field=_FIELD)
