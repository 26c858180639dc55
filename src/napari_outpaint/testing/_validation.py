"""Strict request validation, with Runflow's 422 field details."""

from __future__ import annotations

from typing import Any

__all__ = [
    'MAX_BATCH_ITEMS',
    'MAX_UPLOAD_BYTES',
    'BatchItem',
    'read_batch_body',
    'validate_run_body',
    'validate_upload_body',
]

MAX_UPLOAD_BYTES = 52_428_800
#: Items one batch may carry (``input`` array length 1-100).
MAX_BATCH_ITEMS = 100
_EXPAND_FIELDS = ('expand_top', 'expand_bottom', 'expand_left', 'expand_right')

FieldError = dict[str, Any]
#: One batch item: its model input and its client_ref (or None).
BatchItem = tuple[dict[str, Any], str | None]


def _error(loc: list[str], msg: str) -> FieldError:
    return {'loc': ['body', *loc], 'msg': msg}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_string(
    body: dict, name: str, max_length: int
) -> FieldError | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        return _error([name], 'must be a string')
    if len(value) > max_length:
        return _error([name], f'must be at most {max_length} characters')
    return None


def validate_run_body(body: Any) -> list[FieldError]:
    """Field errors of a create-run body (empty when it is valid)."""
    if not isinstance(body, dict):
        return [{'loc': ['body'], 'msg': 'must be a JSON object'}]
    errors: list[FieldError] = []
    input_ = body.get('input')
    if not isinstance(input_, dict):
        errors.append(_error(['input'], 'field required (an object)'))
    else:
        url = input_.get('image_url')
        if not isinstance(url, str) or not url:
            errors.append(_error(['input', 'image_url'], 'field required'))
        elif not url.lower().startswith('https://'):
            errors.append(_error(['input', 'image_url'], 'HTTPS URL required'))
        for name in _EXPAND_FIELDS:
            if name not in input_:
                errors.append(_error(['input', name], 'field required'))
            elif not _is_int(input_[name]):
                errors.append(
                    _error(['input', name], 'value is not a valid integer')
                )
            elif not 0 <= input_[name] <= 80:
                errors.append(
                    _error(['input', name], 'must be between 0 and 80')
                )
    metadata = body.get('metadata')
    if metadata is not None and not isinstance(metadata, dict):
        errors.append(_error(['metadata'], 'must be an object or null'))
    for name, limit in (('client_ref', 255), ('callback_url', 2048)):
        problem = _optional_string(body, name, limit)
        if problem:
            errors.append(problem)
    return errors


def validate_upload_body(body: Any) -> list[FieldError]:
    """Field errors of a ``POST /v1/asset-uploads`` body."""
    if not isinstance(body, dict):
        return [{'loc': ['body'], 'msg': 'must be a JSON object'}]
    errors: list[FieldError] = []
    for name, limit in (('filename', 500), ('mime_type', 255)):
        value = body.get(name)
        if not isinstance(value, str) or not 1 <= len(value) <= limit:
            errors.append(_error([name], f'must be a string of 1-{limit}'))
    size = body.get('size_bytes')
    if not _is_int(size) or not 1 <= size <= MAX_UPLOAD_BYTES:
        errors.append(
            _error(
                ['size_bytes'],
                f'must be an integer between 1 and {MAX_UPLOAD_BYTES}',
            )
        )
    return errors


def _batch_elements(body: dict) -> tuple[str, Any]:
    """Which of the two documented shapes *body* has, and its list."""
    if 'input' in body or 'items' not in body:
        return 'input', body.get('input')
    return 'items', body.get('items')


def read_batch_body(
    body: Any,
) -> tuple[str, list[BatchItem], list[FieldError]]:
    """The shape, items and field errors of a create-batch body.

    The API reference's ``{"input": [{<item input>, "client_ref"?}, ...]}``
    (``client_ref`` stripped before model validation) and the guide's
    ``{"items": [{"input": {...}, "client_ref"?}, ...]}`` are both read;
    each item is validated as a single run's body is.
    """
    if not isinstance(body, dict):
        return 'input', [], [{'loc': ['body'], 'msg': 'must be a JSON object'}]
    shape, elements = _batch_elements(body)
    if not isinstance(elements, list) or not (
        1 <= len(elements) <= MAX_BATCH_ITEMS
    ):
        return (
            shape,
            [],
            [
                _error(
                    [shape],
                    f'must be an array of 1-{MAX_BATCH_ITEMS} items',
                )
            ],
        )
    errors: list[FieldError] = []
    items: list[BatchItem] = []
    for index, element in enumerate(elements):
        if not isinstance(element, dict):
            errors.append(_error([shape, str(index)], 'must be an object'))
            continue
        if shape == 'input':
            model_input = {
                k: v for k, v in element.items() if k != 'client_ref'
            }
        else:
            model_input = element.get('input')
        run_body = {'input': model_input}
        if element.get('client_ref') is not None:
            run_body['client_ref'] = element['client_ref']
        for problem in validate_run_body(run_body):
            loc = problem['loc'][1:]  # drop 'body'
            if shape == 'input' and loc[:1] == ['input']:
                loc = loc[1:]  # the item is the input itself
            problem['loc'] = ['body', shape, str(index), *loc]
            errors.append(problem)
        items.append((model_input, element.get('client_ref')))
    metadata = body.get('metadata')
    if metadata is not None and not isinstance(metadata, dict):
        errors.append(_error(['metadata'], 'must be an object or null'))
    problem = _optional_string(body, 'callback_url', 2048)
    if problem:
        errors.append(problem)
    return shape, items, errors
