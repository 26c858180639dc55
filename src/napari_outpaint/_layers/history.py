"""Past results: find a cache entry and re-open it as an aligned layer.

The paid-result cache keeps, per result, the image exactly as downloaded
and the provenance the pipeline built when it placed it (source shape,
dtype, display mapping, transform, plane, padding; see
:mod:`napari_outpaint._pipeline.provenance`). That is enough to re-open it:

- without the source layer, at the engine's native resolution, placed
  with the same maths as ``keep_native_resolution=True``
  (:func:`napari_outpaint._imaging.placement.place_result`);
- with the source layer (the same data), exactly as ``outpaint_layer``
  would produce it: the pipeline runs again with an engine that answers
  with the cached result, so the original pixels are pasted back on the
  original grid, for free.

History lists :class:`HistoryItem` s (:func:`history_items`): one per
single run, one per batch (its planes' entries share the ``batch_id`` the
batch recorded; entries stored before batch ids are single items), newest
first, optionally filtered by text (:func:`entry_matches`). A batch item
re-opens as one nD layer of its planes (:func:`open_batch`), like the
batch made it; each of its planes re-opens alone as before.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import napari.layers
import numpy as np
from napari.layers import Image

from napari_outpaint._batch import Assembly, plane_text
from napari_outpaint._cache import (
    CachedResult,
    ResultCache,
    cache_key,
    cache_model_id,
    provenance_model_id,
    run_key,
)
from napari_outpaint._errors import InvalidInputError
from napari_outpaint._expand import Expand
from napari_outpaint._imaging import from_rgb8, place_result
from napari_outpaint._layers.convert import (
    RESULT_SUFFIX,
    result_layer,
    source_data,
    source_kwargs,
)
from napari_outpaint._pipeline import (
    OutpaintResult,
    affine_matrix,
    linear_matrix,
    native_mask,
    outpaint_array,
)

__all__ = [
    'BATCH_PREFIX',
    'HistoryItem',
    'clear_history',
    'describe_entry',
    'describe_item',
    'describe_plane',
    'entry_matches',
    'find_entry',
    'group_entries',
    'history_choices',
    'history_items',
    'open_batch',
    'open_cached_result',
    'open_for_viewer',
    'open_item_for_viewer',
    'plane_label',
    'reopen_entry',
    'reopen_native',
    'source_matches',
]

_FIELD = 'entry_or_key'
#: How a batch item's id starts (a cache key never does).
BATCH_PREFIX = 'batch:'
_SIDES = ('top', 'bottom', 'left', 'right')


def find_entry(
    entry_or_key: CachedResult | str, cache: ResultCache | None = None
) -> CachedResult:
    """The cache entry given, or the one whose key starts with a prefix.

    Raises
    ------
    InvalidInputError
        Naming ``entry_or_key`` when no entry, or several, match.
    """
    if isinstance(entry_or_key, CachedResult):
        return entry_or_key
    if not isinstance(entry_or_key, str) or not entry_or_key.strip():
        raise InvalidInputError(
            _FIELD, 'must be a CachedResult or a cache key (prefix).'
        )

    cache = cache if cache is not None else ResultCache()
    prefix = entry_or_key.strip().lower()
    matches = [e for e in cache.entries() if e.key.startswith(prefix)]
    if len(matches) != 1:
        what = 'no' if not matches else str(len(matches))
        raise InvalidInputError(
            _FIELD,
            f'{what} cached result(s) in {cache.root} match {prefix!r}; '
            'copy a key prefix from `napari-outpaint history`.',
        )
    return matches[0]


def describe_entry(entry: CachedResult) -> str:
    """One line: date, source, plane (a batch's), expand, engine/model,
    cost, key prefix."""
    prov = entry.provenance or {}
    cost = prov.get('cost_usd')
    parts = [
        _when(entry.created_at),
        _source_name(prov),
        *([plane_label(prov)] if _batch_id(prov) else []),
        f't/b/l/r {_sides(prov)}%',
        _engine_model(prov),
        f'${cost:.2f}' if isinstance(cost, int | float) else '$?',
        entry.key[:12],
    ]
    return '  '.join(parts)


def plane_label(
    provenance: Mapping[str, Any], names: Sequence[str] = ()
) -> str:
    """``'plane 3'`` (``'plane 1,2'`` in 4D) of a plane's entry, or ``''``.

    With *names*, one per non-spatial axis (e.g. the source layer's axis
    labels): ``'plane z=3'`` (``'plane t=1, z=2'``).
    """
    plane = provenance.get('plane')
    if not isinstance(plane, list | tuple) or not plane:
        return ''
    try:
        indices = [int(i) for i in plane]
    except (TypeError, ValueError):
        return ''
    if len(names) == len(indices) and all(str(n).strip() for n in names):
        pairs = (f'{n}={i}' for n, i in zip(names, indices, strict=True))
        return 'plane ' + ', '.join(pairs)
    return f'plane {plane_text(indices)}'


def describe_plane(entry: CachedResult, names: Sequence[str] = ()) -> str:
    """One line for a plane of a batch: plane (named by *names*, see
    :func:`plane_label`), run id, cost, key prefix."""
    prov = entry.provenance or {}
    cost = prov.get('cost_usd')
    return '  '.join(
        (
            plane_label(prov, names) or 'plane ?',
            f'run {prov.get("run_id") or "-"}',
            f'${cost:.2f}' if isinstance(cost, int | float) else '$?',
            entry.key[:12],
        )
    )


@dataclass(frozen=True)
class HistoryItem:
    """One History entry: a single run, or a batch and its planes.

    Attributes
    ----------
    entries : tuple of CachedResult
        One for a single run; a batch's planes in plane order.
    batch_id : str or None
        The batch's id (None for a single run).
    batch_planes : int or None
        How many planes the batch selected (some may not be cached).
    """

    entries: tuple[CachedResult, ...]
    batch_id: str | None = None
    batch_planes: int | None = None

    @property
    def is_batch(self) -> bool:
        """Whether this is a batch (its planes can be opened one by one)."""
        return self.batch_id is not None

    @property
    def key(self) -> str:
        """The id a picker holds: the cache key, or ``'batch:<id>'``."""
        if self.batch_id is not None:
            return f'{BATCH_PREFIX}{self.batch_id}'
        return self.entries[0].key

    @property
    def created_at(self) -> float:
        """When its newest entry was stored."""
        return max(e.created_at for e in self.entries)


def group_entries(entries: Iterable[CachedResult]) -> list[HistoryItem]:
    """One item per single run and per batch, newest first.

    A batch's planes are the entries that recorded its ``batch_id``;
    entries without one (single runs, planes of batches stored before
    batch ids) are one item each.
    """
    items: list[HistoryItem] = []
    batches: dict[str, list[CachedResult]] = {}
    for entry in entries:
        batch_id = _batch_id(entry.provenance or {})
        if batch_id is None:
            items.append(HistoryItem((entry,)))
        else:
            batches.setdefault(batch_id, []).append(entry)
    for batch_id, planes in batches.items():
        planes.sort(key=lambda e: _plane_of(e) or ())
        recorded = planes[0].provenance.get('batch_planes')
        items.append(
            HistoryItem(
                tuple(planes),
                batch_id=batch_id,
                batch_planes=recorded if isinstance(recorded, int) else None,
            )
        )
    items.sort(key=lambda item: item.created_at, reverse=True)
    return items


def entry_matches(entry: CachedResult, text: str) -> bool:
    """Whether every word of *text* is in the entry's date, source name,
    engine, model, run id, key or batch id (case-insensitive).

    The date reads as History shows it: ``'2026-12-08 00:15'``.
    """
    words = text.lower().split()
    if not words:
        return True
    prov = entry.provenance or {}
    haystack = ' '.join(
        (
            _when(entry.created_at),
            _source_name(prov),
            plane_label(prov),
            _engine_model(prov),
            str(prov.get('engine', '')),
            str(prov.get('model', '')),
            str(prov.get('run_id') or ''),
            entry.key,
            _batch_id(prov) or '',
        )
    ).lower()
    return all(word in haystack for word in words)


def history_items(
    cache: ResultCache | None = None, *, text: str = '', limit: int = 30
) -> list[HistoryItem]:
    """The newest History items that can be re-opened, filtered by *text*.

    Only entries with placement provenance; a batch is listed with all its
    planes when any of them matches *text* (see :func:`entry_matches`).
    """
    cache = cache if cache is not None else ResultCache()
    placed = [
        e
        for e in cache.entries()
        if isinstance((e.provenance or {}).get('source'), Mapping)
    ]
    items = [
        item
        for item in group_entries(placed)
        if any(entry_matches(e, text) for e in item.entries)
    ]
    return items[:limit]


def describe_item(item: HistoryItem) -> str:
    """One line: a single run as :func:`describe_entry`; a batch with its
    date, source, number of planes, expand, engine/model, cost, id."""
    if not item.is_batch:
        return describe_entry(item.entries[0])
    prov = item.entries[0].provenance or {}
    n = len(item.entries)
    whole = item.batch_planes in (None, n)
    of = '' if whole else f' of {item.batch_planes}'
    costs = [e.provenance.get('cost_usd') for e in item.entries]
    known = [c for c in costs if isinstance(c, int | float)]
    cost = f'${sum(known):.2f}' if len(known) == len(costs) else '$?'
    return '  '.join(
        (
            _when(item.created_at),
            _source_name(prov),
            f'batch: {n}{of} plane{"s" if n != 1 else ""}',
            f't/b/l/r {_sides(prov)}%',
            _engine_model(prov),
            cost,
            f'{BATCH_PREFIX}{item.batch_id[:8]}',
        )
    )


def clear_history(cache: ResultCache | None = None) -> str:
    """Delete every cached result, keep pending runs; say what was done.

    What ``napari-outpaint history --clear`` and the widget's *Clear* do.
    """
    cache = cache if cache is not None else ResultCache()
    count = cache.clear()
    return f'deleted {count} cached result(s) from {cache.root}'


def _when(seconds: float) -> str:
    return time.strftime('%Y-%m-%d %H:%M', time.localtime(seconds))


def _source_name(prov: Mapping[str, Any]) -> str:
    source = prov.get('source')
    name = source.get('layer') if isinstance(source, Mapping) else source
    return str(name or 'image')


def _sides(prov: Mapping[str, Any]) -> str:
    expand = prov.get('expand') or {}
    if not isinstance(expand, Mapping):
        expand = {}
    return '/'.join(str(expand.get(s, '?')) for s in _SIDES)


def _batch_id(prov: Mapping[str, Any]) -> str | None:
    batch_id = prov.get('batch_id')
    return batch_id if isinstance(batch_id, str) and batch_id else None


def _plane_of(entry: CachedResult) -> tuple[int, ...] | None:
    plane = (entry.provenance or {}).get('plane')
    try:
        return tuple(int(i) for i in plane) if plane else None
    except (TypeError, ValueError):
        return None


def _engine_model(prov: Mapping[str, Any]) -> str:
    engine = str(prov.get('engine', '?'))
    # 'runflow/outpaint@127.0.0.1:8443' names a result of another endpoint
    model = str(prov.get('cache_namespace') or prov.get('model', '?'))
    return model if model.startswith(f'{engine}/') else f'{engine}/{model}'


def source_matches(entry: CachedResult, layer: Any) -> bool:
    """Whether *layer* has the shape, dtype and rgb of the entry's source."""
    try:
        _check_source(_source(entry), layer)
    except InvalidInputError:
        return False
    return True


def reopen_native(
    entry_or_key: CachedResult | str, *, cache: ResultCache | None = None
) -> OutpaintResult:
    """The cached result at native resolution, placed in the source's world.

    Same data, mask and placement as ``outpaint_array(...,
    keep_native_resolution=True)`` gave for that request; no source data
    is needed.
    """
    entry = find_entry(entry_or_key, cache)
    source = _source(entry)
    engine_result = entry.to_engine_result()
    image = np.ascontiguousarray(np.asarray(engine_result.image)[..., :3])
    shape = source['shape']
    rgb = source['rgb']
    lead = len(shape) - int(rgb) - 2
    ndim = lead + 2
    rows, cols = shape[lead : lead + 2]
    pad = source['expand'].padding(rows, cols)
    canvas_shape = pad.canvas_shape(rows, cols)
    inner = (
        slice(pad.top, pad.top + rows),
        slice(pad.left, pad.left + cols),
    )
    limits = source['contrast_limits']
    data = from_rgb8(
        image,
        dtype=source['dtype'],
        rgb=rgb,
        channels=shape[-1] if rgb else 3,
        contrast_limits=limits,
        gamma=source['gamma'],
    )
    mask, data_inner = native_mask(image.shape[:2], canvas_shape, inner)
    scale = _vector(source.get('scale'), ndim, 1.0)
    translate = _vector(source.get('translate'), ndim, 0.0)
    rotate, shear = source.get('rotate'), source.get('shear')
    linear = linear_matrix(scale, rotate, shear, ndim)
    placement = place_result(
        scale=scale,
        translate=translate,
        pad_before=(pad.top, pad.left),
        canvas_shape=canvas_shape,
        result_shape=image.shape[:2],
        plane=source['plane'],
        linear=linear,
    )
    provenance = _reopened(entry, dict(entry.provenance))
    provenance['mode'] = 'native_resolution'
    region = dict(provenance.get('generated_region') or {})
    region['result_px'] = {
        'shape': list(image.shape[:2]),
        'original_rows': [data_inner[0].start, data_inner[0].stop],
        'original_cols': [data_inner[1].start, data_inner[1].stop],
    }
    provenance['generated_region'] = region
    prefix = (1,) * lead
    return OutpaintResult(
        data=data.reshape(prefix + data.shape),
        mask=mask.reshape(prefix + mask.shape),
        scale=placement.scale,
        translate=placement.translate,
        affine=affine_matrix(source.get('affine'), ndim),
        provenance=provenance,
        engine_result=engine_result,
        rotate=None if rotate is None else np.asarray(rotate),
        shear=None if shear is None else np.asarray(shear),
        rgb=rgb,
        contrast_limits=(float(limits[0]), float(limits[1])),
        gamma=source['gamma'],
        name=f'{source["name"] or "image"}{RESULT_SUFFIX}',
    )


def reopen_entry(
    entry_or_key: CachedResult | str,
    source_layer: napari.layers.Image,
    *,
    keep_native_resolution: bool = False,
    cache: ResultCache | None = None,
) -> OutpaintResult:
    """The cached result re-made with its source layer, as the pipeline
    made it (the original pixels pasted back unless native), for free.

    Raises
    ------
    InvalidInputError
        Naming ``source_layer`` when it is not the entry's source (shape,
        dtype, colour, or the pixels sent differ).
    """
    entry = find_entry(entry_or_key, cache)
    source = _source(entry)
    _check_source(source, source_layer)
    kwargs = source_kwargs(source_layer)
    kwargs['contrast_limits'] = source['contrast_limits']
    kwargs['gamma'] = source['gamma']
    result = outpaint_array(
        source_data(source_layer),
        source['expand'],
        engine=_ReplayEngine(entry, source['expand']),
        plane=source['plane'] or None,
        keep_native_resolution=keep_native_resolution,
        **kwargs,
    )
    provenance = _reopened(entry, result.provenance)
    return dataclasses.replace(result, provenance=provenance)


def open_cached_result(
    entry_or_key: CachedResult | str,
    *,
    source_layer: napari.layers.Image | None = None,
    cache: ResultCache | None = None,
    keep_native_resolution: bool = False,
) -> napari.layers.Image:
    """Re-open a cached result as a new, aligned Image layer (not added).

    Parameters
    ----------
    entry_or_key : CachedResult or str
        An entry of ``ResultCache().entries()``, or a key (prefix) as
        ``napari-outpaint history`` lists it.
    source_layer : napari.layers.Image, optional
        The layer that was outpainted (same shape, dtype and pixels). With
        it, the layer is exactly what ``outpaint_layer`` made: resampled
        onto the original grid, original pixels pasted back, styled like
        the source. Without it, the engine's image at native resolution,
        placed exactly in the source's world.
    cache : ResultCache, optional
        Where to look a key up; default ``ResultCache()``.
    keep_native_resolution : bool
        With *source_layer*: keep the engine's resolution instead.

    Returns
    -------
    napari.layers.Image
        Named ``'<source> [outpainted]'``; ``metadata['outpaint']`` holds
        the provenance with ``reopened_from_cache: True`` and
        ``metadata['outpaint_mask']`` the generated-pixel mask.

    Raises
    ------
    InvalidInputError
        Unknown or ambiguous key (``entry_or_key``), an entry without
        placement provenance, or a *source_layer* that is not its source.
    """
    if source_layer is None:
        result = reopen_native(entry_or_key, cache=cache)
        return Image(result.data, **result.layer_kwargs())

    result = reopen_entry(
        entry_or_key,
        source_layer,
        keep_native_resolution=keep_native_resolution,
        cache=cache,
    )
    return result_layer(source_layer, result)


class _ReplayEngine:
    """An Engine that answers with one cached result (free), after
    checking that the pixels sent are the ones that were paid for."""

    price_per_image_usd = 0.0

    def __init__(self, entry: CachedResult, expand: Expand) -> None:
        self.entry = entry
        self.expand = expand
        self.name = str(entry.provenance.get('engine', 'unknown'))
        self.model = str(entry.provenance.get('model', 'unknown'))
        # the endpoint the entry was paid at, so its key can be verified
        self.cache_namespace = provenance_model_id(entry.provenance)

    def outpaint(self, image, expand, *, progress=None, cancel=None):
        """The cached result, if *image* is what produced it."""
        if cancel is not None:
            cancel.raise_if_cancelled()
        run_id = self.entry.provenance.get('run_id')
        keyed_by_pixels = not run_id or self.entry.key != run_key(run_id)
        if keyed_by_pixels and (
            cache_key(image, expand, cache_model_id(self)) != self.entry.key
        ):
            raise InvalidInputError(
                'source_layer',
                f'its pixels (plane, contrast limits, gamma) are not the '
                f'ones of cached result {self.entry.key[:12]}; pass the '
                'layer that was outpainted, or no source_layer to re-open '
                'it at native resolution.',
            )
        return self.entry.to_engine_result()


def _reopened(entry: CachedResult, provenance: Mapping[str, Any]):
    prov = dict(provenance)
    prov['reopened_from_cache'] = True
    prov['cache_key'] = entry.key
    prov['cached_at'] = entry.created_at
    original = entry.provenance
    for name in ('run_id', 'seed', 'created_at'):
        if original.get(name) is not None:
            prov[name] = original[name]
    if isinstance(original.get('cost_usd'), int | float):
        prov['original_cost_usd'] = original['cost_usd']
    return prov


def _source(entry: CachedResult) -> dict[str, Any]:
    """What placing the entry needs, from its provenance, or an error."""
    prov = entry.provenance or {}
    source = prov.get('source')
    try:
        expand = Expand(**prov['expand'])
        if not isinstance(source, Mapping):
            raise KeyError('source')
        shape = [int(n) for n in source['shape']]
        plane = prov.get('plane') or []
        limits = source['contrast_limits']
        return {
            'name': source.get('layer'),
            'shape': shape,
            'dtype': np.dtype(source['dtype']),
            'rgb': bool(source['rgb']),
            'contrast_limits': (float(limits[0]), float(limits[1])),
            'gamma': float(source.get('gamma', 1.0)),
            'scale': source.get('scale'),
            'translate': source.get('translate'),
            'rotate': _matrix(source.get('rotate')),
            'shear': _matrix(source.get('shear')),
            'affine': _matrix(source.get('affine')),
            'plane': tuple(int(i) for i in plane),
            'expand': expand,
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(
            _FIELD,
            f'cached result {entry.key[:12]} has no placement provenance '
            f'(missing {exc}); it was not stored by the outpaint pipeline. '
            'Export its image with `napari-outpaint history --export`.',
        ) from exc


def _check_source(source: Mapping[str, Any], layer: Any) -> None:

    if not isinstance(layer, Image):
        raise InvalidInputError(
            'source_layer',
            f'got a {type(layer).__name__}; pass the Image layer that was '
            'outpainted, or None.',
        )
    level0 = layer.data[0] if layer.multiscale else layer.data
    shape = [int(n) for n in level0.shape]
    dtype = np.dtype(level0.dtype)
    if (
        shape != source['shape']
        or dtype != source['dtype']
        or bool(layer.rgb) != source['rgb']
    ):
        raise InvalidInputError(
            'source_layer',
            f'{layer.name!r} is {tuple(shape)} {dtype}'
            f'{" rgb" if layer.rgb else ""}, but the cached result was made '
            f'from {tuple(source["shape"])} {source["dtype"]}'
            f'{" rgb" if source["rgb"] else ""}; pass the layer that was '
            'outpainted, or None to re-open it at native resolution.',
        )


def _matrix(value: Any) -> np.ndarray | None:
    return None if value is None else np.asarray(value, dtype=float)


def _vector(value: Any, ndim: int, default: float) -> np.ndarray:
    if value is None:
        return np.full(ndim, default)
    return np.asarray(value, dtype=np.float64)


def history_choices(
    cache: ResultCache | None = None, *, limit: int = 30
) -> list[tuple[str, str]]:
    """``(label, key)`` of the newest cached results, for a picker.

    Only entries that can be re-opened (with placement provenance).
    """
    cache = cache if cache is not None else ResultCache()
    choices = []
    for entry in cache.entries():
        if not isinstance(entry.provenance.get('source'), Mapping):
            continue
        choices.append((describe_entry(entry), entry.key))
        if len(choices) >= limit:
            break
    return choices


def open_for_viewer(
    entry_or_key: CachedResult | str,
    candidate: Any = None,
    *,
    cache: ResultCache | None = None,
) -> napari.layers.Image:
    """Re-open aligned with *candidate* when it is the entry's source,
    else at native resolution in the source's recorded world.

    For a viewer: *candidate* is the selected image layer (or None); a
    layer of the same shape but other pixels falls back to native.
    """
    entry = find_entry(entry_or_key, cache)
    if candidate is not None and source_matches(entry, candidate):
        try:
            return open_cached_result(entry, source_layer=candidate)
        except InvalidInputError as exc:
            if exc.field != 'source_layer':
                raise
    return open_cached_result(entry)


def open_item_for_viewer(
    item: HistoryItem,
    candidate: Any = None,
    *,
    plane_key: str | None = None,
) -> napari.layers.Image:
    """Re-open a History item: a single run, a batch as one nD layer, or
    (with *plane_key*, a key of one of the batch's entries) one plane;
    aligned with *candidate* when it is the source (see
    :func:`open_for_viewer`)."""
    if plane_key is not None:
        entry = next((e for e in item.entries if e.key == plane_key), None)
        if entry is None:
            raise InvalidInputError(
                'plane_key', f'{plane_key[:12]} is not a plane of this item.'
            )
        return open_for_viewer(entry, candidate)
    if not item.is_batch:
        return open_for_viewer(item.entries[0], candidate)
    return open_batch(item.entries, candidate)


def open_batch(
    entries: Sequence[CachedResult], candidate: Any = None
) -> napari.layers.Image:
    """The planes of a batch re-opened as one nD Image layer (not added).

    Like the batch made it: the planes' bounding box along the non-spatial
    axes (planes not cached stay 0), placed with the batch's maths
    (:class:`~napari_outpaint._batch.assembly.Assembly`). Aligned with
    *candidate* when it is the source of every plane, else each plane at
    native resolution in the source's recorded world.

    Raises
    ------
    InvalidInputError
        Naming ``entry_or_key`` for no entries, or an entry without a
        plane or placement provenance.
    """
    if not entries:
        raise InvalidInputError(_FIELD, 'a batch needs at least one entry.')
    planes = []
    for entry in entries:
        plane = _plane_of(entry)
        if plane is None:
            raise InvalidInputError(
                _FIELD, f'cached result {entry.key[:12]} records no plane.'
            )
        planes.append(plane)
    aligned = candidate is not None and all(
        source_matches(e, candidate) for e in entries
    )
    results = None
    if aligned:
        try:
            results = [reopen_entry(e, candidate) for e in entries]
        except InvalidInputError as exc:
            if exc.field != 'source_layer':
                raise
    if results is None:
        aligned = False
        results = [reopen_native(e) for e in entries]
    n_lead = len(planes[0])
    origin = tuple(min(p[a] for p in planes) for a in range(n_lead))
    lead_shape = tuple(
        max(p[a] for p in planes) - origin[a] + 1 for a in range(n_lead)
    )
    assembly = Assembly(origin, lead_shape)
    for plane, result in zip(planes, results, strict=True):
        assembly.add(plane, result, n_lead)
    source = _source(entries[0])
    scale, translate, affine = assembly.placement(
        source['scale'], source['translate']
    )
    batch_id = _batch_id(entries[0].provenance)
    provenance = {
        'batch': {
            'id': batch_id,
            'planes': [list(p) for p in planes],
            'origin': list(origin),
            'mode': 'aligned' if aligned else 'native_resolution',
        },
        'planes': {
            plane_text(p): r.provenance
            for p, r in zip(planes, results, strict=True)
        },
        'reopened_from_cache': True,
    }
    reopened = _Reopened(
        data=assembly.data,
        kwargs={
            **assembly.style,
            'scale': scale,
            'translate': translate,
            'affine': affine,
            'metadata': {
                'outpaint': provenance,
                'outpaint_mask': assembly.mask(),
            },
        },
    )
    if aligned:
        return result_layer(candidate, reopened)
    return Image(reopened.data, **reopened.layer_kwargs())


@dataclass(frozen=True)
class _Reopened:
    """What :func:`result_layer` needs of a re-opened batch."""

    data: np.ndarray
    kwargs: dict[str, Any]

    def layer_kwargs(self) -> dict[str, Any]:
        return dict(self.kwargs)
