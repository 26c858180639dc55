"""The stand-in's batch routes: one create for many runs, one id to poll.

Written from Runflow's API reference ("Create and dispatch a batch") and
its batch guide, which disagree on the body: both shapes are accepted.
Each item becomes a normal run (``GET /v1/runs/{run_id}`` works, billed
like a run); the batch's status is read from its items' at poll time:
``queued`` while every item is queued, ``running`` while any is not
terminal, then ``succeeded`` (all), ``partial_succeeded`` (some),
``canceled`` (all canceled) or ``failed``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from napari_outpaint.testing._records import (
    TERMINAL_STATUSES,
    RecordedBatch,
    RecordedRun,
)
from napari_outpaint.testing._replies import (
    DROP,
    Reply,
    Request,
    error_reply,
    json_reply,
    rejection_reply,
)
from napari_outpaint.testing._runs import MODEL_ID, PRICE, iso, run_json
from napari_outpaint.testing._state import StandInState
from napari_outpaint.testing._validation import read_batch_body

__all__ = ['BATCH_ROUTES', 'batch_json']

_UUID = r'[0-9a-fA-F-]{36}'
_SUCCEEDED = ('succeeded', 'partial_succeeded')
_CANCELED = ('canceled', 'cancelled')
#: The documented refusal: "Only binding-capable (template-backed) models
#: support batches today - per-provider-only models return 422".
UNSUPPORTED_MESSAGE = (
    'Model runflow/outpaint does not support batches: only '
    'binding-capable (template-backed) models do. Create single runs.'
)


def _batch_status(statuses: list[str]) -> str:
    if all(s == 'queued' for s in statuses):
        return 'queued'
    if any(s not in TERMINAL_STATUSES for s in statuses):
        return 'running'
    succeeded = sum(s in _SUCCEEDED for s in statuses)
    if succeeded == len(statuses):
        return 'succeeded'
    if succeeded:
        return 'partial_succeeded'
    if all(s in _CANCELED for s in statuses):
        return 'canceled'
    return 'failed'


def batch_json(
    batch: RecordedBatch,
    runs: list[RecordedRun],
    now: float,
) -> dict[str, Any]:
    """The Batch object as ``GET /v1/batches/{id}`` returns it."""
    statuses = [run.status_at(now) for run in runs]
    status = _batch_status(statuses)
    succeeded = sum(s in _SUCCEEDED for s in statuses)
    started = [
        r.started_monotonic for r in runs if r.status_at(now) != 'queued'
    ]
    completed = None
    if status not in ('queued', 'running'):
        completed = max(r.terminal_monotonic() for r in runs)
    return {
        'id': batch.id,
        'target_type': 'model',
        'target_id': MODEL_ID,
        'status_code': status,
        'items_total': len(runs),
        'items_succeeded': succeeded,
        'items_failed': sum(s == 'failed' for s in statuses),
        'items_cancelled': sum(s in _CANCELED for s in statuses),
        'items': [
            {
                'id': _item_id(batch, index),
                'sequence_index': index,
                'run_id': run.id,
                'status_code': statuses[index],
                'client_ref': run.client_ref,
            }
            for index, run in enumerate(runs)
        ],
        'created_at': iso(batch.created_at),
        'output': None,
        'cost': f'{float(PRICE) * succeeded:.2f}' if succeeded else None,
        'metadata': batch.metadata,
        'callback_url': batch.callback_url,
        'started_at': (
            iso(runs[0].wall_time(min(started))) if started else None
        ),
        'completed_at': (
            iso(runs[0].wall_time(completed)) if completed else None
        ),
    }


def _item_id(batch: RecordedBatch, index: int) -> str:
    """A stable UUID-shaped id of item *index* of *batch*."""
    return f'{batch.id[:24]}{index:012x}'


def _runs_of(standin: StandInState, batch: RecordedBatch) -> list[RecordedRun]:
    return [standin.get_run(run_id) for run_id in batch.run_ids]


def create_batch(standin: StandInState, request: Request, match: re.Match):
    try:
        body = json.loads(request.body or b'null')
    except (ValueError, UnicodeDecodeError):
        return error_reply(
            422,
            'VALIDATION_ERROR',
            'The request body is not valid JSON.',
            [{'loc': ['body'], 'msg': 'invalid JSON'}],
        )
    key = request.headers.get('idempotency-key')
    fingerprint = 'batches:' + json.dumps(
        body, sort_keys=True, separators=(',', ':')
    )
    with standin._lock:  # serialises creates: no double batch per key
        if key is not None and key in standin._idempotency:
            seen, reply = standin._idempotency[key]
            if seen != fingerprint:
                return error_reply(
                    409,
                    'CONFLICT',
                    'This Idempotency-Key was used with a different body.',
                )
            # "replays the cached 201 (same batch_id, no second batch)"
            return DROP if standin._faults.take_dropped_create() else reply
        if not standin.supports_batches:
            return error_reply(
                422,
                'VALIDATION_ERROR',
                UNSUPPORTED_MESSAGE,
                [{'loc': ['path', 'model'], 'msg': 'batches not supported'}],
            )
        rejection = standin._faults.take_batch_rejection()
        if rejection is not None:
            return rejection_reply(rejection, 'batch creation')
        shape, items, errors = read_batch_body(body)
        if errors:
            where = '.'.join(str(part) for part in errors[0]['loc'])
            return error_reply(
                422,
                'VALIDATION_ERROR',
                f'Invalid request: {where}: {errors[0]["msg"]}.',
                errors,
            )
        batch = standin._create_batch(body, shape, items, key)
        reply = json_reply(
            201, batch_json(batch, _runs_of(standin, batch), time.monotonic())
        )
        if key is not None:
            standin._idempotency[key] = (fingerprint, reply)
    if standin._faults.take_dropped_create():
        return DROP
    return reply


def _find(standin: StandInState, batch_id: str) -> RecordedBatch | None:
    with standin._lock:
        for batch in standin.batches:
            if batch.id == batch_id:
                return batch
    return None


def _not_found() -> Reply:
    return error_reply(
        404,
        'BATCH_NOT_FOUND',
        'The batch does not exist or belongs to another org.',
    )


def get_batch(standin: StandInState, request: Request, match: re.Match):
    batch = _find(standin, match['id'])
    if batch is None:
        return _not_found()
    return json_reply(
        200, batch_json(batch, _runs_of(standin, batch), time.monotonic())
    )


def get_batch_items(standin: StandInState, request: Request, match: re.Match):
    """Per item: the run, its status and its outputs (the run's output)."""
    batch = _find(standin, match['id'])
    if batch is None:
        return _not_found()
    now = time.monotonic()
    runs = _runs_of(standin, batch)
    summary = batch_json(batch, runs, now)['items']
    output_url: Callable[[RecordedRun], str] = standin._output_url
    items = []
    for item, run in zip(summary, runs, strict=True):
        run_object = run_json(run, now, output_url)
        items.append(
            {
                **item,
                'output': run_object['output'],
                'cost': run_object['cost'],
                'failure_code': run_object['failure_code'],
                'failure_message': run_object['failure_message'],
                'created_at': run_object['created_at'],
                'completed_at': run_object['completed_at'],
            }
        )
    return json_reply(200, {'items': items, 'next_pq': None, 'prev_pq': None})


BATCH_ROUTES = [
    (
        'POST',
        re.compile(r'/v1/models/runflow/outpaint/batches'),
        create_batch,
    ),
    ('GET', re.compile(rf'/v1/batches/(?P<id>{_UUID})'), get_batch),
    (
        'GET',
        re.compile(rf'/v1/batches/(?P<id>{_UUID})/items'),
        get_batch_items,
    ),
]
