"""Read and write image files for the command line.

Reading:

- PNG and JPEG through Pillow: 8-bit grey, 16-bit grey, RGB and RGBA
  (palette and grey+alpha images are expanded to RGB(A)). Their
  ``pHYs``/DPI metadata is a print resolution, not a physical pixel size,
  so the scale is 1.
- TIFF through tifffile: any dtype (8/16/32-bit, signed, float), stacks
  of any dimension, RGB(A). The physical pixel size, in micrometres, is
  taken from OME metadata (``PhysicalSizeX/Y/Z`` and their units, read
  by ome-types in :mod:`.ome`; unreadable OME-XML is a warning), else
  from ImageJ metadata (``unit`` + resolution tags + ``spacing``), else
  from the resolution tags when their unit is centimetre (or mm/µm). Inch-based
  resolution tags are a print DPI and are ignored.

Writing (:func:`write_image`) keeps the input's format family:

- TIFF keeps the dtype and every axis, and records the pixel size as OME
  metadata (readable by Fiji/Bio-Formats and napari) and as resolution
  tags in centimetres. Lossless (zlib) compression.
- PNG holds 2D uint8/uint16 greyscale and uint8 RGB/RGBA.
- JPEG is never written: it is lossy and would alter the original pixels.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from PIL import Image

from napari_outpaint._errors import InvalidInputError
from napari_outpaint._io.ome import ome_pixel_sizes

__all__ = [
    'ImageFile',
    'check_writable',
    'format_family',
    'read_image',
    'write_image',
]

TIFF_SUFFIXES = ('.tif', '.tiff')
PNG_SUFFIXES = ('.png',)
JPEG_SUFFIXES = ('.jpg', '.jpeg')

# micrometres per unit, for OME units and ImageJ unit names
_UM_PER_UNIT = {
    'pm': 1e-6,
    'Å': 1e-4,
    'nm': 1e-3,
    'µm': 1.0,
    'μm': 1.0,
    'um': 1.0,
    'micron': 1.0,
    'microns': 1.0,
    'micrometer': 1.0,
    'micrometre': 1.0,
    'mm': 1e3,
    'cm': 1e4,
    'm': 1e6,
}
# micrometres per unit for the TIFF ResolutionUnit tag (1=none, 2=inch)
_UM_PER_RESUNIT = {3: 1e4, 4: 1e3, 5: 1.0}
_OME_AXES = 'TZC'
_PILLOW_LIMIT_LOCK = threading.Lock()
# pixel types OME-XML can describe; others (int64, uint64, float16) are
# written as a plain TIFF with the same axes and resolution tags
_OME_DTYPES = frozenset(
    np.dtype(t)
    for t in (
        'bool', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32',
        'float32', 'float64', 'complex64', 'complex128',
    )
)  # fmt: skip


@dataclass(frozen=True)
class ImageFile:
    """An image read from a file, with what napari needs to place it.

    Attributes
    ----------
    data : numpy.ndarray
        The pixels, in the file's dtype; RGB(A) as a trailing axis.
    rgb : bool
        Whether the last axis holds RGB(A) samples.
    axes : str
        One letter per axis of ``data`` (tifffile convention: ``T``, ``Z``,
        ``C``, ``Y``, ``X``, ``S`` for samples, ``Q`` unknown).
    scale : tuple of float
        Pixel size per layer axis (the axes of ``data`` without ``S``),
        in micrometres when ``unit`` is set, else 1.
    unit : str or None
        ``'µm'`` when the file gave a physical pixel size, else None.
    family : str
        ``'tiff'``, ``'png'`` or ``'jpeg'``.
    source : str
        The path or ``sample:NAME`` it came from.
    name : str
        A short name (file stem or sample name).
    """

    data: np.ndarray
    rgb: bool
    axes: str
    scale: tuple[float, ...]
    unit: str | None
    family: str
    source: str
    name: str

    @property
    def layer_ndim(self) -> int:
        """Number of layer axes (``data.ndim`` without the RGB axis)."""
        return self.data.ndim - (1 if self.rgb else 0)

    @property
    def plane_axes(self) -> int:
        """Number of non-spatial layer axes (those a plane index names)."""
        return self.layer_ndim - 2

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable summary for the sidecar."""
        return {
            'path': self.source,
            'format': self.family,
            'shape': list(self.data.shape),
            'dtype': str(self.data.dtype),
            'rgb': self.rgb,
            'axes': self.axes,
            'scale': list(self.scale),
            'unit': self.unit,
        }


def format_family(
    path: str | Path, *, field: str = 'input', writing: bool = False
) -> str:
    """``'tiff'``, ``'png'`` or ``'jpeg'`` from a file's suffix.

    Raises
    ------
    InvalidInputError
        Naming *field*, for any other suffix; the advice names only what
        can be written when *writing* (JPEG is read, never written).
    """
    suffix = Path(path).suffix.lower()
    if suffix in TIFF_SUFFIXES:
        return 'tiff'
    if suffix in PNG_SUFFIXES:
        return 'png'
    if suffix in JPEG_SUFFIXES:
        return 'jpeg'
    accepted = (
        '.tif/.tiff (any dtype, stacks) or .png (2D 8/16-bit)'
        if writing
        else 'a .tif/.tiff, .png or .jpg/.jpeg image'
    )
    raise InvalidInputError(
        field,
        f'unsupported file type {suffix or "(no suffix)"!r} for {path}; '
        f'use {accepted}.',
    )


def read_image(
    path: str | Path, *, max_pixels: int | None = None
) -> ImageFile:
    """Read a PNG, JPEG or TIFF file into an :class:`ImageFile`.

    Parameters
    ----------
    path : path
    max_pixels : int, optional
        Refuse, before decoding, planes of more pixels (the command
        line's ``--max-pixels``); Pillow's own "decompression bomb" limit
        is replaced by this one. None: no limit here.

    Raises
    ------
    InvalidInputError
        Naming ``input``, when the file is missing, unreadable, of an
        unsupported type, or holds no 2D image; naming ``--max-pixels``
        for a plane above *max_pixels*.
    """
    path = Path(path)
    family = format_family(path)
    if not path.is_file():
        raise InvalidInputError(
            'input',
            f'no such file: {path}; check the path (or use sample:cells '
            'or sample:coffee).',
        )
    try:
        if family == 'tiff':
            image = _read_tiff(path, max_pixels)
        else:
            image = _read_pillow(path, family, max_pixels)
    except InvalidInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure
        raise InvalidInputError(
            'input',
            f'cannot read {path} as {family.upper()}: '
            f'{type(exc).__name__}: {exc}. Check that the file is a '
            'valid image.',
        ) from exc
    if image.data.dtype.kind not in 'uifb':
        raise InvalidInputError(
            'input',
            f'{path} holds {image.data.dtype} pixels, which are not an image '
            'napari-outpaint can outpaint; convert them to a real type (e.g. '
            'the magnitude as float32) first.',
        )
    if image.layer_ndim < 2 or min(image.data.shape[:2]) == 0:
        raise InvalidInputError(
            'input',
            f'{path} holds an array of shape {image.data.shape}, not an '
            'image; it needs at least two spatial axes.',
        )
    return image


def _check_plane_pixels(
    path: Path, rows: int, cols: int, max_pixels: int | None
) -> None:
    if max_pixels is not None and rows * cols > max_pixels:
        raise InvalidInputError(
            '--max-pixels',
            f'{path} has planes of {rows} x {cols} = '
            f'{rows * cols / 1e6:.0f} Mpx, above the limit of '
            f'{max_pixels / 1e6:.0f} Mpx; nothing was read. Raise it with '
            '--max-pixels (or NAPARI_OUTPAINT_MAX_PIXELS) if this machine '
            'has the memory.',
        )


@contextlib.contextmanager
def _pillow_limit_off():
    """Pillow's global decompression-bomb limit lifted (ours applies)."""
    with _PILLOW_LIMIT_LOCK:
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def _read_pillow(path: Path, family: str, max_pixels: int | None) -> ImageFile:

    with _pillow_limit_off(), Image.open(path) as img:
        cols, rows = img.size
        _check_plane_pixels(path, rows, cols, max_pixels)
        img.load()
        mode = img.mode
        if mode == 'P':
            has_alpha = 'transparency' in img.info
            img = img.convert('RGBA' if has_alpha else 'RGB')
        elif mode == 'LA' or mode == 'PA':
            img = img.convert('RGBA')
        elif mode == '1':
            img = img.convert('L')
        elif mode == 'CMYK':
            img = img.convert('RGB')
        data = np.asarray(img)
        if img.mode in ('I;16', 'I;16B', 'I;16L'):
            data = data.astype(np.uint16)
    rgb = data.ndim == 3 and data.shape[-1] in (3, 4)
    axes = 'YXS' if rgb else 'YX'
    return ImageFile(
        data=np.ascontiguousarray(data),
        rgb=rgb,
        axes=axes,
        scale=(1.0, 1.0),
        unit=None,
        family=family,
        source=str(path),
        name=path.stem,
    )


def _read_tiff(path: Path, max_pixels: int | None) -> ImageFile:

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        axes = series.axes
        if 'Y' in axes and 'X' in axes:
            shape = series.shape
            _check_plane_pixels(
                path, shape[axes.index('Y')], shape[axes.index('X')],
                max_pixels,
            )  # fmt: skip
        data = series.asarray()
        if len(axes) != data.ndim:  # pragma: no cover - defensive
            axes = 'Q' * (data.ndim - 2) + 'YX'
        data, axes = _samples_last(path, data, axes)
        rgb = axes.endswith('S')
        sizes = _tiff_pixel_sizes(path, tif, series)
    layer_axes = axes[:-1] if rgb else axes
    unit = 'µm' if sizes else None
    scale = tuple(float(sizes.get(a, 1.0)) for a in layer_axes)
    return ImageFile(
        data=data,
        rgb=bool(rgb),
        axes=axes,
        scale=scale,
        unit=unit,
        family='tiff',
        source=str(path),
        name=path.stem,
    )


def _samples_last(
    path: Path, data: np.ndarray, axes: str
) -> tuple[np.ndarray, str]:
    """RGB(A) samples as the trailing axis; other samples refused.

    A sample axis (``S``) is never a plane axis: 3 or 4 samples are
    RGB(A), moved last when stored planar (``SYX``); any other number
    (e.g. 2 channels stored as samples) is refused before any work,
    since outpainting it plane by plane would pay for rows of pixels.
    """
    if 'S' not in axes:
        return data, axes
    where = axes.index('S')
    count = data.shape[where]
    if axes.count('S') > 1 or count not in (3, 4):
        raise InvalidInputError(
            'input',
            f'{path} stores {count} samples per pixel (axes {axes}, shape '
            f'{data.shape}); only RGB (3) or RGBA (4) samples can be '
            'outpainted. Outpainting several channels together is not '
            'supported yet: save each channel as its own greyscale image, '
            'or as a C-axis stack and pick one channel with --plane.',
        )
    if where != len(axes) - 1:
        data = np.moveaxis(data, where, -1)
        axes = axes[:where] + axes[where + 1 :] + 'S'
    return data, axes


def _tiff_pixel_sizes(path: Path, tif: Any, series: Any) -> dict[str, float]:
    """Physical pixel sizes in µm by axis letter (``X``, ``Y``, ``Z``)."""
    if tif.is_ome and tif.ome_metadata:
        sizes = ome_pixel_sizes(tif.ome_metadata, source=str(path))
        if sizes:
            return sizes
    page = series.pages[0] if series.pages else tif.pages[0]
    if page is None:  # pragma: no cover - defensive
        return {}
    try:
        xres, yres = page.get_resolution()
    except Exception:  # noqa: BLE001 - malformed tags: no pixel size
        return {}
    ij = tif.imagej_metadata if tif.is_imagej else None
    factor = None
    if ij and isinstance(ij.get('unit'), str):
        factor = _UM_PER_UNIT.get(_clean_unit(ij['unit']))
    if factor is None:
        factor = _UM_PER_RESUNIT.get(int(page.resolutionunit))
    if factor is None or not xres or not yres:
        return {}
    sizes = {'X': factor / xres, 'Y': factor / yres}
    if ij and ij.get('spacing'):
        sizes['Z'] = factor * float(ij['spacing'])
    if not all(math.isfinite(v) and v > 0 for v in sizes.values()):
        return {}
    if sizes['X'] == factor and sizes['Y'] == factor and not ij:
        return {}  # resolution 1 per unit: a default, not a measurement
    return sizes


def _clean_unit(unit: str) -> str:
    unit = unit.strip()
    return unit.replace('\\u00B5', 'µ').replace('\\u00b5', 'µ').lower()


def check_writable(
    path: str | Path,
    *,
    dtype: np.dtype,
    rgb: bool,
    ndim: int,
    field: str = '--output',
) -> str:
    """Check that *path* can hold a result of this kind; return its family.

    Called before any work, so a bad output fails before a run is paid:
    the format must hold the dtype, and a tiny image of the same kind is
    written next to *path* (then removed), so an unwritable folder, a
    full disk or a writer that refuses the dtype is found now, not after
    paying. Whether *path* already exists is the caller's rule.

    Parameters
    ----------
    path : path
        The output file.
    dtype : numpy.dtype
        The result dtype (the input's).
    rgb : bool
        Whether the result has a trailing RGB(A) axis.
    ndim : int
        Number of non-singleton layer axes the result will have.
    field : str
        The option named in errors.

    Raises
    ------
    InvalidInputError
        Naming *field*, with the format or folder to use instead.
    """
    path = Path(path)
    family = _check_format(path, dtype=dtype, rgb=rgb, ndim=ndim, field=field)
    if not path.parent.is_dir():
        raise InvalidInputError(
            field,
            f'the folder {path.parent} does not exist; create it first.',
        )
    _probe_write(
        path, family, np.dtype(dtype), rgb=rgb, ndim=ndim, field=field
    )
    return family


def _check_format(
    path: Path, *, dtype: np.dtype, rgb: bool, ndim: int, field: str
) -> str:
    """The format family of *path*, if it can hold such a result."""
    family = format_family(path, field=field, writing=True)
    if family == 'jpeg':
        raise InvalidInputError(
            field,
            'JPEG is lossy and would alter the original pixels; write a '
            '.png or .tif instead.',
        )
    if family == 'png':
        dtype = np.dtype(dtype)
        ok_gray = not rgb and dtype in (np.uint8, np.uint16)
        ok_rgb = rgb and dtype == np.uint8
        if ndim > 2 or not (ok_gray or ok_rgb):
            kind = 'RGB' if rgb else 'greyscale'
            raise InvalidInputError(
                field,
                f'PNG cannot hold a {ndim}D {kind} {dtype} result (only 2D '
                'uint8/uint16 grey or uint8 RGB/RGBA); use a .tif output.',
            )
    return family


def _probe_write(
    path: Path,
    family: str,
    dtype: np.dtype,
    *,
    rgb: bool,
    ndim: int,
    field: str,
) -> None:
    """Write a tiny image of this kind beside *path*, then remove it."""
    shape = (1,) * max(ndim - 2, 0) + (2, 2) + ((3,) if rgb else ())
    try:
        fd, name = tempfile.mkstemp(
            dir=path.parent, prefix='.tmp-probe-', suffix=path.suffix
        )
    except OSError as exc:
        raise InvalidInputError(
            field,
            f'cannot write in the folder {path.parent} '
            f'({exc.strerror or exc}); choose a folder you can write to.',
        ) from exc
    os.close(fd)
    probe = Path(name)
    try:
        if family == 'png':
            _write_png(probe, np.zeros(shape, dtype), rgb=rgb)
        else:
            _write_tiff(
                probe, np.zeros(shape, dtype), rgb=rgb, axes=None,
                scale=None, unit=None,
            )  # fmt: skip
    except OSError as exc:
        raise InvalidInputError(
            field,
            f'cannot write {path.name} in {path.parent} '
            f'({exc.strerror or exc}); free some space or choose another '
            'folder.',
        ) from exc
    except Exception as exc:  # noqa: BLE001 - the writer refuses the kind
        raise InvalidInputError(
            field,
            f'a {dtype} result cannot be written as {family.upper()} '
            f'({type(exc).__name__}: {exc}); use a .tif output.',
        ) from exc
    finally:
        probe.unlink(missing_ok=True)


def write_image(
    path: str | Path,
    data: np.ndarray,
    *,
    rgb: bool,
    axes: str | None = None,
    scale: Sequence[float] | None = None,
    unit: str | None = None,
) -> Path:
    """Write *data* to *path* in the format family of its suffix.

    Parameters
    ----------
    path : path
        ``.tif``/``.tiff`` or ``.png``.
    data : numpy.ndarray
        The pixels (RGB(A) as a trailing axis when *rgb*).
    rgb : bool
        Whether the last axis holds RGB(A) samples.
    axes : str, optional
        Axis letters of *data* (see :class:`ImageFile`), for TIFF.
    scale : sequence of float, optional
        Pixel size per layer axis; written to TIFF when *unit* is set.
    unit : str, optional
        ``'µm'`` when *scale* is physical.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    layer_ndim = data.ndim - (1 if rgb else 0)
    family = _check_format(
        path,
        field='--output',
        dtype=data.dtype,
        rgb=rgb,
        ndim=sum(1 for n in data.shape[:layer_ndim] if n != 1)
        if layer_ndim > 2
        else 2,
    )
    if family == 'png':
        _write_png(path, data, rgb=rgb)
    else:
        _write_tiff(path, data, rgb=rgb, axes=axes, scale=scale, unit=unit)
    return path


def _write_png(path: Path, data: np.ndarray, *, rgb: bool) -> None:

    keep = 3 if rgb else 2
    plane = data.reshape(data.shape[-keep:])
    Image.fromarray(np.ascontiguousarray(plane)).save(path, format='PNG')


def _write_tiff(
    path: Path,
    data: np.ndarray,
    *,
    rgb: bool,
    axes: str | None,
    scale: Sequence[float] | None,
    unit: str | None,
) -> None:

    layer_ndim = data.ndim - (1 if rgb else 0)
    axes = _output_axes(axes, layer_ndim, rgb)
    layer_axes = axes[:-1] if rgb else axes
    sizes = {}
    if scale is not None and unit and len(scale) == layer_ndim:
        factor = _UM_PER_UNIT.get(_clean_unit(unit), 1.0)
        sizes = {
            a: float(s) * factor
            for a, s in zip(layer_axes, scale, strict=True)
            if a in 'XYZ'
        }
    kwargs: dict[str, Any] = {
        'photometric': 'rgb' if rgb else 'minisblack',
        'compression': 'zlib',
    }
    if 'X' in sizes and 'Y' in sizes:
        kwargs['resolution'] = (1e4 / sizes['X'], 1e4 / sizes['Y'])
        kwargs['resolutionunit'] = 'CENTIMETER'
    if _ome_compatible(axes, data.dtype):
        metadata: dict[str, Any] = {'axes': axes}
        for a, size in sizes.items():
            metadata[f'PhysicalSize{a}'] = size
            metadata[f'PhysicalSize{a}Unit'] = 'µm'
        tifffile.imwrite(path, data, ome=True, metadata=metadata, **kwargs)
    else:
        tifffile.imwrite(path, data, metadata={'axes': axes}, **kwargs)


def _output_axes(axes: str | None, layer_ndim: int, rgb: bool) -> str:
    ndim = layer_ndim + (1 if rgb else 0)
    if axes and len(axes) == ndim:
        return axes
    lead = _OME_AXES[-(layer_ndim - 2) :] if 0 < layer_ndim - 2 <= 3 else ''
    if len(lead) != layer_ndim - 2:
        lead = 'Q' * (layer_ndim - 2)
    return lead + 'YX' + ('S' if rgb else '')


def _ome_compatible(axes: str, dtype: np.dtype) -> bool:
    lead = axes.rstrip('S')[:-2]
    return (
        np.dtype(dtype) in _OME_DTYPES
        and axes.rstrip('S').endswith('YX')
        and len(set(lead)) == len(lead)
        and all(a in _OME_AXES for a in lead)
    )
