"""Runs: their JSON form at poll time, and the background processing."""

from __future__ import annotations

import io
import logging
import ssl
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from PIL import Image

from napari_outpaint._secrets import redact_url
from napari_outpaint.testing._faults import RunEnding, RunFailure
from napari_outpaint.testing._images import (
    CONTENT_TYPES,
    MAX_LONG_SIDE,
    outpaint_bytes,
)
from napari_outpaint.testing._records import TERMINAL_STATUSES, RecordedRun
from napari_outpaint.testing._validation import MAX_UPLOAD_BYTES

__all__ = ['FETCH_TIMEOUT', 'process_run', 'run_json']

logger = logging.getLogger(__name__)

#: Seconds the stand-in waits for ``image_url`` (connect, read, ...).
FETCH_TIMEOUT = 10.0
MODEL_ID = '0195a6f0-0000-7000-8000-00000000a0a1'
ORG_ID = '0195a6f0-0000-7000-8000-00000000a0a2'
PRICE = '0.55'
CORRUPT_OUTPUT = b'<html><body>This is not an image.</body></html>'


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as Runflow writes timestamps."""
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def run_json(
    run: RecordedRun, now: float, output_url: Callable[[RecordedRun], str]
) -> dict[str, Any]:
    """The Run object of *run* as ``GET /v1/runs/{id}`` returns it."""
    status = run.status_at(now)
    started = completed = None
    duration_ms = None
    if status not in ('queued', 'dispatching'):
        started = run.started_monotonic
    terminal = status in TERMINAL_STATUSES
    if terminal:
        completed = run.terminal_monotonic()
        duration_ms = round((completed - run.created_monotonic) * 1000)
    failed = status == 'failed'
    output = None
    succeeded = status in ('succeeded', 'partial_succeeded')
    if succeeded and run.output is not None:
        output = {
            'outputs': [{'url': output_url(run), 'type': 'image'}],
            'seed': run.seed,
            'timing': None,
            'nsfw_detected': False,
        }
    return {
        'id': run.id,
        'flow_id': None,
        'model_id': MODEL_ID,
        'target_type': 'model',
        'target_version': None,
        'org_id': ORG_ID,
        'status_code': status,
        'source_code': 'api',
        'input': run.input,
        'output': output,
        'context': {},
        'duration_ms': duration_ms,
        'cost': PRICE if succeeded else None,
        'client_ref': run.client_ref,
        'batch_id': run.batch_id,
        'callback_url': run.callback_url,
        'metadata': run.metadata,
        'created_at': iso(run.created_at),
        'started_at': iso(run.wall_time(started)) if started else None,
        'completed_at': iso(run.wall_time(completed)) if completed else None,
        'failure_code': run.failure_code if failed else None,
        'failure_message': run.failure_message if failed else None,
        'failure_stage_code': run.failure_stage_code if failed else None,
        'error': (
            {'code': run.failure_code, 'message': run.failure_message}
            if failed
            else None
        ),
        'links': {},
        'has_logs': False,
        'has_node_runs': False,
        'node_runs': [],
    }


class _FetchFailed(Exception):
    pass


def _fetch(url: str, verify: ssl.SSLContext) -> tuple[bytes, str | None]:
    try:
        with (
            httpx.Client(
                verify=verify,
                follow_redirects=False,
                timeout=FETCH_TIMEOUT,
                trust_env=False,
            ) as client,
            client.stream('GET', url) as response,
        ):
            if response.status_code != 200:
                raise _FetchFailed(
                    f'GET {redact_url(url)} answered HTTP '
                    f'{response.status_code}'
                )
            chunks = []
            total = 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > MAX_UPLOAD_BYTES:
                    raise _FetchFailed('image_url is larger than 50 MiB')
                chunks.append(chunk)
            return b''.join(chunks), response.headers.get('content-type')
    except httpx.HTTPError as exc:
        raise _FetchFailed(
            f'GET {redact_url(url)} failed: {type(exc).__name__}'
        ) from exc


def _fail(run: RecordedRun, code: str, message: str, stage: str) -> None:
    run.failure_code = code
    run.failure_message = message
    run.failure_stage_code = stage


def _over_input_limit(data: bytes, max_side: int) -> str | None:
    """The service's refusal of an input over *max_side*, if it is."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            cols, rows = image.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None  # left to the decoder's own failure
    if max(rows, cols) <= max_side:
        return None
    return f'image dimensions exceed {max_side}x{max_side}'


def process_run(
    run: RecordedRun,
    *,
    verify: ssl.SSLContext,
    upscale_long_side: int | None,
    output_format: str,
    failure: RunFailure | None,
    corrupt: bool,
    ending: RunEnding | None = None,
    max_input_side: int = MAX_LONG_SIDE,
) -> None:
    """Fetch the input, outpaint it, store the output (or the failure).

    A canceled *ending* stops the run before it fetches anything; a
    ``partial_succeeded`` one without output drops the output.
    """
    if ending is not None:
        run.end_status = ending.status
    try:
        if ending is not None and ending.status != 'partial_succeeded':
            return  # canceled in the queue: nothing fetched, no output
        try:
            data, content_type = _fetch(run.input['image_url'], verify)
        except _FetchFailed as exc:
            run.fetch_error = str(exc)
            _fail(run, 'INPUT_FETCH_FAILED', str(exc), 'input_fetch')
            return
        run.fetched_image = data
        run.fetched_content_type = content_type
        if failure is not None:
            _fail(
                run,
                failure.failure_code,
                failure.failure_message,
                'execution',
            )
            return
        too_big = _over_input_limit(data, max_input_side)
        if too_big:
            _fail(run, 'INPUT_VALIDATION_FAILED', too_big, 'preprocess')
            return
        try:
            output, shape = outpaint_bytes(
                data,
                run.input,
                upscale_long_side=upscale_long_side,
                output_format=output_format,
            )
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            _fail(
                run,
                'INPUT_DECODE_FAILED',
                f'image_url is not a decodable image: {exc}',
                'input_decode',
            )
            return
        if ending is not None and not ending.with_output:
            return
        run.output = CORRUPT_OUTPUT if corrupt else output
        run.output_content_type = CONTENT_TYPES[output_format]
        run.output_shape = shape
    except Exception as exc:  # noqa: BLE001 - a run must always end
        logger.error('stand-in run failed: %s', type(exc).__name__)
        _fail(run, 'INTERNAL_ERROR', type(exc).__name__, 'execution')
    finally:
        run.mark_ready()
