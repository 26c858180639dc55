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
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

import napari.layers
import numpy as np
from napari.layers import Image

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
    'describe_entry',
    'find_entry',
    'history_choices',
    'open_cached_result',
    'open_for_viewer',
    'reopen_entry',
    'reopen_native',
    'source_matches',
]

_FIELD = 'entry_or_key'


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
    """One line: date, source, expand, engine/model, cost, key prefix."""
    prov = entry.provenance or {}
    source = prov.get('source')
    name = source.get('layer') if isinstance(source, Mapping) else source
    expand = prov.get('expand') or {}
    sides = '/'.join(
        str(expand.get(s, '?')) for s in ('top', 'bottom', 'left', 'right')
    )
    cost = prov.get('cost_usd')
    when = time.strftime('%Y-%m-%d %H:%M', time.localtime(entry.created_at))
    parts = [
        when,
        str(name or 'image'),
        f't/b/l/r {sides}%',
        _engine_model(prov),
        f'${cost:.2f}' if isinstance(cost, int | float) else '$?',
        entry.key[:12],
    ]
    return '  '.join(parts)


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
