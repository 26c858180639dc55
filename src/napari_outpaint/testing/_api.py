"""The stand-in's routes: the Runflow API and its object storage."""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any
from urllib.parse import parse_qs

from napari_outpaint.testing._batches import BATCH_ROUTES
from napari_outpaint.testing._faults import DROP_CONNECTION, Rejection
from napari_outpaint.testing._replies import (
    DROP,
    Reply,
    Request,
    Route,
    error_reply,
    json_reply,
    rejection_reply,
    storage_error,
)
from napari_outpaint.testing._runs import iso, run_json
from napari_outpaint.testing._state import StandInState
from napari_outpaint.testing._validation import (
    validate_run_body,
    validate_upload_body,
)

__all__ = ['route']

_UUID = r'[0-9a-fA-F-]{36}'


# -- /v1 routes --------------------------------------------------------------


def health(standin: StandInState, request: Request, match: re.Match):
    return json_reply(200, {'status': 'ok', 'ok': True})


def _json_body(request: Request) -> tuple[Any, Reply | None]:
    try:
        return json.loads(request.body or b'null'), None
    except (ValueError, UnicodeDecodeError):
        return None, error_reply(
            422,
            'VALIDATION_ERROR',
            'The request body is not valid JSON.',
            [{'loc': ['body'], 'msg': 'invalid JSON'}],
        )


def _validation_failed(errors: list[dict[str, Any]]) -> Reply:
    where = '.'.join(str(part) for part in errors[0]['loc'])
    return error_reply(
        422,
        'VALIDATION_ERROR',
        f'Invalid request: {where}: {errors[0]["msg"]}.',
        errors,
    )


def create_upload(standin: StandInState, request: Request, match):
    body, problem = _json_body(request)
    if problem:
        return problem
    errors = validate_upload_body(body)
    if errors:
        return _validation_failed(errors)
    asset = standin._new_asset(
        body['filename'], body['mime_type'], body['size_bytes']
    )
    upload_url = standin._presign(standin._upload_path(asset))
    return json_reply(201, {'asset_id': asset.id, 'upload_url': upload_url})


def _asset_json(standin: StandInState, asset, folder_id=None) -> dict:
    return {
        'id': asset.id,
        'org_id': '0195a6f0-0000-7000-8000-00000000a0a2',
        'folder_id': folder_id,
        'name': asset.filename,
        'r2_key': f'uploads/{asset.id}/{asset.filename}',
        'url': standin._presign(standin._asset_path(asset)),
        'thumbnail_url': None,
        'mime_type': asset.content_type,
        'size_bytes': len(asset.data or b''),
        'asset_type': 'image',
        'source_type': 'upload',
        'source_id': None,
        'created_by': None,
        'created_at': iso(asset.created_at),
        'updated_at': iso(asset.created_at),
        'deleted_at': None,
        'deleted_by': None,
        'created_by_user': None,
    }


def confirm_upload(standin: StandInState, request: Request, match):
    with standin._lock:
        asset = standin.assets.get(match['id'])
    if asset is None or asset.deleted:
        return error_reply(
            404, 'ASSET_UPLOAD_NOT_FOUND', 'No such upload session.'
        )
    body, problem = _json_body(request)
    if problem:
        return problem
    if asset.data is None:
        return error_reply(
            422,
            'VALIDATION_ERROR',
            'Nothing was uploaded to the upload_url of this asset yet.',
            [{'loc': ['path', 'asset_id'], 'msg': 'object not found'}],
        )
    asset.confirmed = True
    folder_id = body.get('folder_id') if isinstance(body, dict) else None
    return json_reply(201, _asset_json(standin, asset, folder_id))


def _live_asset(standin: StandInState, asset_id: str):
    with standin._lock:
        asset = standin.assets.get(asset_id)
    if asset is None or asset.deleted or not asset.confirmed:
        return None
    return asset


def get_asset(standin: StandInState, request: Request, match):
    asset = _live_asset(standin, match['id'])
    if asset is None:
        return error_reply(404, 'ASSET_NOT_FOUND', 'No such asset.')
    return json_reply(200, _asset_json(standin, asset))


def delete_asset(standin: StandInState, request: Request, match):
    rejection = standin._faults.take_asset_delete_failure()
    if rejection is not None:
        return rejection_reply(rejection, 'DELETE /v1/assets/{id}')
    with standin._lock:
        asset = _live_asset(standin, match['id'])
        if asset is None:
            return error_reply(404, 'ASSET_NOT_FOUND', 'No such asset.')
        asset.deleted = True
    return Reply(204)


def create_run(standin: StandInState, request: Request, match):
    body, problem = _json_body(request)
    if problem:
        return problem
    key = request.headers.get('idempotency-key')
    fingerprint = json.dumps(body, sort_keys=True, separators=(',', ':'))
    with standin._lock:  # serialises creates: no double run per key
        if key is not None and key in standin._idempotency:
            seen, reply = standin._idempotency[key]
            if seen != fingerprint:
                return error_reply(
                    409,
                    'CONFLICT',
                    'This Idempotency-Key was used with a different body.',
                )
            # the same run again; a dropped connection drops this one too
            return DROP if standin._faults.take_dropped_create() else reply
        rejection = standin._faults.take_create_rejection()
        if rejection is not None:
            return rejection_reply(rejection, 'run creation')
        errors = validate_run_body(body)
        if errors:
            return _validation_failed(errors)
        run = standin._create_run(body, key)
        # the create response always says queued, like the service
        created = run_json(run, run.created_monotonic, standin._output_url)
        reply = json_reply(201, created)
        if key is not None:
            standin._idempotency[key] = (fingerprint, reply)
    if standin._faults.take_dropped_create():
        return DROP
    return reply


_CLIENT_REF_QUERY = re.compile(r'^\s*client_ref\s*[:=]\s*"?(?P<ref>.*?)"?\s*$')
_CLIENT_REF_EQ_QUERY = re.compile(
    r"^\s*client_ref\.EQ\s*:\s*'(?P<ref>.*)'\s*$"
)


def list_runs(standin: StandInState, request: Request, match):
    query = parse_qs(request.query)
    now = time.monotonic()
    with standin._lock:
        runs = list(standin.runs)
    mode = standin._faults.run_search
    if 'q' in query and mode != 'ignored':
        q = query['q'][-1]
        wanted = _CLIENT_REF_EQ_QUERY.match(q)
        if wanted is None and mode == 'both':
            wanted = _CLIENT_REF_QUERY.match(q)
        if wanted is None or mode == 'refused':
            return error_reply(
                422,
                'VALIDATION_ERROR',
                f'Unsupported filter q={q!r}.',
                [{'loc': ['query', 'q'], 'msg': 'unsupported filter'}],
            )
        runs = [run for run in runs if run.client_ref == wanted['ref']]
    items = [run_json(run, now, standin._output_url) for run in runs[::-1]]
    return json_reply(200, {'items': items, 'next_pq': None, 'prev_pq': None})


def get_run(standin: StandInState, request: Request, match):
    fault = standin._faults.take_poll()
    if isinstance(fault, Rejection):
        return rejection_reply(fault, 'GET /v1/runs/{id}')
    if fault == 'invalid-json':
        return Reply(
            200, b'<html><body>502 Bad Gateway</body>', 'application/json'
        )
    try:
        run = standin.get_run(match['id'])
    except KeyError:
        return error_reply(
            404,
            'RUN_NOT_FOUND',
            'The run does not exist or belongs to another org.',
        )
    now = time.monotonic()
    fresh = parse_qs(request.query).get('add_signature', [''])[-1] == 'true'
    return json_reply(
        200,
        run_json(run, now, lambda r: standin._output_url(r, fresh=fresh)),
    )


# -- storage routes -------------------------------------------------------


def put_upload(standin: StandInState, request: Request, match):
    with standin._lock:
        asset = standin.assets.get(match['id'])
    if asset is None or asset.confirmed or asset.deleted:
        return storage_error(404, 'NoSuchUpload', 'No such upload.')
    if request.headers.get('content-type') != asset.mime_type:
        return storage_error(
            403,
            'SignatureDoesNotMatch',
            'Content-Type differs from the mime_type of the upload session.',
        )
    if len(request.body) != asset.size_bytes:
        return storage_error(
            400,
            'IncompleteBody',
            'The body size differs from the declared size_bytes.',
        )
    asset.data = request.body
    asset.content_type = request.headers['content-type']
    etag = hashlib.md5(request.body, usedforsecurity=False).hexdigest()
    return Reply(200, headers={'ETag': f'"{etag}"'})


def get_stored_asset(standin: StandInState, request: Request, match):
    asset = _live_asset(standin, match['id'])
    if asset is None:
        return storage_error(404, 'NoSuchKey', 'The key does not exist.')
    return Reply(200, asset.data, asset.content_type)


def get_output(standin: StandInState, request: Request, match):
    stall = standin._faults.take_stall()
    if stall is not None:  # say nothing, as a stalled storage server
        seconds, begun = stall
        begun.set()
        standin._faults.released.wait(seconds)
    try:
        run = standin.get_run(match['id'])
    except KeyError:
        run = None
    done = ('succeeded', 'partial_succeeded')
    if run is None or run.status not in done or run.output is None:
        return storage_error(404, 'NoSuchKey', 'The key does not exist.')
    if match['ext'] != standin.output_format:
        return storage_error(404, 'NoSuchKey', 'The key does not exist.')
    if standin._url_expired(request.query):
        return storage_error(403, 'AccessDenied', 'Request has expired')
    return Reply(200, run.output, run.output_content_type)


API_ROUTES: list[tuple[str, re.Pattern, Route]] = [
    ('GET', re.compile(r'/v1/health'), health),
    ('POST', re.compile(r'/v1/asset-uploads'), create_upload),
    (
        'POST',
        re.compile(rf'/v1/asset-uploads/(?P<id>{_UUID})/confirmations'),
        confirm_upload,
    ),
    ('GET', re.compile(rf'/v1/assets/(?P<id>{_UUID})'), get_asset),
    ('DELETE', re.compile(rf'/v1/assets/(?P<id>{_UUID})'), delete_asset),
    ('POST', re.compile(r'/v1/models/runflow/outpaint/runs'), create_run),
    ('GET', re.compile(r'/v1/runs'), list_runs),
    ('GET', re.compile(r'/v1/runs/(?P<id>[^/]+)'), get_run),
    *BATCH_ROUTES,
]
STORAGE_ROUTES: list[tuple[str, re.Pattern, Route]] = [
    ('PUT', re.compile(rf'/storage/uploads/(?P<id>{_UUID})'), put_upload),
    (
        'GET',
        re.compile(rf'/storage/assets/(?P<id>{_UUID})/[^/]+'),
        get_stored_asset,
    ),
    (
        'GET',
        re.compile(rf'/storage/outputs/(?P<id>{_UUID})\.(?P<ext>\w+)'),
        get_output,
    ),
]


def _dispatch(
    routes: list[tuple[str, re.Pattern, Route]],
    standin: StandInState,
    request: Request,
    not_found: Reply,
    not_allowed: Reply,
) -> Reply:
    method = 'GET' if request.method == 'HEAD' else request.method
    path_matched = False
    for route_method, pattern, route in routes:
        match = pattern.fullmatch(request.path)
        if match is None:
            continue
        if route_method == method:
            return route(standin, request, match)
        path_matched = True
    return not_allowed if path_matched else not_found


_STEP_ROUTES = (
    ('POST', re.compile(r'/v1/asset-uploads'), 'upload-session'),
    (
        'POST',
        re.compile(rf'/v1/asset-uploads/{_UUID}/confirmations'),
        'confirm',
    ),
    ('PUT', re.compile(rf'/storage/uploads/{_UUID}'), 'upload'),
    ('GET', re.compile(rf'/storage/outputs/{_UUID}\.\w+'), 'download'),
)


def _step_fault(standin: StandInState, request: Request) -> Reply | None:
    """The injected failure of this request's step, if one is queued."""
    for method, pattern, step in _STEP_ROUTES:
        if request.method == method and pattern.fullmatch(request.path):
            rejection = standin._faults.take_step_failure(step)
            if rejection is None:
                return None
            if rejection.status == DROP_CONNECTION:
                return DROP
            if request.path.startswith('/storage/'):
                return storage_error(
                    rejection.status, rejection.code, f'Injected: {step}.'
                )
            return rejection_reply(rejection, step)
    return None


def route(standin: StandInState, request: Request) -> Reply:
    """The reply to *request*."""
    fault = _step_fault(standin, request)
    if fault is not None:
        return fault
    if request.path.startswith('/storage/'):
        if 'authorization' in request.headers:
            return storage_error(
                400,
                'InvalidArgument',
                'Only one auth mechanism allowed: the presigned query '
                'string already authenticates; send no Authorization.',
            )
        if not standin._signature_ok(request.path, request.query):
            return storage_error(
                403, 'SignatureDoesNotMatch', 'Missing or wrong signature.'
            )
        return _dispatch(
            STORAGE_ROUTES,
            standin,
            request,
            storage_error(404, 'NoSuchKey', 'The key does not exist.'),
            storage_error(405, 'MethodNotAllowed', 'Method not allowed.'),
        )
    if request.path.startswith('/v1/'):
        if not standin._authorized(request.headers.get('authorization')):
            return error_reply(
                401,
                'UNAUTHORIZED',
                'Missing or invalid API token: send Authorization: '
                'Bearer <your Runflow API key>.',
            )
        if request.method == 'HEAD':
            return error_reply(405, 'METHOD_NOT_ALLOWED', 'Use GET.')
        return _dispatch(
            API_ROUTES,
            standin,
            request,
            error_reply(404, 'NOT_FOUND', 'No such endpoint.'),
            error_reply(405, 'METHOD_NOT_ALLOWED', 'Method not allowed.'),
        )
    return error_reply(404, 'NOT_FOUND', 'No such endpoint.')
