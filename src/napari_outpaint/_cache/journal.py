"""A journal of runs submitted but not yet collected.

A run id is written here *before* the first poll, so that a crash, a
timeout or a closed laptop never loses a run that may be billed: it can be
collected later with ``napari-outpaint collect RUN_ID`` (or
:func:`napari_outpaint._cache.engine.collect_run`) while Runflow still serves
the output. One small JSON file per run, written atomically; resolving a
run deletes its file.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from napari_outpaint._errors import InvalidInputError
from napari_outpaint._io import write_bytes_atomic
from napari_outpaint._secrets import scrub

__all__ = ['PendingRun', 'RunJournal']


@dataclass(frozen=True)
class PendingRun:
    """A run that was submitted and not yet collected.

    Attributes
    ----------
    run_id : str
        The remote run id.
    key : str
        The cache key its result will be stored under.
    created_at : float
        When it was recorded (seconds since the epoch).
    info : dict
        What else was recorded: ``expand``, ``model``, ``plane``, ...
    """

    run_id: str
    key: str
    created_at: float
    info: dict[str, Any] = field(default_factory=dict)


class RunJournal:
    """Pending runs, one JSON file each under *root*.

    Parameters
    ----------
    root : path-like
        The directory of the journal (created on first write).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, run_id: str) -> Path:
        digest = hashlib.sha256(run_id.encode()).hexdigest()[:32]
        return self.root / f'{digest}.json'

    def record(
        self,
        run_id: str,
        key: str,
        info: Mapping[str, Any] | None = None,
    ) -> PendingRun:
        """Record *run_id* as submitted; call before the first poll.

        Parameters
        ----------
        run_id : str
            The remote run id.
        key : str
            The cache key of the request (see ``ResultCache.key_for``).
        info : mapping, optional
            JSON-able details, e.g. ``expand``, ``model``, ``plane``. They
            are scrubbed of secrets and presigned query strings.
        """
        if not isinstance(run_id, str) or not run_id:
            raise InvalidInputError('run_id', 'must be a non-empty string.')
        entry = PendingRun(
            run_id=run_id,
            key=key,
            created_at=time.time(),
            info=scrub(dict(info or {})),
        )
        body = {
            'run_id': entry.run_id,
            'key': entry.key,
            'created_at': entry.created_at,
            'info': entry.info,
        }
        write_bytes_atomic(self._path(run_id), json.dumps(body).encode())
        return entry

    def get(self, run_id: str) -> PendingRun | None:
        """The pending entry of *run_id*, or None."""
        return self._load(self._path(run_id))

    def pending(self) -> list[PendingRun]:
        """Every pending run, oldest first."""
        if not self.root.is_dir():
            return []
        found = [self._load(p) for p in self.root.glob('*.json')]
        return sorted(
            (p for p in found if p is not None), key=lambda p: p.created_at
        )

    def resolve(self, run_id: str) -> bool:
        """Forget *run_id* (collected, or given up); True if it was known."""
        path = self._path(run_id)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    @staticmethod
    def _load(path: Path) -> PendingRun | None:
        try:
            body = json.loads(path.read_text())
            return PendingRun(
                run_id=body['run_id'],
                key=body['key'],
                created_at=float(body['created_at']),
                info=dict(body.get('info') or {}),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
