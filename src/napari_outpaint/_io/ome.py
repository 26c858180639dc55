"""Pixel sizes from OME-XML, read by ome-types.

:func:`ome_pixel_sizes` reads ``PhysicalSizeX/Y/Z`` and their units from
the first image of an OME-XML document (the image tifffile's first series
reads) and gives them in micrometres, the unit :mod:`.files` carries.
A document ome-types cannot read is reported with a warning and gives no
pixel size, so the caller falls back to the TIFF's resolution tags.
"""

from __future__ import annotations

import math
import warnings

__all__ = ['ome_pixel_sizes']

_SI_PREFIX_EXPONENT = {
    'Y': 24, 'Z': 21, 'E': 18, 'P': 15, 'T': 12, 'G': 9, 'M': 6, 'k': 3,
    'h': 2, 'da': 1, '': 0, 'd': -1, 'c': -2, 'm': -3, 'µ': -6, 'n': -9,
    'p': -12, 'f': -15, 'a': -18, 'z': -21, 'y': -24,
}  # fmt: skip
# micrometres per OME length unit (the values of ome-types' UnitsLength);
# 'pixel' and 'reference frame' are not physical and have no entry
_UM_PER_OME_UNIT = {
    **{f'{p}m': 10.0 ** (e + 6) for p, e in _SI_PREFIX_EXPONENT.items()},
    'Å': 1e-4,
    'thou': 25.4,
    'li': 25.4 / 12,  # a line: 1/12 inch
    'in': 25.4e3,
    'ft': 304.8e3,
    'yd': 914.4e3,
    'mi': 1609.344e6,
    'ua': 149597870700e6,
    'ly': 9460730472580800e6,
    'pc': 30856775814913673e6,
    'pt': 25.4e3 / 72,
}


def ome_pixel_sizes(xml: str, *, source: str = 'the file') -> dict[str, float]:
    """Pixel sizes in µm by axis letter (``X``, ``Y``, ``Z``) of the first
    OME image in *xml*.

    Both ``X`` and ``Y`` must be given in a length unit, else there is no
    pixel size (``{}``); ``Z`` is kept when it is. A size in ``pixel`` or
    ``reference frame`` units is not physical and is left out.

    Parameters
    ----------
    xml : str
        An OME-XML document (e.g. ``tifffile.TiffFile.ome_metadata``).
    source : str
        What to name in the warning (the file's path).

    Warns
    -----
    UserWarning
        When ome-types cannot read *xml* (malformed XML, values outside
        the OME schema); the result is then ``{}``.
    """
    # ome-types builds pydantic models of the whole OME schema on import
    # (about a second): only reading an OME-TIFF pays for it.
    import ome_types

    try:
        with warnings.catch_warnings():
            # xsdata warns once per bad value; the one warning below says it
            warnings.simplefilter('ignore')
            ome = ome_types.from_xml(xml)
    except Exception as exc:  # noqa: BLE001 - any parser or schema failure
        reason = str(exc).splitlines()[0] if str(exc) else ''
        warnings.warn(
            f'The OME-XML metadata of {source} cannot be read '
            f'({type(exc).__name__}: {reason}); its pixel size is taken '
            'from the TIFF resolution tags, if any. Re-save the file with '
            'valid OME metadata to keep its pixel size.',
            UserWarning,
            stacklevel=2,
        )
        return {}
    if not ome.images:
        return {}
    pixels = ome.images[0].pixels
    sizes = {}
    for axis in 'XYZ':
        value = getattr(pixels, f'physical_size_{axis.lower()}')
        unit = getattr(pixels, f'physical_size_{axis.lower()}_unit')
        factor = _UM_PER_OME_UNIT.get(getattr(unit, 'value', unit))
        if value is None or factor is None:
            continue
        size = float(value) * factor
        if math.isfinite(size) and size > 0:
            sizes[axis] = size
    return sizes if 'X' in sizes and 'Y' in sizes else {}
