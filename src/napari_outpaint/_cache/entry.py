"""One entry of the paid-result cache: its raw bytes, image and provenance."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from napari_outpaint._errors import ResultError
from napari_outpaint.engines import EngineResult

__all__ = ['CachedResult']


@dataclass(frozen=True)
class CachedResult:
    """One cached result.

    Attributes
    ----------
    key : str
        The cache key (64 hex digits).
    content_type : str
        The media type of the raw bytes, as downloaded.
    provenance : dict
        JSON provenance (engine, model, run_id, seed, cost, expand, ...).
    created_at : float
        When it was stored (seconds since the epoch).
    size : int
        Bytes of the raw result.
    path : pathlib.Path
        The file that holds the raw bytes.
    """

    key: str
    content_type: str
    provenance: dict[str, Any]
    created_at: float
    size: int
    path: Path
    sha256: str = field(default='', repr=False)

    @classmethod
    def load(cls, meta_path: Path) -> CachedResult | None:
        """The entry described by a ``<key>.json`` file, or None.

        None when the file or its data file is missing, unreadable or of
        the wrong size (an entry is complete only once both are written).
        """
        try:
            body = json.loads(meta_path.read_text())
            data_path = meta_path.with_name(body['file'])
            size = int(body['size'])
            if data_path.stat().st_size != size:
                return None
            return cls(
                key=body['key'],
                content_type=body['content_type'],
                provenance=dict(body.get('provenance') or {}),
                created_at=float(body['created_at']),
                size=size,
                path=data_path,
                sha256=body.get('sha256', ''),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def intact(self) -> bool:
        """Whether the data file still holds the bytes that were stored
        (its SHA-256 matches; entries without one are trusted)."""
        if not self.sha256:
            return True
        try:
            return hashlib.sha256(self.raw).hexdigest() == self.sha256
        except OSError:
            return False

    @property
    def raw(self) -> bytes:
        """The result exactly as downloaded."""
        return self.path.read_bytes()

    def image(self) -> np.ndarray:
        """The result decoded to ``(rows, cols, 3)`` uint8 RGB."""
        try:
            with Image.open(io.BytesIO(self.raw)) as img:
                return np.asarray(img.convert('RGB'))
        except (UnidentifiedImageError, OSError) as exc:
            raise ResultError(
                f'The cached result {self.key[:12]} at {self.path} is not a '
                'readable image; delete it with ResultCache.remove() or '
                '`napari-outpaint history --clear`.',
                run_id=self.provenance.get('run_id'),
            ) from exc

    def to_engine_result(self) -> EngineResult:
        """This result as an ``EngineResult`` that cost nothing.

        ``details`` holds ``cached=True``, the ``cache_key`` and the
        ``original_cost_usd`` of the run that produced it.
        """
        prov = self.provenance
        return EngineResult(
            image=self.image(),
            engine=str(prov.get('engine', 'unknown')),
            model=str(prov.get('model', 'unknown')),
            run_id=prov.get('run_id'),
            seed=prov.get('seed'),
            cost_usd=0.0,
            timings={},
            raw=self.raw,
            raw_content_type=self.content_type,
            details={
                'cached': True,
                'cache_key': self.key,
                'original_cost_usd': prov.get('cost_usd'),
            },
        )
