"""A journal of runs submitted but not yet collected.

A run id is written here *before* the first poll, so that a crash, a
timeout or a closed laptop never loses a run that may be billed: it can be
collected later with ``napari-outpaint collect RUN_ID`` (or
:func:`napari_outpaint._cache.engine.collect_run`) while Runflow still serves
the output. One small JSON file per run, written atomically; resolving a
run deletes its file. A record that cannot be read is never taken as
absent (which would pay for the run again): it is moved to ``damaged/``
beside the journal and reported with :class:`DamagedRecordError`.
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

from napari_outpaint._errors import InvalidInputError, OutpaintError
from napari_outpaint._io import write_bytes_atomic
from napari_outpaint._secrets import scrub

__all__ = ['DamagedRecordError', 'PendingRun', 'RunJournal']


class DamagedRecordError(OutpaintError):
    """Pending-run records could not be read; they were moved aside.

    Each may describe a run that was paid and never collected, so it is
    reported rather than skipped: skipping it could pay for the same
    request again. Once moved aside, the next call goes on.

    Attributes
    ----------
    aside : list of pathlib.Path
        Where the damaged records were kept.
    """

    def __init__(self, aside: list[Path]) -> None:
        self.aside = list(aside)
        where = ', '.join(str(p) for p in self.aside)
        super().__init__(
            f'{len(self.aside)} record(s) of submitted runs could not be '
            f'read and were moved aside to {where}; nothing was paid for '
            'this request. A record may name a paid run that was never '
            'collected: look in it for a run id and collect it with '
            '`napari-outpaint collect RUN_ID`. Run the same request again '
            'to go on.'
        )


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

    @property
    def damaged_root(self) -> Path:
        """Where damaged records are moved (``damaged/`` beside the root)."""
        return self.root.parent / 'damaged'

    def get(self, run_id: str) -> PendingRun | None:
        """The pending entry of *run_id*, or None.

        Raises
        ------
        DamagedRecordError
            When its record exists but cannot be read (moved aside).
        """
        path = self._path(run_id)
        if not path.exists():
            return None
        entry = self._load(path)
        if entry is None:
            raise DamagedRecordError([self._set_aside(path)])
        return entry

    def pending(self) -> list[PendingRun]:
        """Every pending run, oldest first.

        Raises
        ------
        DamagedRecordError
            When some records cannot be read: all of them are moved aside
            first, so the next call lists the others.
        """
        if not self.root.is_dir():
            return []
        found, damaged = [], []
        for path in self.root.glob('*.json'):
            if path.name.startswith('.'):  # a record being written
                continue
            entry = self._load(path)
            if entry is not None:
                found.append(entry)
            elif path.exists():  # not resolved meanwhile: unreadable
                damaged.append(self._set_aside(path))
        if damaged:
            raise DamagedRecordError(damaged)
        return sorted(found, key=lambda p: p.created_at)

    def resolve(self, run_id: str) -> bool:
        """Forget *run_id* (collected, or given up); True if it was known."""
        path = self._path(run_id)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    def _set_aside(self, path: Path) -> Path:
        aside = self.damaged_root / f'pending-{path.stem}-{time.time_ns()}'
        aside = aside.with_suffix('.json')
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, aside)
        return aside

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
