"""Writing files so that readers never see a partial one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ['write_atomic', 'write_bytes_atomic']


def write_atomic(
    path: str | os.PathLike[str], write: Callable[[Path], Any]
) -> Path:
    """Write *path* through a temporary sibling, then rename it into place.

    Parameters
    ----------
    path : path-like
        The file to (re)place; its folder is created when missing.
    write : callable
        ``write(tmp_path)`` writes the content to the temporary path (it
        has the same suffix as *path*, for writers that go by it).

    Readers see either the old file or the complete new one, never a
    partial write: the content is flushed to disk before the rename, and
    the temporary file is removed whatever happens.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        dir=path.parent, prefix='.tmp-', suffix=path.suffix
    )
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, 'rb+') as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write *data* to *path* atomically (see :func:`write_atomic`)."""
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))
