"""The paid-result cache: a paid result is never lost, never paid twice.

Every result is written, before it is shown, to a local content-addressed
store in the user cache directory (``platformdirs.user_cache_dir(
'napari-outpaint')``, or ``$NAPARI_OUTPAINT_CACHE_DIR``). An identical
request is then answered from disk at no cost.

Key
    ``sha256`` over a version tag, the canonical JSON of ``{shape, dtype,
    expand, model}`` and the raw bytes of the C-contiguous ``(rows, cols,
    3)`` uint8 RGB plane that is sent to the engine. These are exactly the
    uploaded pixels (the PNG encoding is lossless), and unlike the PNG
    bytes they do not depend on the Pillow version or compression level,
    so the key is stable across processes, machines and releases.
Value
    The returned image exactly as downloaded (raw bytes + media type) and
    its provenance JSON, scrubbed of secrets and presigned query strings.

Layout under the root::

    results/<k[:2]>/<k>.<ext>   the raw bytes
    results/<k[:2]>/<k>.json    media type, size, sha256, created_at,
                                provenance; written last, so an entry
                                exists only once both files are complete
    pending/<h>.json            runs submitted but not yet collected

Writes are atomic (temp file + ``os.replace``). The ``.json`` file's mtime
is the entry's last use, for least-recently-used eviction.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_outpaint._errors import InvalidInputError, ResultError
from napari_outpaint._journal import (
    PendingRun,
    RunJournal,
    atomic_write,
    scrub,
)

if TYPE_CHECKING:
    from napari_outpaint._expand import Expand
    from napari_outpaint._progress import CancelToken, ProgressCallback
    from napari_outpaint.engines._base import EngineResult

__all__ = [
    'CACHE_DIR_ENV',
    'DEFAULT_MAX_BYTES',
    'CachedResult',
    'PendingRun',
    'ResultCache',
    'collect_run',
    'raw_bytes_of',
    'result_provenance',
    'store_result',
    'default_cache_dir',
]

CACHE_DIR_ENV = 'NAPARI_OUTPAINT_CACHE_DIR'
DEFAULT_MAX_BYTES = 2 * 1024**3
_KEY_VERSION = b'napari-outpaint/result-cache/v1\0'
_KEY = re.compile(r'^[0-9a-f]{64}$')
_EXTENSIONS = {
    'image/png': 'png',
    'image/webp': 'webp',
    'image/jpeg': 'jpg',
    'image/tiff': 'tif',
}
_ORPHAN_AGE_S = 3600.0


def default_cache_dir() -> Path:
    """``$NAPARI_OUTPAINT_CACHE_DIR``, else the platform's user cache dir."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir('napari-outpaint'))


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

    @property
    def raw(self) -> bytes:
        """The result exactly as downloaded."""
        return self.path.read_bytes()

    def image(self) -> np.ndarray:
        """The result decoded to ``(rows, cols, 3)`` uint8 RGB."""
        from PIL import Image, UnidentifiedImageError

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
        from napari_outpaint.engines._base import EngineResult

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


class ResultCache:
    """A content-addressed store of paid results, safe across threads.

    Parameters
    ----------
    root : path-like, optional
        Where to store; default :func:`default_cache_dir`.
    max_bytes : int, optional
        Size limit enforced by :meth:`prune` after every :meth:`put`,
        evicting the least recently used entries (default 2 GiB).

    Examples
    --------
    >>> cache = ResultCache()                                # doctest: +SKIP
    >>> key = cache.key_for(rgb8, Expand(10, 0, 0, 0), 'runflow/outpaint')
    >>> hit = cache.get(key)  # None, or a CachedResult
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
            raise InvalidInputError('max_bytes', 'must be an int of bytes.')
        if max_bytes < 0:
            raise InvalidInputError('max_bytes', 'must be >= 0.')
        self.root = Path(root) if root is not None else default_cache_dir()
        self.max_bytes = max_bytes
        self.journal = RunJournal(self.root / 'pending')

    def __repr__(self) -> str:
        return f'ResultCache({str(self.root)!r}, max_bytes={self.max_bytes})'

    # -- keys ------------------------------------------------------------
    @staticmethod
    def key_for(rgb8: np.ndarray, expand: Expand, model: str) -> str:
        """The cache key of outpainting *rgb8* by *expand* with *model*.

        Parameters
        ----------
        rgb8 : numpy.ndarray
            The ``(rows, cols, 3)`` uint8 RGB plane sent to the engine.
        expand : Expand
            The four percentages.
        model : str
            The engine's model, e.g. ``'runflow/outpaint'``.
        """
        arr = np.asarray(rgb8)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise InvalidInputError(
                'rgb8',
                f'expected a (rows, cols, 3) uint8 array, got shape '
                f'{arr.shape} {arr.dtype}.',
            )
        head = json.dumps(
            {
                'shape': list(arr.shape),
                'dtype': 'uint8',
                'expand': expand.as_dict(),
                'model': str(model),
            },
            sort_keys=True,
        )
        digest = hashlib.sha256(_KEY_VERSION)
        digest.update(head.encode())
        digest.update(b'\0')
        digest.update(np.ascontiguousarray(arr).data)
        return digest.hexdigest()

    # -- entries ---------------------------------------------------------
    def _paths(self, key: str) -> Path:
        if not isinstance(key, str) or not _KEY.match(key):
            raise InvalidInputError(
                'key', f'not a cache key (64 hex digits): {key!r}.'
            )
        return self.root / 'results' / key[:2] / key

    def get(self, key: str) -> CachedResult | None:
        """The entry of *key*, or None; marks it as recently used."""
        meta = self._paths(key).with_suffix('.json')
        entry = self._load(meta)
        if entry is None:
            return None
        with contextlib.suppress(OSError):
            os.utime(meta)
        return entry

    def put(
        self,
        key: str,
        raw: bytes,
        content_type: str,
        provenance: Mapping[str, Any] | None = None,
    ) -> CachedResult:
        """Store a result; the entry exists once this returns.

        Parameters
        ----------
        key : str
            From :meth:`key_for`.
        raw : bytes
            The result exactly as downloaded.
        content_type : str
            Its media type, e.g. ``'image/png'``.
        provenance : mapping, optional
            JSON-able provenance; secrets and presigned query strings are
            removed before it is written.
        """
        base = self._paths(key)
        if not isinstance(raw, bytes | bytearray | memoryview) or not raw:
            raise InvalidInputError('raw', 'must be non-empty bytes.')
        raw = bytes(raw)
        ctype = (content_type or 'application/octet-stream').split(';')[0]
        ctype = ctype.strip().lower()
        ext = _EXTENSIONS.get(ctype, 'bin')
        data_path = base.with_suffix(f'.{ext}')
        atomic_write(data_path, raw)
        meta = {
            'key': key,
            'content_type': ctype,
            'file': data_path.name,
            'size': len(raw),
            'sha256': hashlib.sha256(raw).hexdigest(),
            'created_at': time.time(),
            'provenance': scrub(dict(provenance or {})),
        }
        atomic_write(base.with_suffix('.json'), json.dumps(meta).encode())
        self.prune(keep=key)
        return CachedResult(
            key=key,
            content_type=ctype,
            provenance=meta['provenance'],
            created_at=meta['created_at'],
            size=len(raw),
            path=data_path,
            sha256=meta['sha256'],
        )

    def update_provenance(
        self, key: str, provenance: Mapping[str, Any]
    ) -> CachedResult:
        """Replace the provenance of an existing entry (e.g. once placed)."""
        meta_path = self._paths(key).with_suffix('.json')
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidInputError(
                'key', f'no cache entry {key[:12]} to update.'
            ) from exc
        meta['provenance'] = scrub(dict(provenance))
        atomic_write(meta_path, json.dumps(meta).encode())
        entry = self._load(meta_path)
        assert entry is not None
        return entry

    def remove(self, key: str) -> bool:
        """Delete one entry; True if it existed."""
        base = self._paths(key)
        meta = base.with_suffix('.json')
        existed = meta.exists()
        meta.unlink(missing_ok=True)  # uncommit first
        for path in base.parent.glob(f'{key}.*'):
            path.unlink(missing_ok=True)
        return existed

    def entries(self) -> list[CachedResult]:
        """Every entry, newest first."""
        found = [self._load(p) for p in self._meta_files()]
        return sorted(
            (e for e in found if e is not None),
            key=lambda e: e.created_at,
            reverse=True,
        )

    def clear(self) -> int:
        """Delete every cached result; pending runs are kept.

        Returns
        -------
        int
            The number of entries deleted.
        """
        count = 0
        for meta in self._meta_files():
            count += self.remove(meta.stem)
        results = self.root / 'results'
        if results.is_dir():
            for path in results.rglob('*'):
                if path.is_file():
                    path.unlink(missing_ok=True)
        return count

    def total_bytes(self) -> int:
        """Bytes used by cached results (data and metadata)."""
        results = self.root / 'results'
        if not results.is_dir():
            return 0
        total = 0
        for path in results.rglob('*'):
            try:
                if path.is_file():
                    total += path.stat().st_size
            except OSError:
                continue
        return total

    def prune(
        self, max_bytes: int | None = None, *, keep: str | None = None
    ) -> int:
        """Evict least recently used entries until within the size limit.

        Parameters
        ----------
        max_bytes : int, optional
            The limit; default ``self.max_bytes``.
        keep : str, optional
            A key never evicted (the one just stored), even when it alone
            exceeds the limit.

        Returns
        -------
        int
            The number of entries evicted.
        """
        limit = self.max_bytes if max_bytes is None else max_bytes
        self._drop_orphans()
        sized = []
        total = 0
        for meta in self._meta_files():
            try:
                stat = meta.stat()
                body = json.loads(meta.read_text())
                size = stat.st_size + int(body['size'])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            total += size
            sized.append((stat.st_mtime, meta.stem, size))
        evicted = 0
        for _, key, size in sorted(sized):
            if total <= limit:
                break
            if key == keep:
                continue
            if self.remove(key):
                evicted += 1
                total -= size
        return evicted

    # -- pending runs ----------------------------------------------------
    def record_pending(
        self, run_id: str, key: str, info: Mapping[str, Any] | None = None
    ) -> PendingRun:
        """Record a submitted run before its first poll (see ``RunJournal``).

        *info* should hold ``expand`` (a dict), ``model`` and ``plane``.
        """
        self._paths(key)  # validates the key
        return self.journal.record(run_id, key, info)

    def pending(self) -> list[PendingRun]:
        """Runs submitted but not yet collected, oldest first."""
        return self.journal.pending()

    def resolve(self, run_id: str) -> bool:
        """Forget a pending run (collected or abandoned)."""
        return self.journal.resolve(run_id)

    # -- internals -------------------------------------------------------
    def _meta_files(self) -> list[Path]:
        results = self.root / 'results'
        if not results.is_dir():
            return []
        return [p for p in results.glob('??/*.json') if _KEY.match(p.stem)]

    def _drop_orphans(self) -> None:
        """Remove data files and temp files left by a crash mid-write."""
        results = self.root / 'results'
        if not results.is_dir():
            return
        cutoff = time.time() - _ORPHAN_AGE_S
        for path in results.glob('??/*'):
            try:
                stem = path.name.split('.')[0]
                committed = path.with_name(f'{stem}.json').exists()
                is_temp = path.name.startswith('.tmp-')
                if (is_temp or not committed) and (
                    path.stat().st_mtime < cutoff
                ):
                    path.unlink(missing_ok=True)
            except OSError:
                continue

    @staticmethod
    def _load(meta_path: Path) -> CachedResult | None:
        try:
            body = json.loads(meta_path.read_text())
            data_path = meta_path.with_name(body['file'])
            size = int(body['size'])
            if data_path.stat().st_size != size:
                return None
            return CachedResult(
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


def encode_png(rgb8: np.ndarray) -> bytes:
    """Lossless PNG bytes of an RGB uint8 image (for engines without raw)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb8)).save(buf, format='PNG')
    return buf.getvalue()


def result_provenance(
    result: EngineResult, expand: Expand | None = None, **extra: Any
) -> dict[str, Any]:
    """The engine-level provenance stored with a cached result."""
    prov: dict[str, Any] = {
        'engine': result.engine,
        'model': result.model,
        'run_id': result.run_id,
        'seed': result.seed,
        'cost_usd': result.cost_usd,
        'timings': dict(result.timings),
        'output_shape': list(result.image.shape),
        'details': dict(result.details),
    }
    if expand is not None:
        prov['expand'] = expand.as_dict()
    prov.update(extra)
    return prov


def raw_bytes_of(result: EngineResult) -> tuple[bytes, str]:
    """``(raw, content_type)`` of a result: as downloaded, else a PNG."""
    if result.raw:
        return bytes(result.raw), result.raw_content_type or 'image/png'
    return encode_png(result.image), 'image/png'


def store_result(
    cache: ResultCache,
    key: str,
    result: EngineResult,
    expand: Expand | None = None,
    **extra: Any,
) -> CachedResult:
    """Store an engine result under *key* with its provenance."""
    raw, ctype = raw_bytes_of(result)
    return cache.put(
        key, raw, ctype, result_provenance(result, expand, **extra)
    )


def collect_run(
    run_id: str,
    *,
    engine: Any = None,
    cache: ResultCache | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> CachedResult:
    """Download a run submitted earlier and store it in the cache.

    The Python equivalent of ``napari-outpaint collect RUN_ID``. When the
    run is in the pending journal its result is stored under the request's
    key (so an identical request is answered from the cache) and the run
    is resolved; otherwise under a key derived from the run id.

    Parameters
    ----------
    run_id : str
        The remote run id.
    engine : RunflowEngine, optional
        An engine with ``collect(run_id, progress=, cancel=)``; default a
        ``RunflowEngine()`` configured from the environment.
    cache : ResultCache, optional
        Default ``ResultCache()``.
    progress, cancel
        As for ``Engine.outpaint``.
    """
    if not isinstance(run_id, str) or not run_id.strip():
        raise InvalidInputError('run_id', 'must be a non-empty run id.')
    cache = cache if cache is not None else ResultCache()
    pending = cache.journal.get(run_id)
    if engine is None:
        from napari_outpaint.engines.runflow import RunflowEngine

        engine = RunflowEngine()
    result = engine.collect(run_id, progress=progress, cancel=cancel)
    if pending is not None:
        key = pending.key
    else:
        key = hashlib.sha256(b'run:' + run_id.encode()).hexdigest()
    prov = result_provenance(result)
    prov.update(pending.info if pending is not None else {})
    prov['collected'] = True
    raw, ctype = raw_bytes_of(result)
    entry = cache.put(key, raw, ctype, prov)
    cache.resolve(run_id)
    return entry
