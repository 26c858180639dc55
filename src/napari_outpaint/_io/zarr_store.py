"""A batch result as an OME-Zarr store, written plane by plane.

Layout (zarr v3, OME-NGFF 0.5)::

    result.zarr/                       group; attributes:
        ome                            NGFF 0.5 multiscales: axes (names,
                                       types, units) and the scale and
                                       translation that place the result
        napari_outpaint                what the store was made from
                                       (identity), which planes are
                                       complete (planes_done), the first
                                       plane's placement, the layer style
                                       and the batch provenance
    result.zarr/0                      the result: the selection's
                                       non-spatial axes, then the expanded
                                       plane (+ colour); one chunk a plane
    result.zarr/labels                 NGFF labels group: ["generated"]
    result.zarr/labels/generated/0     uint8 label image, 1 = generated
                                       pixel; one chunk a plane

A plane is complete only once it is listed in ``planes_done``, which is
written after its image and mask chunks (zarr writes each file
atomically): a plane half-written by an interrupted batch is not listed,
so a re-run writes it again.

NGFF 0.5 (zarr v3) rather than 0.4 (zarr v2): zarr-python 3 writes v3
natively, with ``dimension_names``; 0.5 is ome-zarr-py's current format
and napari-ome-zarr reads it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import zarr
import zarr.errors

from napari_outpaint._errors import InvalidInputError
from napari_outpaint._version import __version__

__all__ = [
    'IMAGE_PATH',
    'MASK_PATH',
    'NGFF_VERSION',
    'STORE_KEY',
    'ResultStore',
    'check_store_path',
    'is_result_store',
    'is_zarr_path',
    'ome_axes',
    'read_store_attrs',
]

#: The attribute napari-outpaint keeps its own record under.
STORE_KEY = 'napari_outpaint'
NGFF_VERSION = '0.5'
IMAGE_PATH = '0'
MASK_GROUP = 'labels/generated'
MASK_PATH = f'{MASK_GROUP}/0'
ZARR_SUFFIX = '.zarr'

# NGFF units (UDUNITS-2 names) for the short names people and files use
_UNIT_NAMES = {
    'µm': 'micrometer',
    'μm': 'micrometer',
    'um': 'micrometer',
    'micron': 'micrometer',
    'nm': 'nanometer',
    'mm': 'millimeter',
    'cm': 'centimeter',
    'm': 'meter',
    'Å': 'angstrom',
    's': 'second',
    'ms': 'millisecond',
    'min': 'minute',
    'h': 'hour',
}
_TIME_NAMES = {'t', 'time'}
_CHANNEL_NAMES = {'c', 'ch', 'channel'}
_SPACE_NAMES = {'z', 'y', 'x'}


def is_zarr_path(path: str | os.PathLike[str]) -> bool:
    """Whether *path* names a zarr store (``*.zarr``)."""
    return str(path).rstrip('/\\').lower().endswith(ZARR_SUFFIX)


def read_store_attrs(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``napari_outpaint`` attributes of the store at *path*, or None
    when *path* is not a zarr group that napari-outpaint wrote."""
    path = Path(path)
    if not (path / 'zarr.json').is_file():
        return None
    try:
        group = zarr.open_group(str(path), mode='r')
    except (zarr.errors.ContainsArrayError, ValueError, OSError):
        return None
    except zarr.errors.GroupNotFoundError:
        return None
    record = group.attrs.get(STORE_KEY)
    return dict(record) if isinstance(record, Mapping) else None


def is_result_store(path: str | os.PathLike[str]) -> bool:
    """Whether *path* is a result store napari-outpaint wrote."""
    return read_store_attrs(path) is not None


def ome_axes(
    names: Sequence[str],
    units: Sequence[str | None],
    *,
    rgb: bool = False,
) -> list[dict[str, str]]:
    """NGFF ``axes`` for a layer's axes (and a trailing colour axis).

    The last two layer axes are space; a leading axis named ``t``/``time``
    is time, ``c``/``channel`` channel, ``z`` space; other leading axes
    get no type (allowed by NGFF). Units are NGFF names (``micrometer``);
    ``pixel`` and unknown units are left out.
    """
    n = len(names)
    axes = []
    for i, (name, unit) in enumerate(zip(names, units, strict=True)):
        key = str(name).lower()
        axis = {'name': str(name)}
        if i >= n - 2 or key in _SPACE_NAMES:
            axis['type'] = 'space'
        elif key in _TIME_NAMES:
            axis['type'] = 'time'
        elif key in _CHANNEL_NAMES:
            axis['type'] = 'channel'
        ngff_unit = _ngff_unit(unit)
        if ngff_unit is not None:
            axis['unit'] = ngff_unit
        axes.append(axis)
    if rgb:
        axes.append({'name': 'rgb', 'type': 'channel'})
    return axes


def _ngff_unit(unit: str | None) -> str | None:
    if unit is None:
        return None
    text = str(unit).strip()
    if not text or text in ('pixel', 'px', 'dimensionless'):
        return None
    return _UNIT_NAMES.get(text, text)


class ResultStore:
    """An OME-Zarr result store a batch fills plane by plane.

    Open it with :meth:`open_for_batch`, which checks everything before
    any run; write with :meth:`write_plane`; read it back lazily with
    :meth:`image` and :meth:`mask` (dask arrays over the store).
    """

    def __init__(
        self,
        path: Path,
        group: zarr.Group | None,
        *,
        record: Mapping[str, Any] | None = None,
        field: str = 'output',
    ) -> None:
        self.path = path
        self._group = group
        self._field = field
        self._lock = threading.Lock()
        self._create_lock = threading.Lock()
        self._record: dict[str, Any] = dict(
            record
            if record is not None
            else (group.attrs.get(STORE_KEY) if group is not None else None)
            or {}
        )

    @property
    def group(self) -> zarr.Group:
        """The zarr group; a new store is created on its first write, so
        a batch refused or declined before any run leaves nothing."""
        with self._create_lock:
            if self._group is None:
                try:
                    group = zarr.open_group(str(self.path), mode='w-')
                    group.attrs[STORE_KEY] = self._record
                except OSError as exc:
                    raise InvalidInputError(
                        self._field,
                        f'cannot write {self.path} ({exc.strerror or exc}); '
                        'choose a writable folder.',
                    ) from exc
                self._group = group
            return self._group

    # ------------------------------------------------------------ opening
    @classmethod
    def open_for_batch(
        cls,
        path: str | os.PathLike[str],
        identity: Mapping[str, Any],
        *,
        field: str = 'output',
    ) -> ResultStore:
        """Open the store at *path* to resume a batch, or prepare a new
        one (created on its first write).

        Parameters
        ----------
        path : path-like
            ``*.zarr``.
        identity : mapping
            What the result is made from (source, expansion, engine,
            selection); JSON-able. A store made from another identity is
            refused.
        field : str
            The argument named in errors (``output``, ``--output``).

        Raises
        ------
        InvalidInputError
            Naming *field*: a path that is not ``*.zarr``, exists and is
            not a napari-outpaint store, holds the result of another
            source, expansion or engine (the first field that differs),
            or cannot be written. Raised before any run.
        """
        path = Path(path)
        wanted = _jsonable(dict(identity))
        record = check_store_path(path, field=field)
        if record is not None:
            _check_identity(path, record.get('identity') or {}, wanted, field)
            group = zarr.open_group(str(path), mode='r+')
            return cls(path, group)
        record = {
            'version': __version__,
            'identity': wanted,
            'planes_done': [],
        }
        return cls(path, None, record=record, field=field)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> ResultStore:
        """Open a written store to read it (see :meth:`image`)."""
        path = Path(path)
        if read_store_attrs(path) is None:
            raise InvalidInputError(
                'path',
                f'{path} is not a napari-outpaint result store; open it '
                "with napari's own reader (or napari-ome-zarr).",
            )
        return cls(path, zarr.open_group(str(path), mode='r'))

    # ------------------------------------------------------------- record
    @property
    def record(self) -> dict[str, Any]:
        """The store's ``napari_outpaint`` attributes (a copy)."""
        with self._lock:
            return dict(self._record)

    def done(self) -> set[tuple[int, ...]]:
        """The planes whose image and mask are complete in the store."""
        with self._lock:
            return {tuple(p) for p in self._record.get('planes_done', [])}

    def update_record(self, **values: Any) -> None:
        """Set keys of the ``napari_outpaint`` attributes (written now)."""
        with self._lock:
            self._record.update(_jsonable(values))
            self._write_record()

    def _write_record(self) -> None:
        self.group.attrs[STORE_KEY] = self._record

    # ------------------------------------------------------------- arrays
    @property
    def has_arrays(self) -> bool:
        """Whether the image and mask arrays exist (a plane was written)."""
        group = self._group
        return (
            group is not None and IMAGE_PATH in group and MASK_GROUP in group
        )

    def create_arrays(
        self,
        shape: Sequence[int],
        dtype: Any,
        *,
        n_lead: int,
        rgb: bool,
    ) -> None:
        """Create the image and mask arrays, one chunk per plane."""
        shape = tuple(int(n) for n in shape)
        chunks = (1,) * n_lead + shape[n_lead:]
        mask_shape = shape[:-1] if rgb else shape
        with self._lock:
            self.group.create_array(
                IMAGE_PATH,
                shape=shape,
                chunks=chunks,
                dtype=np.dtype(dtype),
                fill_value=0,
                dimension_names=None,
                overwrite=True,
            )
            labels = self.group.require_group('labels')
            labels.attrs['ome'] = {
                'version': NGFF_VERSION,
                'labels': ['generated'],
            }
            generated = self.group.require_group(MASK_GROUP)
            generated.create_array(
                '0',
                shape=mask_shape,
                chunks=chunks[: len(mask_shape)],
                dtype=np.uint8,
                fill_value=0,
                overwrite=True,
            )

    def write_placement(
        self,
        *,
        axes: list[dict[str, str]],
        scale: Sequence[float],
        translate: Sequence[float],
        name: str | None,
    ) -> None:
        """Write the NGFF ``multiscales`` of the image and of the mask."""
        n_axes = len(axes)
        scale = [float(s) for s in scale][-n_axes:]
        translate = [float(t) for t in translate][-n_axes:]
        if len(scale) < n_axes:  # the colour axis
            scale += [1.0] * (n_axes - len(scale))
            translate += [0.0] * (n_axes - len(translate))
        spatial = [a for a in axes if a.get('name') != 'rgb']
        n_mask = len(spatial)
        with self._lock:
            self.group.attrs['ome'] = _multiscales(
                axes, scale, translate, name
            )
            mask_ome = _multiscales(
                spatial,
                scale[:n_mask],
                translate[:n_mask],
                'generated',
            )
            mask_ome['image-label'] = {
                'version': NGFF_VERSION,
                'colors': [
                    {'label-value': 1, 'rgba': [255, 0, 255, 255]},
                ],
                'source': {'image': '../../'},
            }
            self.group[MASK_GROUP].attrs['ome'] = mask_ome

    def write_plane(
        self,
        where: tuple[int, ...],
        pixels: np.ndarray,
        mask: np.ndarray,
        plane: tuple[int, ...],
    ) -> None:
        """Write one plane's image and mask chunks at *where* (indices
        into the store's non-spatial axes), then list *plane* as done."""
        self.group[IMAGE_PATH][where] = pixels
        self.group[MASK_PATH][where] = mask.astype(np.uint8)
        with self._lock:
            done = [list(p) for p in self._record.get('planes_done', [])]
            if list(plane) not in done:
                done.append([int(i) for i in plane])
            self._record['planes_done'] = done
            self._write_record()

    def image(self) -> Any:
        """The result as a dask array over the store (nothing is read)."""
        import dask.array as da  # heavy; only when a store is read back

        return da.from_zarr(self.group[IMAGE_PATH])

    def mask(self) -> Any:
        """The mask (uint8 labels, 1 = generated) as a dask array."""
        import dask.array as da  # heavy; only when a store is read back

        return da.from_zarr(self.group[MASK_PATH])

    def ome(self) -> dict[str, Any]:
        """The group's ``ome`` attributes (empty before the first plane)."""
        return dict(self.group.attrs.get('ome') or {})


def check_store_path(
    path: str | os.PathLike[str], *, field: str = 'output'
) -> dict[str, Any] | None:
    """Check that a batch can write its result store at *path*.

    Returns the store's ``napari_outpaint`` record when *path* is one
    already (a batch resumes into it), else None (it will be created).

    Raises
    ------
    InvalidInputError
        Naming *field*: not ``*.zarr``, an existing path that is not a
        napari-outpaint store, a missing or unwritable folder.
    """
    path = Path(path)
    if not is_zarr_path(path):
        raise InvalidInputError(
            field, f'{path} is not a .zarr path; name it result.zarr.'
        )
    if path.exists():
        record = read_store_attrs(path)
        if record is None:
            raise InvalidInputError(
                field,
                f'{path} exists and is not a napari-outpaint result '
                'store; choose another path, or remove it first.',
            )
        _probe_writable(path, field)
        return record
    if not path.parent.is_dir():
        raise InvalidInputError(
            field,
            f'the folder {path.parent} does not exist; create it first.',
        )
    _probe_writable(path.parent, field)
    return None


def _multiscales(
    axes: list[dict[str, str]],
    scale: list[float],
    translate: list[float],
    name: str | None,
) -> dict[str, Any]:
    return {
        'version': NGFF_VERSION,
        'multiscales': [
            {
                'name': name or 'outpainted',
                'axes': axes,
                'datasets': [
                    {
                        'path': '0',
                        'coordinateTransformations': [
                            {'type': 'scale', 'scale': scale},
                            {'type': 'translation', 'translation': translate},
                        ],
                    }
                ],
            }
        ],
    }


_IDENTITY_WORDS = {
    'source': 'source',
    'expand': 'expansion',
    'engine': 'engine',
    'planes': 'plane selection',
}


def _check_identity(
    path: Path,
    stored: Mapping[str, Any],
    wanted: Mapping[str, Any],
    field: str,
) -> None:
    """Refuse to resume into a store made from something else."""
    for key in sorted(set(stored) | set(wanted)):
        old, new = stored.get(key), wanted.get(key)
        if old == new:
            continue
        what = _IDENTITY_WORDS.get(key.split('.')[0], 'setting')
        raise InvalidInputError(
            field,
            f'{path} holds the result of another {what} ({key} is {old!r} '
            f'there, {new!r} now), so the batch cannot resume into it; '
            f'give another output path, or delete {path} to start over.',
        )


def _probe_writable(folder: Path, field: str) -> None:
    """Write and remove a tiny file in *folder*, or refuse it."""
    probe = folder / f'.napari-outpaint-probe-{os.getpid()}'
    try:
        probe.write_bytes(b'')
        probe.unlink()
    except OSError as exc:
        raise InvalidInputError(
            field,
            f'cannot write in {folder} ({exc.strerror or exc}); choose a '
            'writable folder.',
        ) from exc


def _jsonable(value: Any) -> Any:
    """*value* with numpy scalars/arrays and tuples as JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value
