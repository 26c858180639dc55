"""How long past runs took, kept across sessions for the poller.

The Runflow engine polls densely only where runs usually end
(:class:`~napari_outpaint._runflow.pacing.RunDurations`). Each process
would otherwise start without that knowledge, so the caching layer keeps
the recent durations in one small JSON file in the cache folder
(``run-durations.json``) and seeds every engine it wraps from it.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from napari_outpaint._io import write_bytes_atomic

__all__ = ['DurationLog']

logger = logging.getLogger(__name__)


class DurationLog:
    """The last *keep* run durations (seconds), per cache namespace.

    Parameters
    ----------
    path : Path
        The JSON file (created on the first :meth:`add`).
    keep : int
        Durations kept per namespace.
    """

    def __init__(self, path: Path, keep: int = 64) -> None:
        self.path = Path(path)
        self.keep = keep
        self._lock = threading.Lock()

    def read(self, namespace: str) -> list[float]:
        """The durations of *namespace*, oldest first ([] if none)."""
        return [
            v
            for v in self._load().get(namespace, [])
            if isinstance(v, int | float) and not isinstance(v, bool)
        ]

    def add(self, namespace: str, seconds: float) -> None:
        """Append one duration; a failed write is only logged."""
        with self._lock:
            data = self._load()
            values = [*data.get(namespace, []), round(float(seconds), 3)]
            data[namespace] = values[-self.keep :]
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_bytes_atomic(self.path, json.dumps(data).encode())
            except OSError as exc:
                logger.info('Run durations not saved (%s).', exc)

    def _load(self) -> dict[str, list]:
        try:
            data = json.loads(self.path.read_text(encoding='utf-8'))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # a hint only: start afresh
            logger.info('Run durations unreadable (%s); starting afresh.', exc)
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            k: v
            for k, v in data.items()
            if isinstance(k, str) and isinstance(v, list)
        }
