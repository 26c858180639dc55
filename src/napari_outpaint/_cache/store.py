"""The paid-result cache: a paid result is never lost, never paid twice.

Every result is written, before it is shown, to a local content-addressed
store in the user cache directory (``platformdirs.user_cache_dir(
'napari-outpaint')``, or ``$NAPARI_OUTPAINT_CACHE_DIR``, or the settings
file's ``cache_dir``). An identical
request is then answered from disk at no cost.

Key
    A hash of the exact 8-bit RGB pixels sent, the expand and the model,
    namespaced by endpoint (:mod:`napari_outpaint._cache.key`): stable
    across processes, machines and releases; a stand-in's results never
    answer a request to the real service.
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
is the entry's last use. After each new entry the results are kept under
a size limit (``$NAPARI_OUTPAINT_CACHE_MAX_BYTES``, else the settings
file's ``cache_max_bytes``, default 2 GiB): the
results used longest ago are evicted first, never the new one; pending
runs (``pending/``) and held inputs (``hosted-inputs/``) are not results
and are never evicted. The limit and what was evicted are logged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from napari_outpaint._cache.durations import DurationLog
from napari_outpaint._cache.entry import CachedResult
from napari_outpaint._cache.hosted import HeldInputs
from napari_outpaint._cache.journal import PendingRun, RunJournal
from napari_outpaint._cache.key import KEY_PATTERN, cache_key
from napari_outpaint._errors import (
    ConfigurationError,
    InvalidInputError,
    ResultError,
)
from napari_outpaint._expand import Expand
from napari_outpaint._io import write_bytes_atomic
from napari_outpaint._secrets import scrub
from napari_outpaint._settings import (
    CACHE_DIR,
    CACHE_MAX_BYTES,
    DEFAULT_MAX_BYTES,
    setting_value,
    settings_path,
)

__all__ = [
    'CACHE_DIR_ENV',
    'DEFAULT_MAX_BYTES',
    'MAX_BYTES_ENV',
    'DamagedEntryError',
    'ResultCache',
    'default_cache_dir',
    'default_max_bytes',
]

logger = logging.getLogger(__name__)

CACHE_DIR_ENV = CACHE_DIR.env  # 'NAPARI_OUTPAINT_CACHE_DIR'
#: Environment variable overriding :data:`DEFAULT_MAX_BYTES` (2 GiB).
MAX_BYTES_ENV = CACHE_MAX_BYTES.env  # 'NAPARI_OUTPAINT_CACHE_MAX_BYTES'
_EXTENSIONS = {
    'image/png': 'png',
    'image/webp': 'webp',
    'image/jpeg': 'jpg',
    'image/tiff': 'tif',
}
_ORPHAN_AGE_S = 3600.0


class DamagedEntryError(ResultError):
    """A cached result exists but is damaged; it was moved aside.

    Attributes
    ----------
    key : str
        The cache key of the request.
    aside : pathlib.Path
        Where the damaged files were kept.
    run_id : str or None
        The run that produced it, when the metadata still says.
    """

    def __init__(self, key: str, aside: Path, run_id: str | None) -> None:
        self.key = key
        self.aside = aside
        collect = (
            f' or collect run {run_id} again with `napari-outpaint collect '
            f'{run_id}` (free while Runflow keeps its output)'
            if run_id
            else ''
        )
        super().__init__(
            f'The cached result of this request ({key[:12]}) is damaged; '
            f'its files were moved to {aside}. Nothing was paid. Run the '
            f'same request again to pay for a new run{collect}.',
            run_id=run_id,
        )


def default_cache_dir() -> Path:
    """``$NAPARI_OUTPAINT_CACHE_DIR``, else the settings file's
    ``cache_dir``, else the platform's user cache dir.

    Raises
    ------
    ConfigurationError
        For a bad ``cache_dir`` in the settings file, naming it.
    """
    folder = setting_value(CACHE_DIR)
    if folder is not None:
        return folder
    return Path(platformdirs.user_cache_dir('napari-outpaint'))


def default_max_bytes() -> int:
    """The cache's size limit: ``$NAPARI_OUTPAINT_CACHE_MAX_BYTES``, else
    the settings file's ``cache_max_bytes``, else
    :data:`DEFAULT_MAX_BYTES` (2 GiB).

    Raises
    ------
    ConfigurationError
        Naming the variable (or the file and the key), when it is not a
        whole number of bytes >= 0.
    """
    return setting_value(CACHE_MAX_BYTES)


def _recorded_run_id(meta: Path) -> str | None:
    """The run id a (possibly damaged) entry's metadata still names."""
    try:
        run_id = json.loads(meta.read_text())['provenance']['run_id']
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return run_id if isinstance(run_id, str) else None


class ResultCache:
    """A content-addressed store of paid results, safe across threads.

    Parameters
    ----------
    root : path-like, optional
        Where to store; default :func:`default_cache_dir`.
    max_bytes : int, optional
        Size limit enforced by :meth:`prune` after every :meth:`put`,
        evicting the least recently used entries; default
        :func:`default_max_bytes` (``$NAPARI_OUTPAINT_CACHE_MAX_BYTES``,
        else the settings file, else 2 GiB).

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
        max_bytes: int | None = None,
    ) -> None:
        if max_bytes is None:
            max_bytes = default_max_bytes()
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
            raise InvalidInputError('max_bytes', 'must be an int of bytes.')
        if max_bytes < 0:
            raise InvalidInputError('max_bytes', 'must be >= 0.')
        self.root = Path(root) if root is not None else default_cache_dir()
        self.max_bytes = max_bytes
        self.journal = RunJournal(self.root / 'pending')
        self.held_inputs = HeldInputs(self.root / 'hosted-inputs')
        self.run_durations = DurationLog(self.root / 'run-durations.json')

    def __repr__(self) -> str:
        return f'ResultCache({str(self.root)!r}, max_bytes={self.max_bytes})'

    def check_writable(self) -> None:
        """Make sure results and pending runs can be stored, before paying.

        Creates the folders and writes (then removes) a probe file in
        each, so a read-only or full location, or a file where a folder
        should be, fails now, before any request is sent, rather than
        after a run was paid.

        Raises
        ------
        ConfigurationError
            Naming ``NAPARI_OUTPAINT_CACHE_DIR``, the folder and the reason.
        """
        for folder in (self.root / 'results', self.journal.root):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                fd, name = tempfile.mkstemp(dir=folder, prefix='.tmp-probe-')
                os.close(fd)
                os.unlink(name)
            except OSError as exc:
                raise ConfigurationError(
                    f'The paid-result cache at {self.root} cannot be written '
                    f'({exc.strerror or type(exc).__name__}: {folder}), so a '
                    'paid result could not be kept; nothing was sent. Set '
                    f'{CACHE_DIR_ENV} (or cache_dir in {settings_path()}, '
                    "the widget's Options) to a folder you can write to."
                ) from exc

    # -- keys ------------------------------------------------------------
    @staticmethod
    def key_for(rgb8: np.ndarray, expand: Expand, model: str) -> str:
        """The key of outpainting *rgb8* by *expand* with *model*.

        *model* is the engine's cache model id
        (:func:`napari_outpaint._cache.key.cache_model_id`), which tells
        apart endpoints serving the same model. See
        :func:`napari_outpaint._cache.key.cache_key`.
        """
        return cache_key(rgb8, expand, model)

    # -- entries ---------------------------------------------------------
    def _paths(self, key: str) -> Path:
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise InvalidInputError(
                'key', f'not a cache key (64 hex digits): {key!r}.'
            )
        return self.root / 'results' / key[:2] / key

    def get(self, key: str) -> CachedResult | None:
        """The entry of *key*, or None; marks it as recently used.

        Raises
        ------
        DamagedEntryError
            When the entry exists but is damaged (unreadable metadata, a
            missing, truncated or altered data file). Its files are moved
            aside to ``damaged/`` first, kept for inspection, so the
            request is never paid again silently: the next identical
            request finds no entry and pays, because the user was told.
        """
        meta = self._paths(key).with_suffix('.json')
        if not meta.exists():
            return None
        entry = CachedResult.load(meta)
        if entry is None or not entry.intact():
            run_id = _recorded_run_id(meta)  # before the files move
            raise DamagedEntryError(key, self._set_aside(key), run_id)
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
        write_bytes_atomic(data_path, raw)
        meta = {
            'key': key,
            'content_type': ctype,
            'file': data_path.name,
            'size': len(raw),
            'sha256': hashlib.sha256(raw).hexdigest(),
            'created_at': time.time(),
            'provenance': scrub(dict(provenance or {})),
        }
        write_bytes_atomic(
            base.with_suffix('.json'), json.dumps(meta).encode()
        )
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
        write_bytes_atomic(meta_path, json.dumps(meta).encode())
        entry = CachedResult.load(meta_path)
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
        found = [CachedResult.load(p) for p in self._meta_files()]
        return sorted(
            (e for e in found if e is not None),
            key=lambda e: e.created_at,
            reverse=True,
        )

    def find_run(self, run_id: str) -> CachedResult | None:
        """The stored result of run *run_id*, whatever its key, or None.

        What makes collecting a run twice free: the result is found by
        the run id its provenance records. Damaged entries do not count.
        """
        for entry in self.entries():
            if (entry.provenance or {}).get('run_id') == run_id and (
                entry.intact()
            ):
                return entry
        return None

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
        evicted: list[str] = []
        freed = 0
        for _, key, size in sorted(sized):
            if total <= limit:
                break
            if key == keep:
                continue
            if self.remove(key):
                evicted.append(key)
                total -= size
                freed += size
        if evicted:
            logger.info(
                'The result cache at %s was over its limit of %d bytes '
                '(%s): evicted the %d result(s) used longest ago (%d '
                'bytes: %s); pending runs and held inputs are kept.',
                self.root,
                limit,
                MAX_BYTES_ENV,
                len(evicted),
                freed,
                ', '.join(k[:12] for k in evicted),
            )
        return len(evicted)

    # -- pending runs ----------------------------------------------------
    def record_pending(
        self, run_id: str, key: str, info: Mapping[str, Any] | None = None
    ) -> PendingRun:
        """Record a submitted run before its first poll (see ``RunJournal``).

        *info* should hold ``expand`` (a dict), ``model``,
        ``cache_namespace`` and ``plane``.
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
    def _set_aside(self, key: str) -> Path:
        """Move the files of a damaged entry to ``damaged/``; return it."""
        base = self._paths(key)
        aside = self.root / 'damaged' / f'{key}-{time.time_ns()}'
        aside.mkdir(parents=True, exist_ok=True)
        for path in base.parent.glob(f'{key}.*'):
            with contextlib.suppress(OSError):
                os.replace(path, aside / path.name)
        return aside

    def _meta_files(self) -> list[Path]:
        results = self.root / 'results'
        if not results.is_dir():
            return []
        return [
            p for p in results.glob('??/*.json') if KEY_PATTERN.match(p.stem)
        ]

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
