"""Hosted inputs kept for runs that may still read them, until they end.

A run that is still queued or running when the client stops waiting (a
timeout, a cancel, Ctrl-C) still needs its ``image_url``: deleting the
hosted input then would make it fail with ``INPUT_FETCH_FAILED``, and
"collect it later" could never work. So the engine keeps it, and the
asset is recorded here, as is one whose ``DELETE`` failed. The next
``collect``, run or ``history`` (in any process) calls
:func:`release_held_inputs`, which deletes each asset once its run is
over, and keeps the record when the run is not over or the delete fails
(to try again next time). One small JSON file per asset.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from napari_outpaint._errors import OutpaintError
from napari_outpaint._io import write_bytes_atomic

__all__ = ['HeldInput', 'HeldInputs', 'InputReleaser', 'release_held_inputs']

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeldInput:
    """A hosted input kept for a run.

    Attributes
    ----------
    asset_id : str
        The host's id of the published image (a Runflow asset).
    run_id : str
        The run that may still read it.
    namespace : str
        The endpoint it lives at (the engine's ``cache_namespace``).
    created_at : float
        When it was recorded (seconds since the epoch).
    """

    asset_id: str
    run_id: str
    namespace: str
    created_at: float = 0.0


class InputReleaser(Protocol):
    """An engine that can delete a hosted input once its run is over."""

    @property
    def cache_namespace(self) -> str: ...

    def release_input(self, asset_id: str, run_id: str) -> bool:
        """Delete *asset_id* if *run_id* is over; True once it is gone."""
        ...


class HeldInputs:
    """Held hosted inputs, one JSON file each under *root*."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, asset_id: str) -> Path:
        digest = hashlib.sha256(asset_id.encode()).hexdigest()[:32]
        return self.root / f'{digest}.json'

    def hold(self, asset_id: str, run_id: str, namespace: str) -> HeldInput:
        """Record *asset_id*, kept for *run_id* at *namespace*."""
        held = HeldInput(asset_id, run_id, namespace, time.time())
        write_bytes_atomic(
            self._path(asset_id), json.dumps(asdict(held)).encode()
        )
        return held

    def held(self) -> list[HeldInput]:
        """Every held input, oldest first (unreadable records skipped)."""
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.glob('*.json'):
            if path.name.startswith('.'):
                continue
            held = _load(path)
            if held is None:
                logger.warning(
                    'Skipping an unreadable record of a hosted input: %s '
                    '(delete that Runflow asset by hand if it remains).',
                    path,
                )
                continue
            found.append(held)
        return sorted(found, key=lambda h: h.created_at)

    def release(self, asset_id: str) -> bool:
        """Forget *asset_id* (it is deleted); True if it was held."""
        path = self._path(asset_id)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed


def release_held_inputs(held: HeldInputs, engine: Any) -> list[str]:
    """Delete the held inputs of *engine*'s endpoint whose runs are over.

    Never raises for the service's troubles: an input that cannot be
    deleted now stays held, to be tried again next time.

    Returns
    -------
    list of str
        The asset ids deleted (or found already gone).
    """
    release = getattr(engine, 'release_input', None)
    namespace = getattr(engine, 'cache_namespace', None)
    if release is None or namespace is None:
        return []
    released = []
    for record in held.held():
        if record.namespace != namespace:
            continue
        try:
            gone = release(record.asset_id, record.run_id)
        except OutpaintError as exc:
            logger.info(
                'Could not release hosted input %s of run %s yet (%s).',
                record.asset_id,
                record.run_id,
                type(exc).__name__,
            )
            continue
        if gone:
            held.release(record.asset_id)
            released.append(record.asset_id)
    return released


def _load(path: Path) -> HeldInput | None:
    try:
        body = json.loads(path.read_text())
        return HeldInput(
            asset_id=str(body['asset_id']),
            run_id=str(body['run_id']),
            namespace=str(body['namespace']),
            created_at=float(body.get('created_at', 0.0)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
